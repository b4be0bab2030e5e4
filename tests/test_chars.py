"""Page-wide character counts give exactly what per-line ``str`` methods give.

The stripper answers its per-line questions for a whole page at once from a
code-point table (``dedupe.chars``); these properties hold each vectorised
answer to its one-line-at-a-time definition, on any Unicode text (astral
characters included: the table is filled lazily, block by block).
"""

from __future__ import annotations

import importlib
import math
import tomllib
from importlib import resources

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.chars import PageChars, classes_of, table
from dedupe.context import (
    LineStats,
    _char_stats,
    _linear,
    _main_block,
    _on_grid,
    _window_mean,
    line_features,
)
from dedupe.normalize import match_key
from dedupe.strip import (
    body_flags,
    headline_flags,
    is_body_like,
    is_headline_like,
    load_catalogue,
    parse_catalogue,
)

_CHROME = tomllib.loads(resources.files("dedupe").joinpath("data/chrome.toml").read_text("utf-8"))

#: Lines built from the characters the predicates care about, plus any text.
shaped = st.text(alphabet=st.sampled_from(list("aZé Ω  \t.!?;:,\"”’»)…'|»•/·-09٣Ⅷ²😀𝐀ǅ\u2028\x1f")), max_size=30)
lines = st.lists(st.one_of(shaped, st.text(max_size=40)), max_size=15)


def _reference(line: str, words: float) -> tuple[float, ...]:
    """The context pass's character values for one line, character by character."""
    letters = [c for c in line if not c.isspace()]
    upper = sum(map(str.isupper, letters)) / len(letters) if letters else 0.0
    digit = sum(map(str.isdigit, letters)) / len(letters) if letters else 0.0
    headline = 0.0
    if 2 <= words <= 18 and not line.endswith(tuple(".!?;:,")):
        capitalised = [w for w in line.split() if w[:1].isalpha()]
        if capitalised:
            headline = sum(w[0].isupper() for w in capitalised) / len(capitalised)
    return (float(line.endswith(tuple('.!?"”’»)…\''))), float(line.endswith(":")), float(line[:1].isupper()),
            upper, digit, min(sum(c in "|»«›•·/" for c in line), 5) / 5, headline)


@given(lines)
@settings(max_examples=300)
def test_word_counts_and_line_ends_match_str(page):
    chars = PageChars(page)
    assert chars.words.tolist() == [len(line.split()) for line in page]
    assert chars.nonspace.tolist() == [sum(not c.isspace() for c in line) for line in page]
    assert chars.ends_with_ellipsis().tolist() == [line.endswith("...") for line in page]
    found, lower = chars.first_letter_lower()
    firsts = [next((c for c in line if c.isalpha()), None) for line in page]
    assert found.tolist() == [c is not None for c in firsts]
    assert [bool(low) for low, c in zip(lower, firsts) if c is not None] == [c.islower() for c in firsts if c]


@given(st.text(max_size=60))
def test_the_table_agrees_with_the_definition_for_any_character(text):
    codes = np.array([ord(c) for c in text], dtype=np.uint32)
    assert table(codes).tolist() == [classes_of(c) for c in text]


@given(lines, st.integers(min_value=1, max_value=20), st.booleans())
@settings(max_examples=300)
def test_page_wide_headline_and_body_shapes_match_the_line_tests(page, max_words, questions):
    chars = PageChars(page)
    assert headline_flags(chars, max_words, questions).tolist() == [
        is_headline_like(line, max_words, questions) for line in page
    ]
    assert body_flags(chars).tolist() == [is_body_like(line) for line in page]


@given(lines)
@settings(max_examples=300)
def test_context_character_values_match_a_per_character_count(page):
    words = np.array([len(match_key(line).split()) for line in page], dtype=np.float64)
    values = _char_stats(PageChars(page), words)
    fields = ("ends", "colon", "starts_upper", "upper", "digit", "separators", "headline")
    for k, name in enumerate(fields):
        assert values[name].tolist() == [_reference(line, w)[k] for line, w in zip(page, words)], name


@given(lines)
@settings(max_examples=200)
def test_line_stats_from_keys_of_any_spacing_count_the_same_words(page):
    """Keys that are not single-spaced match keys take the per-line split and agree."""
    keys = [match_key(line) for line in page]
    odd = ["  " + key + "  " if key else key for key in keys]
    a, b = LineStats.of(page, keys), LineStats.of(page, odd)
    assert a.words.tolist() == b.words.tolist() == [len(k.split()) for k in keys]
    assert a.stops.tolist() == b.stops.tolist()


