"""Context pass of the stripper: is a line part of the article, given its neighbours?

Rules catch chrome whose wording is known; most chrome on a real page is not
(site menus, teaser headlines, author boxes). Markup is gone by the time text
reaches a corpus, so this pass reads what plain text still shows, per line and
around it, as jusText does with paragraphs:

* the line itself: length, share of function words (stop words of the page's
  language), sentence punctuation, capitalisation, digits, separators;
* its neighbourhood: how much running prose lies within a few lines before and
  after, distance to the nearest prose line, and whether it sits inside the
  page's main block (the highest-scoring run of prose-like lines);
* its position on the page and whether the same line recurs on the page.

Two logistic models score the lines (the second also sees the first's scores of
the neighbours, so a short heading between two paragraphs is kept and a long
line inside a footer is not). Weights are data (``data/context_model.json``),
fitted by ``benchmarks/train_context.py``; a removal names the rule
``context`` and the record's ``detail`` gives the score.

>>> page = ["Home", "News", "Sport", "Council approves bike lanes on Mill Street",
...         "The council voted on Tuesday to build new bike lanes along the whole of Mill Street.",
...         "Shop owners had argued that losing parking would drive their customers away.",
...         "Most read", "Storm cuts power to thousands", "Library reopens after repairs",
...         "Contact us", "Jobs", "Advertise"]
>>> scores = ContextScorer().score(page, [None] * len(page))
>>> min(scores[3:6]) > max(scores[6:])   # the article outscores the footer
True
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from itertools import chain, count, pairwise, repeat
from typing import cast

import numpy as np

from .chars import ALPHA, COLON, DIGIT, SENTENCE, SEPARATOR, UNHEADED, UPPER, PageChars
from .normalize import match_key

#: A line with at least this many words, this share of stop words and
#: sentence punctuation counts as prose for the neighbourhood features.
PROSE_MIN_WORDS = 10
PROSE_MIN_STOPWORDS = 0.25
#: Lines looked at on each side for neighbourhood features.
WINDOW_NEAR = 2
WINDOW_FAR = 6


@functools.lru_cache(maxsize=1)
def stoplists() -> dict[str, frozenset[str]]:
    """Function words per language (``data/stopwords.toml``)."""
    text = resources.files("dedupe").joinpath("data/stopwords.toml").read_text("utf-8")
    return {lang: frozenset(words.split()) for lang, words in tomllib.loads(text).items()}


@functools.lru_cache(maxsize=1)
def _stop_bits() -> tuple[tuple[str, ...], dict[str, int]]:
    """The languages of :func:`stoplists`, and per stop word a bit per language it is a stop word of."""
    lists = stoplists()
    languages = tuple(lists)
    if len(languages) > 32:
        raise ValueError("at most 32 stop-word languages")
    bits: dict[str, int] = {}
    for bit, language in enumerate(languages):
        for word in lists[language]:
            bits[word] = bits.get(word, 0) | 1 << bit
    return languages, bits


def _page_languages(stop_counts: np.ndarray, pages: _Pages) -> np.ndarray:
    """Per page, the column of the language whose stop words cover most of its words.

    ``stop_counts`` is :attr:`LineStats.stops` (lines x languages); ties go
    to English, then to the first language.

    >>> stats = LineStats.of(["Der Hund und die Katze"], ["der hund und die katze"])
    >>> [_stop_bits()[0][column] for column in _page_languages(stats.stops, _Pages.one(1))]
    ['de']
    """
    languages = _stop_bits()[0]
    if pages.count == 1:  # the common call: a page alone
        totals = stop_counts.sum(axis=0, keepdims=True)
    else:
        totals = np.zeros((pages.count, len(languages)), dtype=np.int64)
        filled = pages.lengths > 0
        if filled.any():
            totals[filled] = np.add.reduceat(stop_counts, pages.starts[filled], axis=0)
    # counts are whole numbers: doubling them leaves room to break ties towards English
    english = np.array([language == "en" for language in languages], dtype=np.float64)
    return np.argmax(totals * 2 + english, axis=1)


@dataclass(frozen=True)
class _Pages:
    """Where each line's page begins and ends, for a batch of pages scored at once.

    Scoring pages one call each spent most of its time in numpy's per-call
    overhead (the stripper's rounds make three calls per page); a batch
    shares the calls. Every sum a score depends on is exact (fixed-point
    windows, :func:`_linear` on a grid) and every page-wide figure is the
    page's own, so a page scores the same alone or among others, bit for bit.
    """

    starts: np.ndarray
    lengths: np.ndarray
    #: per line: its page, its position on the page, and lines after it on the page
    page_of: np.ndarray
    position: np.ndarray
    remaining: np.ndarray
    #: per line: where its page begins, and where it ends (exclusive)
    first: np.ndarray
    end: np.ndarray
    _windows: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def count(self) -> int:
        return int(self.starts.shape[0])

    @classmethod
    def of(cls, lengths: Sequence[int] | np.ndarray) -> _Pages:
        lengths = np.asarray(lengths, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        page_of = np.repeat(np.arange(lengths.shape[0]), lengths)
        index = np.arange(page_of.shape[0])
        first = starts[page_of]
        end = first + lengths[page_of]
        return cls(starts, lengths, page_of, index - first, end - 1 - index, first, end)

    @classmethod
    def one(cls, n: int) -> _Pages:
        """One page of ``n`` lines (shared: its arrays are read-only)."""
        return _one_page(n)

    def window(self, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """Per line, the first and past-the-last line within ``radius`` on its page."""
        found = self._windows.get(radius)
        if found is None:
            index = np.arange(self.page_of.shape[0])
            found = self._windows[radius] = (np.maximum(index - radius, self.first),
                                             np.minimum(index + radius + 1, self.end))
        return found

    def per_line(self, values: np.ndarray) -> np.ndarray:
        """A value per page, repeated for each of its lines."""
        return values[self.page_of]


@dataclass(frozen=True)
class LineStats:
    """What the context pass reads from each line alone, computed once per page.

    The stripper repeats its passes on the kept lines until nothing more
    goes; a line's own length, stop words, punctuation and shape do not change
    between rounds, so later rounds take a subset (:meth:`take`) instead of
    reading every character again. Only the neighbourhood is recomputed.

    >>> stats = LineStats.of(["Home", "The cat sat on the mat."])
    >>> stats.words.tolist(), stats.take([1]).words.tolist()
    ([1.0, 6.0], [6.0])
    """

    words: np.ndarray
    #: stop words of each language (columns in :func:`stoplists` order)
    stops: np.ndarray
    chars: np.ndarray
    ends: np.ndarray
    colon: np.ndarray
    starts_upper: np.ndarray
    upper: np.ndarray
    digit: np.ndarray
    separators: np.ndarray
    headline: np.ndarray
    #: same number for lines with the same match key; -1 for an empty key
    key_ids: np.ndarray

    @classmethod
    def of(cls, lines: Sequence[str], keys: Sequence[str] | None = None, chars: PageChars | None = None,
           page_lengths: Sequence[int] | None = None) -> LineStats:
        """Read each line (``keys`` and ``chars`` may pass them, already computed).

        ``page_lengths`` says where pages begin when ``lines`` are several
        pages end to end (a batch read at once): lines are numbered by match
        key within their own page, so :meth:`slice` gives each page the
        stats it gets alone.

        >>> both = LineStats.of(["Home", "Home", "Home"], page_lengths=[2, 1])
        >>> both.slice(2, 3).key_ids.tolist() == LineStats.of(["Home"]).key_ids.tolist()
        True
        """
        if keys is None:
            keys = [match_key(line) for line in lines]
        n = len(lines)
        chars = chars or PageChars(lines)
        # The first line with a key gives every later one its number. A line's
        # words and stop words depend on its key alone, and a batch repeats its
        # keys (a site's menus on every page): each distinct key is read once.
        first_with: dict[str, int] = {}
        key_ids = np.fromiter(map(first_with.setdefault, keys, count()), np.int64, n)
        distinct = list(first_with)
        place = np.zeros(n, dtype=np.int64)
        place[np.fromiter(first_with.values(), np.int64, len(distinct))] = np.arange(len(distinct))
        place = place[key_ids]  # per line, its key's place among the distinct keys
        words, stops = _key_words(distinct)
        words, stops = words[place], stops[place]
        present = np.fromiter(map(bool, distinct), np.bool_, len(distinct))[place]
        if page_lengths is not None and len(page_lengths) > 1:
            # numbered within each page: the first line of the page with the key
            page_of = np.repeat(np.arange(len(page_lengths)), page_lengths)
            starts = np.concatenate([[0], np.cumsum(page_lengths)[:-1]]).astype(np.int64)
            _, first, inverse = np.unique(page_of * max(n, 1) + key_ids, return_index=True, return_inverse=True)
            key_ids = first[inverse.reshape(-1)] - starts[page_of]
        key_ids = np.where(present, key_ids, -1)
        return cls(words=words, stops=stops, chars=chars.lengths.astype(np.float64),
                   key_ids=key_ids, **_char_stats(chars, words))

    def slice(self, start: int, stop: int) -> LineStats:
        """The stats of lines ``start`` to ``stop`` (views, not copies): one page of a batch."""
        return LineStats(**{name: getattr(self, name)[start:stop] for name in self.__dataclass_fields__})

    def take(self, index: Sequence[int] | np.ndarray) -> LineStats:
        """The stats of the lines at ``index``, in that order."""
        index = np.asarray(index, dtype=np.int64)
        return LineStats(**{name: getattr(self, name)[index] for name in self.__dataclass_fields__})

    @classmethod
    def concat(cls, pages: Sequence[LineStats]) -> LineStats:
        """Several pages' stats end to end, for one batched :func:`line_features`.

        Key numbers stay distinct between pages, so a line recurs "on the
        page" only where its own page has it twice.
        """
        offset, key_ids = 0, []
        for stats in pages:
            key_ids.append(np.where(stats.key_ids >= 0, stats.key_ids + offset, -1))
            # a taken page keeps its lines' numbers from the whole page
            offset += int(stats.key_ids.max(initial=-1)) + 1
        fields = {name: np.concatenate([getattr(stats, name) for stats in pages])
                  for name in cls.__dataclass_fields__ if name != "key_ids"}
        return cls(key_ids=np.concatenate(key_ids), **fields)


def _key_words(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per match key: its words, and its stop words of each language (columns in :func:`stoplists` order).

    >>> words, stops = _key_words(["der hund und die katze", ""])
    >>> words.tolist(), int(stops[0, _stop_bits()[0].index("de")])
    ([5.0, 0.0], 3)
    """
    n = len(keys)
    # Match keys are words joined by single spaces: one split for them all.
    # (map over str methods: no Python frame per key)
    present = np.fromiter(map(bool, keys), np.bool_, n)
    lengths = np.where(present, np.fromiter(map(str.count, keys, repeat(" ")), np.int64, n) + 1, 0)
    joined = " ".join(filter(None, keys))
    flat = joined.split(" ") if joined else []
    if len(flat) != int(lengths.sum()) or "" in flat:  # keys from elsewhere: split each
        split = [key.split() for key in keys]
        lengths = np.fromiter(map(len, split), np.int64, n)
        flat = list(chain.from_iterable(split))
    languages, bits = _stop_bits()
    word_bits = np.fromiter(map(bits.get, flat, repeat(0)), np.uint32, len(flat))
    stop_at = np.flatnonzero(word_bits)
    line_of = np.repeat(np.arange(n), lengths)[stop_at]
    stop_bits = word_bits[stop_at]
    stops = np.empty((n, len(languages)), dtype=np.int64)
    for column in range(len(languages)):
        stops[:, column] = np.bincount(line_of, weights=(stop_bits >> column) & 1, minlength=n)
    return lengths.astype(np.float64), stops


FEATURES = (
    "bias", "log_words", "log_chars", "stop_density", "sentence_end", "ends_colon", "starts_upper",
    "upper_share", "digit_share", "separators", "headline_like", "rule_hit", "prose",
    "prose_near", "prose_far", "prose_before", "prose_after", "log_dist_prose", "in_main_block",
    "rel_position", "before_first_prose", "after_last_prose", "repeated_on_page", "page_prose_share",
    "neighbour_words", "short_run", "density_near", "log_words_near", "block_short", "block_long",
    "log_index", "log_dist_block", "words_0", "words_1_2", "words_3_5", "words_6_9",
    "words_10_19", "words_20_39", "density_low", "density_mid", "density_high", "prose_near_short",
    "log_repeats", "repeated", "site_share", "repeated_near", "repeated_far",
)
_COLUMN = {name: i for i, name in enumerate(FEATURES)}
#: Upper bounds of the words_* buckets (words_0 is under 1, words_20_39 under 40) and of
#: the density_low / density_mid buckets.
_WORD_BUCKETS = np.array([1, 3, 6, 10, 20, 40], dtype=np.float64)
_DENSITY_BUCKETS = np.array([0.15, 0.3])
STAGE2_FEATURES = ("p_self", "p_prev", "p_next", "p_near_mean", "p_far_mean", "p_page_best")


def line_features(
    lines: Sequence[str],
    rule_hits: Sequence[bool],
    keys: Sequence[str] | None = None,
    repeats: np.ndarray | None = None,
    site_share: np.ndarray | None = None,
    stats: LineStats | None = None,
    pages: _Pages | None = None,
) -> np.ndarray:
    """Feature matrix (one row per line, columns named by :data:`FEATURES`).

    ``repeats`` (other documents with the same line) and ``site_share`` (share
    of the site's other pages with it) come from a
    :class:`~dedupe.templates.TemplateTable`; without one they are 0.
    ``stats`` may pass the lines' :class:`LineStats`, already read.
    ``pages`` says where pages begin when ``lines`` are several pages end to
    end; each page's rows are the same as when it comes alone.

    >>> page = ["Home", "The council voted on Tuesday to build new bike lanes on Mill Street."]
    >>> both = line_features(page + page, [False] * 4, pages=_Pages.of([2, 2]))
    >>> bool((both[2:] == line_features(page, [False, False])).all())
    True
    """
    n = len(lines)
    # one row per feature while filling: each column is a contiguous write, and a
    # page's ~80 writes are most of the cost on short pages; the caller gets lines x features
    out = np.zeros((len(FEATURES), n), dtype=np.float64)
    if n == 0:
        return out.T
    pages = pages or _Pages.one(n)
    if stats is None:
        bounds = np.append(pages.starts, n).tolist()
        stats = LineStats.concat([LineStats.of(lines[start:end], None if keys is None else keys[start:end])
                                  for start, end in pairwise(bounds)])
    words = stats.words
    stop_words = stats.stops[np.arange(n), pages.per_line(_page_languages(stats.stops, pages))]
    with np.errstate(invalid="ignore", divide="ignore"):
        density = np.where(words > 0, stop_words / np.maximum(words, 1), 0.0)
    ends = stats.ends
    hits = np.asarray(rule_hits, dtype=np.float64)
    prose = (words >= PROSE_MIN_WORDS) & (density >= PROSE_MIN_STOPWORDS) & (ends > 0) & (hits == 0)
    prose_f = prose.astype(np.float64)
    present = stats.key_ids >= 0
    key_counts = np.bincount(stats.key_ids[present]) if present.any() else np.zeros(0, dtype=np.int64)

    col = _COLUMN
    out[col["bias"]] = 1.0
    out[col["log_words"]] = np.log1p(words)
    out[col["log_chars"]] = np.log1p(stats.chars)
    out[col["stop_density"]] = density
    out[col["sentence_end"]] = ends
    out[col["ends_colon"]] = stats.colon
    out[col["starts_upper"]] = stats.starts_upper
    out[col["upper_share"]], out[col["digit_share"]] = stats.upper, stats.digit
    out[col["separators"]] = stats.separators
    out[col["headline_like"]] = stats.headline
    out[col["rule_hit"]] = hits
    out[col["prose"]] = prose_f
    short = (words < PROSE_MIN_WORDS).astype(np.float64)
    near = _window_mean(np.column_stack([prose_f, short, density, np.log1p(words)]), WINDOW_NEAR, pages)
    out[col["prose_near"]] = near[:, 0]
    out[col["prose_far"]] = _window_mean(prose_f, WINDOW_FAR, pages)
    # prose lines so far: whole numbers, so the sums are exact in any batch
    running = np.concatenate([[0.0], np.cumsum(prose_f)])
    index = np.arange(n)
    start, end = pages.first, pages.end
    length = end - start
    before = running[index] - running[start]
    after = running[end] - running[index + 1]
    out[col["prose_before"]] = np.log1p(before)
    out[col["prose_after"]] = np.log1p(after)
    out[col["log_dist_prose"]] = np.log1p(_distance_to(prose, pages))
    out[col["in_main_block"]] = _main_block(words, density, ends, hits, pages)
    out[col["rel_position"]] = pages.position / np.maximum(length - 1, 1)
    page_prose = running[end] - running[start]
    out[col["before_first_prose"]] = before + prose_f == 0
    out[col["after_last_prose"]] = (after + prose_f == 0) & (page_prose > 0)
    out[col["repeated_on_page"], present] = key_counts[stats.key_ids[present]] > 1
    out[col["page_prose_share"]] = page_prose / length
    out[col["neighbour_words"]] = np.log1p(_window_sum(words, 1, pages) - words)
    out[col["short_run"]] = near[:, 1]
    out[col["density_near"]] = near[:, 2]
    out[col["log_words_near"]] = near[:, 3]
    block = out[col["in_main_block"]]
    out[col["block_short"]] = block * short
    out[col["block_long"]] = block * (1 - short)
    out[col["log_index"]] = np.log1p(pages.position)
    out[col["log_dist_block"]] = np.log1p(_distance_to(block > 0, pages))
    # one-hot buckets (the columns of each family are adjacent in FEATURES)
    bucket = np.searchsorted(_WORD_BUCKETS, words, side="right")  # 0: no words .. 6: 40+
    inside = np.flatnonzero(bucket < _WORD_BUCKETS.shape[0])
    out[col["words_0"] + bucket[inside], inside] = 1.0
    out[col["density_low"] + np.searchsorted(_DENSITY_BUCKETS, density, side="right"), np.arange(n)] = 1.0
    out[col["prose_near_short"]] = out[col["prose_near"]] * short
    if repeats is not None:
        # Prose that recurs across documents is syndicated text, which the
        # deduplicator keeps once; only non-prose repetition is template evidence.
        repeats = np.where(prose, 0, np.asarray(repeats, dtype=np.float64))
        repeated = (repeats > 0).astype(np.float64)
        out[col["log_repeats"]] = np.log1p(repeats)
        out[col["repeated"]] = repeated
        out[col["repeated_near"]] = _window_mean(repeated, WINDOW_NEAR, pages)
        out[col["repeated_far"]] = _window_mean(repeated, WINDOW_FAR, pages)
    if site_share is not None:
        out[col["site_share"]] = np.where(prose, 0.0, site_share)
    return out.T


def _char_stats(page: PageChars, words: np.ndarray) -> dict[str, np.ndarray]:
    """What each line's characters say: the :class:`LineStats` fields read from characters.

    ``words`` is the word count of each line's match key (the headline
    test's length bounds); capitalised words are counted among the line's
    own words that start with a letter.

    >>> stats = _char_stats(PageChars(["Storm Hits Coast", "It rained.", ""]), np.array([3.0, 2.0, 0.0]))
    >>> stats["headline"].tolist(), stats["ends"].tolist()
    ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    """
    letters = page.nonspace
    uppercase = page.has(UPPER)
    initials = page.word_starts & page.has(ALPHA)
    counts = page.count(uppercase, page.has(DIGIT), page.has(SEPARATOR), initials, initials & uppercase)
    capitalised = counts[:, 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(letters > 0, counts[:, 0] / np.maximum(letters, 1), 0.0)
        digit = np.where(letters > 0, counts[:, 1] / np.maximum(letters, 1), 0.0)
        shaped = (words >= 2) & (words <= 18) & ~page.ends_with(UNHEADED) & (capitalised > 0)
        headline = np.where(shaped, counts[:, 4] / np.maximum(capitalised, 1), 0.0)
    return {
        "ends": page.ends_with(SENTENCE).astype(np.float64),
        "colon": page.ends_with(COLON).astype(np.float64),
        "starts_upper": page.starts_with(UPPER).astype(np.float64),
        "upper": upper,
        "digit": digit,
        "separators": np.minimum(counts[:, 2], 5) / 5,
        "headline": headline,
    }


@functools.lru_cache(maxsize=512)
def _one_page(n: int) -> _Pages:
    # a page alone is the common call, and its layout depends only on its length
    pages = _Pages.of([n])
    for name in pages.__dataclass_fields__:
        if name != "_windows":
            getattr(pages, name).setflags(write=False)
    return pages


def _window_mean(values: np.ndarray, radius: int, pages: _Pages | None = None) -> np.ndarray:
    """Mean over each line and ``radius`` lines on each side (zeros past the page's ends).

    ``values`` may be a vector or a (lines x columns) matrix: one call for
    several columns, as per-call overhead dominates on short pages.

    >>> _window_mean(np.array([3.0, 0.0, 0.0, 3.0]), 1).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> _window_mean(np.array([3.0, 0.0, 0.0, 3.0]), 1, _Pages.of([2, 2])).tolist()
    [1.0, 1.0, 1.0, 1.0]
    """
    return _window_sum(values, radius, pages) / (2 * radius + 1)


#: Fixed-point scale of the values the context pass sums over windows (1/2**26 is
#: 1.5e-8): integer sums are exact in any order, so a line's sums do not depend on
#: the rest of its batch.
_FIXED = float(2**26)
#: The models' features and weights are rounded to multiples of this (3.8e-6) within
#: ±_GRID_LIMIT (features are logs and shares, under 25; weights under 8), so that a
#: product is k * 2**-36 with |k| < 2**44 and a sum of 64 of them stays exact.
_GRID = 2.0**-18
_GRID_LIMIT = 31.0
_WEIGHT_LIMIT = 8.0


def _window_sum(values: np.ndarray, radius: int, pages: _Pages | None = None) -> np.ndarray:
    """Sum over each line and ``radius`` lines on each side of it on its page.

    Read off a running sum in fixed point (within 1.5e-8): a running sum of floats
    would round each line's window differently depending on the pages before
    it in the batch.

    >>> _window_sum(np.array([1.0, 2.0, 4.0, 8.0]), 1, _Pages.of([3, 1])).tolist()
    [3.0, 7.0, 6.0, 8.0]
    """
    pages = pages or _Pages.one(values.shape[0])
    # truncated, not rounded: one numpy call less, and the error stays under 2**-26
    fixed = (np.asarray(values, dtype=np.float64) * _FIXED).astype(np.int64)
    running = np.zeros((fixed.shape[0] + 1,) + fixed.shape[1:], dtype=np.int64)
    np.cumsum(fixed, axis=0, out=running[1:])
    low, high = pages.window(radius)
    return (running[high] - running[low]) / _FIXED


def _shift(values: np.ndarray, by: int) -> np.ndarray:
    """``values`` moved ``by`` rows down (up when negative), zeros where nothing moved in."""
    out = np.zeros(values.shape, dtype=np.float64)
    if by > 0:
        out[by:] = values[: max(values.shape[0] - by, 0)]
    else:
        out[: max(values.shape[0] + by, 0)] = values[-by:]
    return out


def _distance_to(mask: np.ndarray, pages: _Pages | None = None) -> np.ndarray:
    """Lines to the nearest marked line on the same page (the page's length if it has none)."""
    pages = pages or _Pages.one(mask.shape[0])
    n = mask.shape[0]
    index = np.arange(n)
    last = np.maximum.accumulate(np.where(mask, index, -1))
    following = np.minimum.accumulate(np.where(mask, index, n)[::-1])[::-1]
    length = pages.end - pages.first
    none = np.iinfo(np.int64).max
    up = np.where(pages.position >= index - last, index - last, none)
    down = np.where(pages.remaining >= following - index, following - index, none)
    nearest = np.minimum(up, down)
    return np.where(nearest == none, length, nearest).astype(np.float64)


def _main_block(words: np.ndarray, density: np.ndarray, ends: np.ndarray, hits: np.ndarray,
                pages: _Pages | None = None) -> np.ndarray:
    """1 for lines inside each page's highest-scoring run of prose-like lines (Kadane)."""
    if pages is None or pages.count == 1:
        return _main_block_of_page(words, density, ends, hits)
    return _main_blocks(_block_scores(words, density, ends, hits), pages)


def _block_scores(words: np.ndarray, density: np.ndarray, ends: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """Each line's part in a main block: prose gains its words, anything else costs (multiples of 0.5)."""
    return np.where(
        hits > 0, -5.0,
        np.where((words >= PROSE_MIN_WORDS) & (density >= PROSE_MIN_STOPWORDS),
                 words * np.where(ends > 0, 1.0, 0.5),
                 np.where(words >= PROSE_MIN_WORDS, -0.5 * words, -3.0)),
    )


def _main_blocks(score: np.ndarray, pages: _Pages) -> np.ndarray:
    """:func:`_main_block_of_page` for every page of a batch, without a loop over the pages.

    The same scan: per line, its page's prefix sum before it and after it,
    the lowest prefix before it on its page (a running minimum that each
    page restarts, as every page lies below the pages before it by an
    offset larger than any page's sums), the first line of the largest gain,
    and the last lowest prefix before that line. Scores are multiples of
    0.5 and every sum stays far below 2**52, so each page's numbers are
    exactly those it gets alone.

    >>> scores = np.array([-3.0, 20.0, -3.0, 15.0, -3.0, -3.0, 12.0])
    >>> _main_blocks(scores, _Pages.of([4, 3])).tolist()
    [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0]
    """
    n = score.shape[0]
    out = np.zeros(n)
    filled = np.flatnonzero(pages.lengths > 0)
    if not n or not filled.shape[0]:
        return out
    running = np.concatenate([[0.0], np.cumsum(score)])
    index = np.arange(n)
    before = running[index] - running[pages.first]
    after = running[index + 1] - running[pages.first]
    # each page sits below everything before it: the running minimum restarts on it
    offset = 2.0 ** np.ceil(np.log2(2 * float(np.abs(score).sum()) + 2))
    lowered = before - pages.page_of * offset
    lowest = np.minimum.accumulate(lowered) + pages.page_of * offset
    gain = after - lowest
    starts = pages.starts[filled]
    best = np.maximum.reduceat(gain, starts)
    end = np.minimum.reduceat(np.where(gain == best[np.searchsorted(starts, pages.first, side="right") - 1], index, n),
                              starts)
    chosen = best > 0
    starts, end = starts[chosen], end[chosen]
    page_end = np.full(n, -1)
    page_end[pages.first[end]] = end  # indexed by the page's first line
    ends_here = page_end[pages.first]
    at_low = (index <= ends_here) & (before == np.where(ends_here >= 0, lowest[np.maximum(ends_here, 0)], np.nan))
    begin = np.maximum.reduceat(np.where(at_low, index, -1), pages.starts[filled])[chosen]
    marks = np.zeros(n + 1)
    np.add.at(marks, begin, 1.0)
    np.add.at(marks, end + 1, -1.0)
    out[np.cumsum(marks[:-1]) > 0] = 1.0
    return out


def _main_block_of_page(words: np.ndarray, density: np.ndarray, ends: np.ndarray, hits: np.ndarray) -> np.ndarray:
    score = _block_scores(words, density, ends, hits)
    # Kadane's scan without a Python loop: the best run ending at line i
    # starts after the lowest prefix sum before it (the latest, on ties, as
    # the scan resets on a sum <= 0), and the first end with the largest gain
    # wins. Scores are multiples of 0.5, so the sums are exact.
    out = np.zeros(words.shape[0])
    if not score.shape[0]:
        return out
    prefix = np.concatenate([[0.0], np.cumsum(score)])
    lowest = np.minimum.accumulate(prefix[:-1])
    gain = prefix[1:] - lowest
    end = int(np.argmax(gain))
    if gain[end] <= 0:
        return out
    at_low = np.flatnonzero(prefix[: end + 1] == lowest[end])
    out[int(at_low[-1]) : end + 1] = 1.0
    return out


def _stage2(features: np.ndarray, p1: np.ndarray, pages: _Pages | None = None) -> np.ndarray:
    """Stage 2's inputs: the features and the stage-1 scores around each line."""
    return np.hstack([features, _neighbour_scores(p1, pages, features[:, _COLUMN["rule_hit"]] > 0)])


def _page_best(p1: np.ndarray, hits: np.ndarray, pages: _Pages) -> np.ndarray:
    """Per line, the best stage-1 score of a line without a rule hit on its page (1 when there is none)."""
    candidates = np.where(hits, 0.0, p1)
    best = np.zeros(pages.count)
    filled = pages.lengths > 0
    if filled.any():
        best[filled] = np.maximum.reduceat(candidates, pages.starts[filled])
    return pages.per_line(np.where(best > 0, best, 1.0))


def _neighbour_scores(p1: np.ndarray, pages: _Pages | None = None, hits: np.ndarray | None = None) -> np.ndarray:
    pages = pages or _Pages.one(p1.shape[0])
    if hits is None:
        hits = np.zeros(p1.shape[0], dtype=bool)
    prev, nxt = _shift(p1, 1), _shift(p1, -1)
    prev[pages.position == 0] = 0.0
    nxt[pages.remaining == 0] = 0.0
    near = _window_mean(p1, WINDOW_NEAR, pages)
    far = _window_mean(p1, WINDOW_FAR, pages)
    # the page's best line: a page's scores run high or low together
    return np.asfortranarray(np.column_stack([p1, prev, nxt, near, far, _page_best(p1, hits, pages)]))


def _on_grid(values: np.ndarray) -> np.ndarray:
    """``values`` within ±:data:`_GRID_LIMIT`, rounded to multiples of :data:`_GRID`.

    >>> _on_grid(np.array([0.1, -40.0])).tolist() == [round(0.1 * 2**18) / 2**18, -31.0]
    True
    """
    # adding 1.5 * 2**52 grid steps leaves no bits below the grid; subtracting it back is exact
    shift = 1.5 * 2.0**52 * _GRID
    return (np.clip(values, -_GRID_LIMIT, _GRID_LIMIT) + shift) - shift


def _linear(blocks: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> np.ndarray:
    """``sum(block @ weight)`` for blocks and weights already on the grid (:func:`_on_grid`).

    A product may add a row's terms in an order, and with fused
    multiply-adds, that depend on where the row sits in the matrix. On the
    grid every product and every partial sum is exact (multiples of 2**-36
    under 2**14), so the order cannot matter: a line's score depends on its
    features alone, in any batch. ``einsum`` rather than ``@``: on a batch,
    the BLAS product starts threads that spin on the other core, which the
    pipeline's other worker needs.
    """
    total = np.einsum("ij,j->i", blocks[0], weights[0])
    for block, weight in zip(blocks[1:], weights[1:]):
        total += np.einsum("ij,j->i", block, weight)
    return total


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


class ContextScorer:
    """Scores each line's probability of being article text (0..1)."""

    def __init__(self, model: dict[str, object] | None = None) -> None:
        model = model or load_model()
        self.threshold = float(model["threshold"])  # type: ignore[arg-type]
        names1 = list(model["stage1_features"])  # type: ignore[call-overload]
        names2 = list(model["stage2_features"])  # type: ignore[call-overload]
        if names1 != list(FEATURES) or names2 != list(FEATURES + STAGE2_FEATURES):
            raise ValueError("context model was fitted with other features; refit it with benchmarks/train_context.py")
        self.w1 = np.array(model["stage1"], dtype=np.float64)  # type: ignore[arg-type]
        self.w2 = np.array(model["stage2"], dtype=np.float64)  # type: ignore[arg-type]
        if max(np.abs(self.w1).max(), np.abs(self.w2).max()) >= _WEIGHT_LIMIT:
            raise ValueError(f"context model weights must be under {_WEIGHT_LIMIT:g} in size (exact sums)")
        width = len(FEATURES)
        self._weights1 = [_on_grid(self.w1)]
        self._weights2 = [_on_grid(self.w2[:width]), _on_grid(self.w2[width:])]

    def score(
        self,
        lines: Sequence[str],
        verdicts: Sequence[str | None],
        keys: Sequence[str] | None = None,
        repeats: np.ndarray | None = None,
        site_share: np.ndarray | None = None,
        stats: LineStats | None = None,
    ) -> list[float]:
        """Probability that each line is article text; rule hits score 0."""
        if stats is None:
            stats = LineStats.of(lines, keys)
        return self.score_pages([(verdicts, stats, repeats, site_share)])[0].tolist()

    def score_pages(
        self, pages: Sequence[tuple[Sequence[str | None], LineStats, np.ndarray | None, np.ndarray | None]]
    ) -> list[np.ndarray]:
        """:meth:`score` for several pages in one pass: (verdicts, stats, repeats, site share) each.

        The same scores as one call per page, bit for bit, in a fraction of
        the time when pages are short.

        >>> scorer = ContextScorer()
        >>> pages = [["Home", "The council voted on Tuesday to build new bike lanes."], ["Contact us"]]
        >>> stats = [LineStats.of(page) for page in pages]
        >>> both = scorer.score_pages([([None] * len(p), s, None, None) for p, s in zip(pages, stats)])
        >>> [b.tolist() for b in both] == [scorer.score(p, [None] * len(p)) for p in pages]
        True
        """
        if not pages:
            return []
        if len(pages) == 1:
            layout = _Pages.one(len(pages[0][0]))
        else:
            layout = _Pages.of([len(verdicts) for verdicts, _, _, _ in pages])
        hits = np.fromiter((v is not None for verdicts, _, _, _ in pages for v in verdicts), bool,
                           layout.page_of.shape[0])
        stats = LineStats.concat([page_stats for _, page_stats, _, _ in pages]) if len(pages) > 1 else pages[0][1]

        def joined(column: int) -> np.ndarray | None:
            if all(page[column] is None for page in pages):
                return None
            return np.concatenate([np.zeros(len(page[0])) if page[column] is None
                                   else np.asarray(page[column], dtype=np.float64) for page in pages])

        # the lines' text is in their stats: ``hits`` only stands in for the page
        feats = line_features(cast("Sequence[str]", hits), cast("Sequence[bool]", hits), repeats=joined(2),
                              site_share=joined(3), stats=stats, pages=layout)
        feats = _on_grid(feats)
        p1 = _sigmoid(_linear([feats], self._weights1))
        p2 = _sigmoid(_linear([feats, _on_grid(_neighbour_scores(p1, layout, hits))], self._weights2))
        p2[hits] = 0.0
        return np.split(p2, layout.starts[1:]) if len(pages) > 1 else [p2]


@functools.lru_cache(maxsize=1)
def load_model() -> dict[str, object]:
    """The fitted context model bundled with dedupe."""
    text = resources.files("dedupe").joinpath("data/context_model.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]
