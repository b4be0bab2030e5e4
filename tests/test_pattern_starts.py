"""First characters of chrome patterns: never too few, held against ``re`` on generated patterns."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.pattern_starts import DIGIT, first_characters
from dedupe.strip import load_catalogue

CHARS = "ab é1٣-:/(.|]^\\"
DIGITS = "07٣٩"


def _escaped(chars: str) -> str:
    return "".join(re.escape(c) for c in chars)


#: (pattern, a string it matches in full) for one item of a pattern.
atoms = st.one_of(
    st.sampled_from(CHARS).map(lambda c: (re.escape(c), c)),
    st.sampled_from(DIGITS).map(lambda d: (r"\d", d)),
    st.sampled_from(CHARS + "xyz").map(lambda c: (".", c)),
    st.sampled_from("abz1").map(lambda c: (r"\S", c)),
    st.just((r"\s", " ")),
    st.lists(st.sampled_from(CHARS), min_size=1, max_size=4).flatmap(
        lambda members: st.sampled_from(members).map(lambda c: (f"[{_escaped(''.join(members))}]", c))),
    st.sampled_from("bcdef").map(lambda c: ("[b-f]", c)),
    st.sampled_from(DIGITS + "x").map(lambda c: (r"[\dx]", c)),
    st.sampled_from("xyz").map(lambda c: ("[^ab]", c)),
)


def _quantify(item: tuple[str, str], quantifier: str, times: int) -> tuple[str, str]:
    pattern, sample = item
    low, high = {"?": (0, 1), "*": (0, 3), "+": (1, 3), "{0,2}": (0, 2), "{1,3}": (1, 3), "{2}": (2, 2)}[quantifier]
    return f"(?:{pattern}){quantifier}", sample * max(low, min(times, high))


def _extend(inner: st.SearchStrategy[tuple[str, str]]) -> st.SearchStrategy[tuple[str, str]]:
    sequence = st.lists(inner, min_size=1, max_size=4).map(
        lambda items: ("".join(p for p, _ in items), "".join(s for _, s in items)))
    group = st.tuples(st.lists(inner, min_size=1, max_size=3), st.integers(0, 2), st.sampled_from(["(?:", "("])).map(
        lambda t: (t[2] + "|".join(p for p, _ in t[0]) + ")", t[0][min(t[1], len(t[0]) - 1)][1]))
    quantified = st.tuples(inner, st.sampled_from(["?", "*", "+", "{0,2}", "{1,3}", "{2}"]), st.integers(0, 3),
                           st.sampled_from(["", "?"])).map(
        lambda t: (lambda q: (q[0] + t[3], q[1]))(_quantify(t[0], t[1], t[2])))
    # an item that may match nothing, then another: a match may start with either
    skipped = st.tuples(inner, inner, st.sampled_from(["?", "*", "{0,2}"]), st.booleans()).map(
        lambda t: (f"(?:{t[0][0]}){t[2]}{t[1][0]}", (t[0][1] if t[3] else "") + t[1][1]))
    lookahead = inner.filter(lambda item: item[1] != "").flatmap(
        lambda item: st.sampled_from([f"(?=.){item[0]}", f"(?!q){item[0]}", f"(?<!q){item[0]}"]).map(
            lambda pattern: (pattern, item[1])))
    return st.one_of(sequence, group, quantified, skipped, lookahead)


patterns = st.recursive(atoms, _extend, max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(patterns, st.sampled_from(["", "^", r"\A"]))
def test_a_match_always_starts_with_one_of_the_first_characters(case, anchor):
    pattern, sample = anchor + case[0], case[1]
    assert re.fullmatch(pattern, sample), (pattern, sample)
    first = first_characters(pattern)
    if sample and first is not None:
        assert sample[0] in first or (DIGIT in first and sample[0].isdecimal()), (pattern, sample, first)


@given(st.text(max_size=30))
def test_any_text_is_read_without_error(pattern):
    first_characters(pattern)


def test_most_catalogue_patterns_have_known_first_characters():
    """The shortcut is worth having only if it can leave most patterns out for most lines."""
    known = [first_characters(pattern.pattern) is not None for _, pattern in load_catalogue().patterns]
    assert sum(known) >= 0.8 * len(known)
