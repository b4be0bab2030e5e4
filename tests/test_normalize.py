"""Encoding repair and match keys: data-driven cases, negatives, and properties."""

from __future__ import annotations

import json
import re

import ftfy
import ftfy.fixes
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.layout import split_lines_keepends
from dedupe.normalize import (
    CONTROL_CHARS,
    FTFY_CONFIG,
    is_identifier,
    match_key,
    needs_repair,
    repair,
    repair_and_explain,
    repair_document,
    split_lines,
    value_keys,
)

from .conftest import SHARED_EVAL, load_case

CASES = load_case("encoding.json")


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["label"])
def test_repairs_transport_damage(case):
    assert repair(case["original"]) == case["fixed"]


@pytest.mark.parametrize("case", CASES["negatives"], ids=lambda c: c["label"])
def test_correct_text_is_left_alone(case):
    assert repair(case["text"]) == case["text"]


def test_explain_names_the_fix():
    fixed, steps = repair_and_explain("CafÃ©")
    assert fixed == "Café" and steps


@given(st.text())
@settings(max_examples=300)
def test_fast_path_equals_ftfy(text):
    # The cheap check may skip ftfy only where ftfy would change nothing.
    assert repair(text) == ftfy.fix_text(text, FTFY_CONFIG)


def ftfy_line_by_line(text):
    return "".join(ftfy.fix_text(line, FTFY_CONFIG) for line in split_lines_keepends(text))


_DAMAGE = st.lists(st.sampled_from(["&amp;", "&#10;", "&NewLine;", "&#13;", "&#x0A;", "&lt;", "<", "\n", "\r",
                                    "\r\n", "CafÃ©", "â€™", "a", " ", "\t", "\x00", "\x1b[1m", "\x85"]))


@given(st.one_of(st.text(), _DAMAGE.map("".join)))
@settings(max_examples=300)
def test_document_repair_is_ftfy_line_by_line_and_keeps_line_breaks(text):
    # the same check as for lines: the gate skips ftfy only where it would change nothing
    repaired = repair_document(text)
    assert repaired == ftfy_line_by_line(text)
    # repair adds line break characters (from entities) but never removes one
    assert repaired.count("\n") >= text.count("\n") and repaired.count("\r") >= text.count("\r")
    assert repair_document(repaired) == repaired


@pytest.mark.skipif(not (SHARED_EVAL / "encoding_dev.jsonl").exists(), reason="eval sets not present")
def test_document_repair_equals_ftfy_line_by_line_on_eval_set():
    rows = [json.loads(line) for line in (SHARED_EVAL / "encoding_dev.jsonl").open(encoding="utf-8")]
    text = "\n".join(row["original"] for row in rows)
    assert repair_document(text) == ftfy_line_by_line(text)


def test_the_control_characters_are_the_ones_ftfy_removes():
    every = "".join(map(chr, range(0x110000)))
    kept = set(ftfy.fixes.remove_control_chars(every))
    assert {ord(c) for c in every if c not in kept} == CONTROL_CHARS


def test_every_character_of_the_basic_plane_alone_is_repaired_as_ftfy_repairs_it():
    for code in range(0x10000):
        assert repair(chr(code)) == ftfy.fix_text(chr(code), FTFY_CONFIG), hex(code)


@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E)))
def test_printable_ascii_without_ampersand_skips_ftfy(text):
    if "&" not in text:
        assert not needs_repair(text)
        assert repair(text) == text


def _badness_characters() -> list[str]:
    """Every non-ASCII character ftfy's badness expression names, in its classes or as a literal."""
    from ftfy.badness import BADNESS_RE

    return sorted({c for c in "".join(map(chr, range(0x80, 0x10000))) if c in BADNESS_RE.pattern
                   or any(BADNESS_RE.search(f"{c}{d}") or BADNESS_RE.search(f"{d}{c}") for d in "é€”")})


def test_one_non_ascii_character_between_ascii_is_never_bad_but_for_four():
    from ftfy.badness import is_bad

    contexts = ["", " ", "a", "Z", "0", ".", "?", "_", "\n", "ab", "a ", " a", "é"]
    for c in _badness_characters():
        if c in "ŒœÃÂ" or 0x80 <= ord(c) < 0xA0:  # C1 controls send a line to ftfy by themselves
            continue
        for before in contexts[:-1]:
            for after in contexts[:-1]:
                assert not is_bad(f"{before}{c}{after}"), repr(f"{before}{c}{after}")


