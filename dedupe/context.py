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
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from itertools import chain

import numpy as np

from .normalize import match_key

#: A line with at least this many words, this share of stop words and
#: sentence punctuation counts as prose for the neighbourhood features.
PROSE_MIN_WORDS = 10
PROSE_MIN_STOPWORDS = 0.25
#: Lines looked at on each side for neighbourhood features.
WINDOW_NEAR = 2
WINDOW_FAR = 6
_SENTENCE_END = tuple('.!?"”’»)…\'')
_SEPARATORS = re.compile(r"[|»«›•·/]")


@functools.lru_cache(maxsize=1)
def stoplists() -> dict[str, frozenset[str]]:
    """Function words per language (``data/stopwords.toml``)."""
    text = resources.files("dedupe").joinpath("data/stopwords.toml").read_text("utf-8")
    return {lang: frozenset(words.split()) for lang, words in tomllib.loads(text).items()}


def page_stoplist(keys: Sequence[str], split: Sequence[list[str]] | None = None) -> frozenset[str]:
    """The stop-word list covering most words of the page (its language).

    ``split`` may pass the keys' words, already split.

    >>> sorted(page_stoplist(["der hund und die katze"]))[:3]
    ['aber', 'alle', 'allem']
    """
    lists = stoplists()
    counts = Counter(chain.from_iterable(split if split is not None else (key.split() for key in keys)))
    seen = counts.keys()
    best = max(lists, key=lambda lang: (sum(counts[w] for w in seen & lists[lang]), lang == "en"))
    return lists[best]


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
STAGE2_FEATURES = ("p_self", "p_prev", "p_next", "p_near_mean", "p_far_mean")


def line_features(
    lines: Sequence[str],
    rule_hits: Sequence[bool],
    keys: Sequence[str] | None = None,
    repeats: np.ndarray | None = None,
    site_share: np.ndarray | None = None,
) -> np.ndarray:
    """Feature matrix (one row per line, columns named by :data:`FEATURES`).

    ``repeats`` (other documents with the same line) and ``site_share`` (share
    of the site's other pages with it) come from a
    :class:`~dedupe.templates.TemplateTable`; without one they are 0.
    """
    n = len(lines)
    out = np.zeros((n, len(FEATURES)), dtype=np.float64)
    if n == 0:
        return out
    if keys is None:
        keys = [match_key(line) for line in lines]
    split = [k.split() for k in keys]
    stop = page_stoplist(keys, split)
    words = np.array([len(s) for s in split], dtype=np.float64)
    density = np.array([sum(map(stop.__contains__, s)) / len(s) if s else 0.0 for s in split])
    ends = np.array([line.endswith(_SENTENCE_END) for line in lines], dtype=np.float64)
    hits = np.asarray(rule_hits, dtype=np.float64)
    prose = (words >= PROSE_MIN_WORDS) & (density >= PROSE_MIN_STOPWORDS) & (ends > 0) & (hits == 0)
    prose_f = prose.astype(np.float64)
    key_counts = Counter(keys)

    col = {name: i for i, name in enumerate(FEATURES)}
    out[:, col["bias"]] = 1.0
    out[:, col["log_words"]] = np.log1p(words)
    out[:, col["log_chars"]] = np.log1p([len(line) for line in lines])
    out[:, col["stop_density"]] = density
    out[:, col["sentence_end"]] = ends
    out[:, col["ends_colon"]] = [line.endswith(":") for line in lines]
    out[:, col["starts_upper"]] = [line[:1].isupper() for line in lines]
    out[:, col["upper_share"]], out[:, col["digit_share"]] = _upper_digit_shares(lines)
    out[:, col["separators"]] = [min(len(_SEPARATORS.findall(line)), 5) / 5 for line in lines]
    out[:, col["headline_like"]] = [_headline(line, w) for line, w in zip(lines, words)]
    out[:, col["rule_hit"]] = hits
    out[:, col["prose"]] = prose_f
    out[:, col["prose_near"]] = _window_mean(prose_f, WINDOW_NEAR)
    out[:, col["prose_far"]] = _window_mean(prose_f, WINDOW_FAR)
    before = np.concatenate([[0.0], np.cumsum(prose_f)[:-1]])
    after = np.concatenate([np.cumsum(prose_f[::-1])[::-1][1:], [0.0]])
    out[:, col["prose_before"]] = np.log1p(before)
    out[:, col["prose_after"]] = np.log1p(after)
    out[:, col["log_dist_prose"]] = np.log1p(_distance_to(prose))
    out[:, col["in_main_block"]] = _main_block(words, density, ends, hits)
    out[:, col["rel_position"]] = np.arange(n) / max(n - 1, 1)
    if prose.any():
        first, last = int(np.argmax(prose)), n - 1 - int(np.argmax(prose[::-1]))
        out[:first, col["before_first_prose"]] = 1.0
        out[last + 1 :, col["after_last_prose"]] = 1.0
    else:
        out[:, col["before_first_prose"]] = 1.0
    out[:, col["repeated_on_page"]] = [key_counts[k] > 1 and bool(k) for k in keys]
    out[:, col["page_prose_share"]] = prose_f.mean()
    out[:, col["neighbour_words"]] = np.log1p(_window_mean(words, 1) * 3 - words) if n > 1 else 0.0
    short = (words < PROSE_MIN_WORDS).astype(np.float64)
    out[:, col["short_run"]] = _window_mean(short, WINDOW_NEAR)
    out[:, col["density_near"]] = _window_mean(density, WINDOW_NEAR)
    out[:, col["log_words_near"]] = _window_mean(np.log1p(words), WINDOW_NEAR)
    block = out[:, col["in_main_block"]]
    out[:, col["block_short"]] = block * short
    out[:, col["block_long"]] = block * (1 - short)
    out[:, col["log_index"]] = np.log1p(np.arange(n))
    out[:, col["log_dist_block"]] = np.log1p(_distance_to(block > 0))
    for name, lo, hi in (("words_0", 0, 1), ("words_1_2", 1, 3), ("words_3_5", 3, 6), ("words_6_9", 6, 10),
                         ("words_10_19", 10, 20), ("words_20_39", 20, 40)):
        out[:, col[name]] = (words >= lo) & (words < hi)
    out[:, col["density_low"]] = density < 0.15
    out[:, col["density_mid"]] = (density >= 0.15) & (density < 0.3)
    out[:, col["density_high"]] = density >= 0.3
    out[:, col["prose_near_short"]] = out[:, col["prose_near"]] * short
    if repeats is not None:
        # Prose that recurs across documents is syndicated text, which the
        # deduplicator keeps once; only non-prose repetition is template evidence.
        repeats = np.where(prose, 0, np.asarray(repeats, dtype=np.float64))
        repeated = (repeats > 0).astype(np.float64)
        out[:, col["log_repeats"]] = np.log1p(repeats)
        out[:, col["repeated"]] = repeated
        out[:, col["repeated_near"]] = _window_mean(repeated, WINDOW_NEAR)
        out[:, col["repeated_far"]] = _window_mean(repeated, WINDOW_FAR)
    if site_share is not None:
        out[:, col["site_share"]] = np.where(prose, 0.0, site_share)
    return out