def _kadane(score: list[float]) -> list[float]:
    best, start, end = 0.0, -1, -1
    current, current_start = 0.0, 0
    for i, value in enumerate(score):
        if current <= 0:
            current, current_start = 0.0, i
        current += value
        if current > best:
            best, start, end = current, current_start, i + 1
    return [1.0 if start <= i < end else 0.0 for i in range(len(score))]


@given(st.lists(st.tuples(st.integers(0, 40), st.sampled_from([0.0, 0.2, 0.5]), st.booleans(), st.booleans()),
                max_size=40))
@settings(max_examples=400)
def test_main_block_is_kadanes_best_run(rows):
    words = np.array([r[0] for r in rows], dtype=np.float64)
    density = np.array([r[1] for r in rows])
    ends = np.array([r[2] for r in rows], dtype=np.float64)
    hits = np.array([r[3] for r in rows], dtype=np.float64)
    score = np.where(hits > 0, -5.0, np.where((words >= 10) & (density >= 0.25), words * np.where(ends > 0, 1.0, 0.5),
                                              np.where(words >= 10, -0.5 * words, -3.0)))
    assert _main_block(words, density, ends, hits).tolist() == _kadane(score.tolist())


@given(st.lists(st.floats(0, 1), max_size=30), st.integers(1, 6))
def test_window_mean_is_the_padded_moving_average(values, radius):
    x = np.array(values, dtype=np.float64)
    expected = [sum(values[max(0, i - radius) : i + radius + 1]) / (2 * radius + 1) for i in range(len(values))]
    # summed in fixed point: each value is cut to a multiple of 2**-26 (1.5e-8) first
    assert np.allclose(_window_mean(x, radius), expected, rtol=0, atol=2**-26)


@given(st.lists(st.tuples(st.floats(-40, 40), st.floats(-7.99, 7.99)), min_size=1, max_size=64))
def test_model_sums_on_the_grid_are_exact(pairs):
    """Exact sums cannot depend on the order of addition, so nor on a line's place in a batch."""
    features = _on_grid(np.array([f for f, _ in pairs]))
    weights = _on_grid(np.array([w for _, w in pairs]))
    assert _linear([features[None, :]], [weights])[0] == math.fsum(features * weights)


def test_features_read_once_equal_features_read_again_on_a_subset():
    """Later stripping rounds take a subset of the page's stats instead of reading lines again."""
    page = ["Home", "News", "The council voted on Tuesday to build new bike lanes on Mill Street.",
            "Shop owners had argued that losing parking would drive customers away.", "Share", "Most read"] * 3
    keys = [match_key(line) for line in page]
    kept = [0, 2, 3, 5, 8, 9, 14, 15]
    hits = [False] * len(kept)
    subset = [page[i] for i in kept]
    taken = line_features(subset, hits, stats=LineStats.of(page, keys).take(kept))
    fresh = line_features(subset, hits, [keys[i] for i in kept])
    assert np.array_equal(taken, fresh)


@given(st.lists(st.sampled_from(["Share this:", "Older Post", "Home", "© 2021 Foo", "Storm hits the coast",
                                 "The storm reached the coast on Monday night.", "Labels: news"]), max_size=40))
@settings(max_examples=50, deadline=None)  # a fresh catalogue compiles its patterns: ~0.1 s the first time
def test_remembered_pattern_verdicts_equal_fresh_ones(page):
    """The catalogue's verdict cache (two generations) never changes a verdict."""
    remembering = load_catalogue()
    first = [remembering.match(line) for line in page]
    new = parse_catalogue(_CHROME)
    fresh = {line: new.match(line) for line in page}  # each line asked once: nothing remembered yet
    assert first == [fresh[line] for line in page] and [remembering.match(line) for line in page] == first


def test_pattern_cache_survives_generations(monkeypatch):
    strip_module = importlib.import_module("dedupe.strip")  # the package exports a function of that name
    monkeypatch.setattr(strip_module, "SEEN_LINES", 3)
    catalogue = strip_module.parse_catalogue(
        {"rule": [{"name": "share", "patterns": ["share (?:this|now)"], "examples": [], "negatives": []}]}
    )
    lines = ["Share this", "Other", "Share now", "x", "y", "Share this", "z", "Share now", "Other"] * 3
    assert [catalogue.match(line) for line in lines] == [
        "share" if line.startswith("Share") else None for line in lines
    ]
    assert catalogue.remembered <= 2 * 3