def test_the_four_characters_bad_between_ascii_send_a_line_to_ftfy():
    from ftfy.badness import is_bad

    for text in ("œ.", "Œ1", "aÃ ", "aÂ ", "Â x", ".Â "):
        assert is_bad(text) and needs_repair(text), text


@given(st.lists(st.one_of(st.text(st.characters(max_codepoint=0x7F), min_size=1, max_size=3),
                          st.sampled_from(_badness_characters())), max_size=30).map("".join))
@settings(max_examples=500, deadline=None)
def test_the_badness_check_is_skipped_only_where_it_cannot_fire(text):
    from ftfy.badness import is_bad

    if is_bad(text):
        assert needs_repair(text)
    assert repair(text) == ftfy.fix_text(text, FTFY_CONFIG)


@pytest.mark.skipif(not (SHARED_EVAL / "encoding_dev.jsonl").exists(), reason="eval sets not present")
def test_fast_path_equals_ftfy_on_eval_set():
    rows = [json.loads(line) for line in (SHARED_EVAL / "encoding_dev.jsonl").open(encoding="utf-8")]
    for row in rows:
        assert repair(row["original"]) == ftfy.fix_text(row["original"], FTFY_CONFIG), row["id"]


@given(st.text())
def test_match_key_is_idempotent_and_normalised(text):
    key = match_key(text)
    assert match_key(key) == key
    assert key == key.strip() and "  " not in key
    assert key == key.casefold()


def test_match_key_folds_case_punctuation_digits_and_spacing():
    assert match_key("“Hello,”   WORLD — 2021!") == match_key('"hello" world 1999')


@given(st.text())
def test_split_lines_only_breaks_on_newlines(text):
    pieces = split_lines(text)
    assert "\n".join(pieces) == text.replace("\r\n", "\n").replace("\r", "\n")
    if "\x85" in text:
        assert any("\x85" in piece for piece in pieces)


VALUES = load_case("values.json")


@pytest.mark.parametrize("token", VALUES["identifiers"])
def test_identifiers_never_fold(token):
    assert is_identifier(token)
    line = f"The maintainers fixed the build failure reported in {token} for this release"
    assert value_keys(line)[0] and value_keys(line)[0] != value_keys(line.replace(token, "CVE-2000-0001"))[0]


@pytest.mark.parametrize("token", VALUES["plain_numbers"])
def test_plain_numbers_fold_in_long_lines_but_not_in_short_ones(token):
    assert not is_identifier(token)
    long_line = f"Officials said that about {token} people had been affected by the flooding overnight"
    assert value_keys(long_line)[0] == ""
    assert value_keys(f"Price: {token}", every_number=True)[0] != ""


@pytest.mark.parametrize("case", VALUES["templates"], ids=lambda c: c["label"])
def test_lines_printed_by_one_template_share_its_key(case):
    keys = {value_keys(line)[1] for line in case["lines"]}
    assert len(keys) == 1 and None not in keys


@pytest.mark.parametrize("case", VALUES["informative"], ids=lambda c: c["label"])
def test_lines_whose_values_are_their_information_have_no_template(case):
    """Failed before for copyright, bug-closure, version and contact lines: they formed template
    families and went as boilerplate, though their values (a year, a bug, a version, a name) are
    what they say."""
    assert [value_keys(line)[1] for line in case["lines"]] == [None] * len(case["lines"])


@pytest.mark.parametrize("line", VALUES["no_template"])
def test_values_alone_are_no_template(line):
    assert value_keys(line)[1] is None


@given(st.text(alphabet="ab1.-:#'’ ", max_size=30))
@settings(max_examples=200)
def test_identifier_keys_ignore_order_repetition_and_quote_styles(text):
    key = value_keys(text)[0]
    tokens = text.split()
    assert value_keys(" ".join(reversed(tokens + tokens)))[0] == key
    assert value_keys(text.replace("’", "'"))[0] == key


@given(st.lists(st.sampled_from(["bug", "Closes", "LP", "ticket", "x", "\u00e9", "\u0661", "_", " ", "  ", ":", "#",
                                  ", ", "\n", "-", "...", "(", "1"]), max_size=14).map("".join))
@settings(max_examples=300, deadline=None)
def test_a_plain_number_is_a_reference_after_a_reference_word(before):
    from dedupe.normalize import REFERENCE_WORDS, value_keys

    line = f"{before} 4242 and then a long line of plain words after the number here"
    # the specification: the last word of the 24 characters before the number, past any punctuation
    found = re.search(r"(\w+)\W*$", f"{before.casefold()} "[-24:])
    named = found is not None and found.group(1) in REFERENCE_WORDS
    assert ("4242" in value_keys(line)[0].split(" ")) == named