#: Code points below this get their character classes from a table; lines
#: with larger ones (rare: tags, private use) take the per-character path.
_TABLE_SIZE = 0x30000


@functools.lru_cache(maxsize=1)
def _classes() -> np.ndarray:
    """Per code point: 1 if whitespace, 2 if uppercase, 4 if a digit (as ``str`` says)."""
    chars = [chr(c) for c in range(_TABLE_SIZE)]
    return (np.fromiter((c.isspace() for c in chars), np.uint8, _TABLE_SIZE)
            | np.fromiter((c.isupper() for c in chars), np.uint8, _TABLE_SIZE) << 1
            | np.fromiter((c.isdigit() for c in chars), np.uint8, _TABLE_SIZE) << 2)


def _upper_digit_shares(lines: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Share of uppercase and of digit characters among each line's non-space ones.

    The same numbers as ``_share(line, str.isupper)`` and ``_share(line,
    str.isdigit)``, from one table lookup over the page's code points
    instead of a Python loop per character (it was most of the context
    pass's time).

    >>> [a.tolist() for a in _upper_digit_shares(["AB 12", "", "x"])]
    [[0.5, 0.0, 0.0], [0.5, 0.0, 0.0]]
    """
    codes = np.frombuffer("".join(lines).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if codes.shape[0] and int(codes.max()) >= _TABLE_SIZE:
        return (np.array([_share(line, str.isupper) for line in lines]),
                np.array([_share(line, str.isdigit) for line in lines]))
    classes = _classes()[codes]
    bounds = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum([len(line) for line in lines], out=bounds[1:])

    def per_line(mask: np.ndarray) -> np.ndarray:
        total = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])
        return total[bounds[1:]] - total[bounds[:-1]]

    letters = np.diff(bounds) - per_line(classes & 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(letters > 0, per_line((classes >> 1) & 1) / np.maximum(letters, 1), 0.0)
        digit = np.where(letters > 0, per_line((classes >> 2) & 1) / np.maximum(letters, 1), 0.0)
    return upper, digit


def _share(line: str, test: object) -> float:
    letters = [c for c in line if not c.isspace()]
    return sum(1 for c in letters if test(c)) / len(letters) if letters else 0.0  # type: ignore[operator]


def _headline(line: str, words: float) -> float:
    if not 2 <= words <= 18 or line.endswith(tuple(".!?;:,")):
        return 0.0
    caps = [w for w in line.split() if w[:1].isalpha()]
    return sum(w[0].isupper() for w in caps) / len(caps) if caps else 0.0


def _window_mean(values: np.ndarray, radius: int) -> np.ndarray:
    padded = np.concatenate([np.zeros(radius), values, np.zeros(radius)])
    kernel = np.ones(2 * radius + 1)
    return np.convolve(padded, kernel, mode="valid") / kernel.shape[0]


def _distance_to(mask: np.ndarray) -> np.ndarray:
    n = mask.shape[0]
    if not mask.any():
        return np.full(n, float(n))
    idx = np.arange(n)
    last = np.where(mask, idx, -10**9)
    last = np.maximum.accumulate(last)
    nxt = np.where(mask, idx, 10**9)
    nxt = np.minimum.accumulate(nxt[::-1])[::-1]
    return np.minimum(idx - last, nxt - idx).astype(np.float64)


def _main_block(words: np.ndarray, density: np.ndarray, ends: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """1 for lines inside the highest-scoring run of prose-like lines (Kadane)."""
    score = np.where(
        hits > 0, -5.0,
        np.where((words >= PROSE_MIN_WORDS) & (density >= PROSE_MIN_STOPWORDS),
                 words * np.where(ends > 0, 1.0, 0.5),
                 np.where(words >= PROSE_MIN_WORDS, -0.5 * words, -3.0)),
    )
    best, start, end = 0.0, -1, -1
    current, current_start = 0.0, 0
    for i, value in enumerate(score):
        if current <= 0:
            current, current_start = 0.0, i
        current += value
        if current > best:
            best, start, end = current, current_start, i + 1
    out = np.zeros(words.shape[0])
    if start >= 0:
        out[start:end] = 1.0
    return out


def _stage2(features: np.ndarray, p1: np.ndarray) -> np.ndarray:
    n = p1.shape[0]
    prev = np.concatenate([[0.0], p1[:-1]]) if n else p1
    nxt = np.concatenate([p1[1:], [0.0]]) if n else p1
    extra = np.column_stack([p1, prev, nxt, _window_mean(p1, WINDOW_NEAR), _window_mean(p1, WINDOW_FAR)])
    return np.hstack([features, extra])


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

    def score(
        self,
        lines: Sequence[str],
        verdicts: Sequence[str | None],
        keys: Sequence[str] | None = None,
        repeats: np.ndarray | None = None,
        site_share: np.ndarray | None = None,
    ) -> list[float]:
        """Probability that each line is article text; rule hits score 0."""
        hits = [v is not None for v in verdicts]
        feats = line_features(lines, hits, keys, repeats, site_share)
        if feats.shape[0] == 0:
            return []
        p1 = _sigmoid(feats @ self.w1)
        p2 = _sigmoid(_stage2(feats, p1) @ self.w2)
        p2[np.asarray(hits, dtype=bool)] = 0.0
        return [float(p) for p in p2]


@functools.lru_cache(maxsize=1)
def load_model() -> dict[str, object]:
    """The fitted context model bundled with dedupe."""
    text = resources.files("dedupe").joinpath("data/context_model.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 30) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (no bias penalty)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = _sigmoid(x @ w)
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w


def fit_model(
    pages: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], l2: float = 1.0
) -> dict[str, object]:
    """Fit both stages from pages of (features, is-content labels, labelled mask).

    Unlabelled lines (the mask is false, e.g. user comments) stay in the page
    as context for their neighbours but do not enter the fit.
    """
    x1 = np.vstack([f[m] for f, _, m in pages])
    y = np.concatenate([t[m] for _, t, m in pages]).astype(np.float64)
    w1 = fit_logistic(x1, y, l2)
    x2 = np.vstack([_stage2(f, _sigmoid(f @ w1))[m] for f, _, m in pages])
    w2 = fit_logistic(x2, y, l2)
    return {
        "version": 1,
        "stage1_features": list(FEATURES),
        "stage2_features": list(FEATURES + STAGE2_FEATURES),
        "stage1": [round(float(v), 6) for v in w1],
        "stage2": [round(float(v), 6) for v in w2],
        "threshold": 0.5,
    }

