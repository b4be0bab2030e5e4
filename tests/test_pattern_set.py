"""The catalogue's RE2 pattern set keeps the meaning the patterns have in Python's ``re``."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.errors import ConfigError
from dedupe.pattern_set import DECIMALS_BELOW, Check, PatternSet, to_re2


def test_no_decimal_digit_lies_above_the_planes_read():
    assert not any(chr(code).isdecimal() for code in range(DECIMALS_BELOW, 0x110000))


_PATTERNS = [r"\d{1,3}", r"[^\d ]+", r"[\d.]+ ?[^<>]{0,5}", r"[]a]+", r"[^]a]+", r"[^^]+", r"\(\d\)", r"\.\d+",
             r"(?:\d+|one) [a-z]{1,4}", r".{2,6}"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_PATTERNS),
       st.text(st.one_of(st.sampled_from("0123456789٣߂४𝟘१.()^]a <>one"), st.characters()), max_size=8))
def test_the_set_matches_what_re_matches(pattern, text):
    """Unicode digits, classes that start with "]" or "^", and lone surrogates, as ``re`` reads them."""
    patterns = PatternSet([Check("rule", (pattern,))])
    assert (patterns.first(text) == "rule") == (re.fullmatch(pattern, text) is not None)


def test_a_lone_surrogate_is_one_character():
    patterns = PatternSet([Check("one", ("a.b",)), Check("negated", ("[^x]{3}",))])
    assert patterns.first("a\ud800b") == "one"
    assert patterns.first("\udc00\ud800y") == "negated"


@pytest.mark.parametrize("escape", ["\\w", "\\W", "\\b", "\\B", "\\D", "\\Z"])
def test_escapes_with_another_meaning_on_re2_are_refused(escape):
    with pytest.raises(ConfigError, match="means something else"):
        to_re2(f"a{escape}b", "rule")


def test_the_first_check_in_order_wins_and_vetoes_pass_the_line_on():
    patterns = PatternSet([Check("first", ("a.*",), ("ab.*",)), Check("second", (".*b.*",)),
                           Check("third", ("a.*",))])
    assert [patterns.first(text) for text in ("ac", "abc", "xbx", "x")] == ["first", "second", "second", None]
