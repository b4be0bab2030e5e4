"""Layout: a kept document is its input with the removed lines taken out, nothing else changed."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedupe import CleanConfig, Cleaner, DedupConfig, StripConfig
from dedupe.layout import paragraph_separator, segment, split_lines_keepends, take_out
from dedupe.normalize import repair_document

from .conftest import ARTICLE, OTHER, layout_documents, reference_take_out

MARKDOWN = (
    "# Storm Ada\n"
    "\n"
    "Storm Ada reached the northern coast late on Monday.  \n"
    "\n"
    "```python\n"
    "def gusts(speed_kmh):\n"
    "    if speed_kmh > 120:\n"
    "        return 'severe'\n"
    "    return 'moderate'\n"
    "```\n"
    "\n"
    "\n"
    "1. Power was cut to about 40,000 homes.\n"
    "   - rail services suspended\n"
)


def strip_only():
    return CleanConfig(dedup=DedupConfig(enabled=False))


def test_a_document_nothing_was_removed_from_comes_out_byte_for_byte():
    (result,) = list(Cleaner(strip_only()).run([MARKDOWN]))
    assert result.removals == [] and result.text == MARKDOWN
    poem = "  Roses are red,\r\n    violets are blue;\r\n\r\n\r\n  the end  \r\n\r\n"
    (result,) = list(Cleaner(strip_only()).run([poem]))
    assert result.text == poem


def test_removed_lines_go_with_their_line_endings_and_nothing_else_changes():
    text = "  Title line of the story\r\n\r\n" + ARTICLE[0] + "  \r\nShare this:\r\n\tindented " + OTHER[0] + "\r\n"
    (result,) = list(Cleaner(strip_only()).run([text]))
    assert [r.rule for r in result.removals] == ["share"]
    assert result.text == "  Title line of the story\r\n\r\n" + ARTICLE[0] + "  \r\n\tindented " + OTHER[0] + "\r\n"


def test_a_removal_between_blank_lines_leaves_the_documents_own_separator():
    text = f"{ARTICLE[0]}\n\n\n{ARTICLE[1]}\n\nShare this:\n\n{ARTICLE[2]}\n\n{ARTICLE[3]}\n"
    (result,) = list(Cleaner(strip_only()).run([text]))
    # two blank-line runs of one line and one of two: one blank line is this document's separator
    assert result.text == f"{ARTICLE[0]}\n\n\n{ARTICLE[1]}\n\n{ARTICLE[2]}\n\n{ARTICLE[3]}\n"
    assert take_out("A\r\n\r\n\r\nX\r\n\r\n\r\nB\r\n\r\n\r\nC", {1}) == "A\r\n\r\n\r\nB\r\n\r\n\r\nC"


def test_a_removal_never_joins_a_lone_cr_and_a_blank_line_into_one_ending():
    # "A\r" then "\n" would read as "A\r\n": A gains a byte and the blank line vanishes
    assert take_out("A\rX\n\nB", {1}) == "A\r\rB"
    assert take_out("A\rX\n\n \nB", {1}) == "A\r\r \nB"
    assert take_out("A\rX\n\n", {1}) == "A\r\r"
    assert segment(take_out("A\rX\r\nY\n\n\nZ\n\nB", {1, 2})) == ["A", "Z", "B"]
    assert take_out("A\r\nX\n\nB", {1}) == "A\r\n\nB"  # a CRLF line: nothing to join


def test_blank_lines_on_one_side_of_a_removal_stay_as_they_were():
    assert take_out("A\n\n\nX\nB", {1}) == "A\n\n\nB"
    assert take_out("A\nX\n\n\nB", {1}) == "A\n\n\nB"
    assert take_out("A\nX\nB", {1}) == "A\nB"


def test_removals_at_the_start_and_end_leave_no_new_blank_lines_or_line_break():
    assert take_out("Share this:\n\nA\n\nB\n\nPost a Comment", {0, 3}) == "A\n\nB"
    assert take_out("\n\nX\n\nA\n", {0}) == "\n\nA\n"  # the document's own leading blank lines
    assert take_out("A\n\nX\n\n", {1}) == "A\n\n"  # and its own trailing one
    assert take_out("A\r\nX", {1}) == "A"
    assert take_out("A\r\nX\r\n", {1}) == "A\r\n"
    assert take_out("A\rX\r\rB\r", {1}) == "A\r\rB\r"


def test_paragraph_separator_is_the_most_common_run_first_on_ties():
    assert paragraph_separator(split_lines_keepends("a\n \n\nb\n\nc\n \n\nd")) == " \n\n"
    assert paragraph_separator(split_lines_keepends("a\n\n\nb\n\nc")) == "\n\n"
    assert paragraph_separator(split_lines_keepends("\n\na\r\nb")) == "\n"


@given(st.text(alphabet="ab \t\r\n\x0c\u2028\x85"), st.sets(st.integers(0, 12)))
@settings(max_examples=400)
def test_take_out_equals_the_rule_paragraph_by_paragraph(text, removed):
    paragraphs = segment(text)
    out = take_out(text, removed)
    assert out == reference_take_out(text, removed)
    assert segment(out) == [p for i, p in enumerate(paragraphs) if i not in removed]
    assert take_out(out, set()) == out


@given(layout_documents, st.sets(st.integers(0, 10)))
@example("A\rX\n\nB", {1})  # \r then \n once X is gone: one \r\n ending, not a line and a blank line
@example("A\rX\n\n", {1})
@settings(max_examples=200)
def test_kept_lines_keep_their_bytes(text, removed):
    lines = split_lines_keepends(text)
    assert "".join(lines) == text
    paragraphs = [line for line in lines if line.strip()]
    if removed >= set(range(len(paragraphs))):
        return
    out_lines = split_lines_keepends(take_out(text, removed))
    kept = [line for n, line in enumerate(paragraphs) if n not in removed]
    # the last kept line may lose a line break the document did not end with
    assert [line for line in out_lines if line.strip()][:-1] == kept[:-1]
    assert [line for line in out_lines if line.strip()][-1].rstrip("\r\n") == kept[-1].rstrip("\r\n")


@given(st.lists(layout_documents, min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_output_is_the_repaired_input_minus_the_recorded_lines(texts):
    cleaner = Cleaner()
    results = list(cleaner.run(texts))
    assert cleaner.stats.check() == []
    for result, text in zip(results, texts):
        repaired = repair_document(text)
        assert result.paragraphs == segment(repaired)
        removed = {r.paragraph for r in result.removals if r.paragraph is not None}
        if result.kept:
            assert result.text == reference_take_out(repaired, removed)
            if not removed and repaired == text:
                assert result.text == text
        else:
            assert result.removals[0].paragraph is None and result.removals[0].text == repaired


@pytest.mark.parametrize("entity", ["&#10;", "&NewLine;", "&#x0A;", "&#13;", "&#13;&#10;"])
def test_line_breaks_sent_as_entities_are_broken_before_stripping(entity):
    text = ARTICLE[0] + entity + "Share this:" + entity + OTHER[0]
    (result,) = list(Cleaner(strip_only()).run([text]))
    assert [r.rule for r in result.removals] == ["share"]
    assert result.text == repair_document(ARTICLE[0] + entity + OTHER[0])
    (again,) = list(Cleaner(strip_only()).run([result.text]))
    assert again.removals == [] and again.text == result.text


def test_a_line_of_control_characters_is_a_blank_line_after_repair():
    text = f"{ARTICLE[0]}\n\x00\x07\n{OTHER[0]}"
    (result,) = list(Cleaner(strip_only()).run([text]))
    assert result.removals == [] and result.paragraphs == [ARTICLE[0], OTHER[0]]
    assert result.text == f"{ARTICLE[0]}\n\n{OTHER[0]}"
    (result,) = list(Cleaner(strip_only()).run(["\x00\x1b[0m\r\n\x07"]))
    assert [(r.reason, r.rule, r.text) for r in result.removals] == [("empty", "empty-document", "\r\n")]


def test_markup_in_one_line_leaves_entities_of_the_others_decoded():
    # ftfy's fix_text stops decoding entities for the rest of a text after a
    # line with '<'; removing that line would then change the lines below it
    text = "Share <b>this</b>:\nTom &amp; Jerry, a review of the restored film forty years on."
    assert repair_document(text).endswith("Tom & Jerry, a review of the restored film forty years on.")


@given(st.lists(layout_documents, min_size=1, max_size=5))
@settings(max_examples=15, deadline=None)
def test_layout_is_kept_with_the_context_pass_too(texts):
    # the context pass looks paragraphs up by the input line they were repaired from
    config = CleanConfig(dedup=DedupConfig(enabled=False), strip=StripConfig(context=True))
    for result, text in zip(Cleaner(config).run(texts), texts):
        repaired = repair_document(text)
        assert result.paragraphs == segment(repaired)
        if result.kept:
            removed = {r.paragraph for r in result.removals}
            assert result.text == reference_take_out(repaired, removed)


@given(st.text(st.sampled_from("ab \t\r\n\x0b\x0c\x1c\x85\u2028\u3000\u00a0")))
@settings(max_examples=500, deadline=None)
def test_segment_is_the_stripped_non_blank_lines(text):
    assert segment(text) == [line.strip() for line in split_lines_keepends(text) if line.strip()]


@given(st.text(st.sampled_from("ab \t\n\x0c\x85"), max_size=40), st.sets(st.integers(-1, 12)))
@settings(max_examples=500, deadline=None)
def test_take_out_of_lines_without_carriage_returns_equals_the_rule(text, removed):
    assert take_out(text, removed) == reference_take_out(text, {n for n in removed if n >= 0})
