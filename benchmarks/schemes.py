"""Signature schemes compared on the paragraphs of the evaluation sets.

    python benchmarks/schemes.py [--eval ../shared/eval] [--threshold 0.5]

For each set (syndication_dev's corpus, the near-duplicate clusters) the
distinct match keys long enough for a MinHash are taken, and every pair of them
whose character 5-gram Jaccard similarity is at least the threshold is found
exactly (all-pairs similarity join with prefix filtering: a pair at or above
the threshold shares a shingle among the rarest ``|x| - ceil(t|x|) + 1`` of
each side). Then for each scheme:

* **candidates**: pairs sharing a band key (the LSH bands dedupe resolves
  from), their recall of the true pairs and their precision (share of true
  pairs among them: how much verification work is wasted);
* **verified**: candidates whose estimated similarity (share of equal slots)
  is at least the threshold, their recall and precision;
* the mean and spread of estimate minus exact similarity over the candidates.

What a whole run makes of the differences is ``benchmarks/quality.py -- --scheme NAME``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
from numba import njit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.config import DedupConfig  # noqa: E402
from dedupe.fingerprint import SCHEMES, Fingerprinter  # noqa: E402
from dedupe.normalize import match_key  # noqa: E402

DEFAULT_EVAL = ROOT.parent / "shared" / "eval"


def distinct_keys(path: Path, config: DedupConfig) -> list[str]:
    """The distinct match keys a MinHash is computed for, in first-seen order."""
    seen: dict[str, None] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            for paragraph in json.loads(line)["text"].split("\n"):
                key = match_key(paragraph)
                if config.min_minhash_length <= len(key) <= config.max_minhash_chars:
                    seen.setdefault(key)
    return list(seen)


def shingle_sets(keys: list[str], config: DedupConfig) -> list[np.ndarray]:
    """Each key's distinct shingle hashes (the hashes both schemes start from), sorted."""
    fp = Fingerprinter(ngram=config.ngram, min_length=config.min_minhash_length, compiled=False)
    hashes, counts = fp._char_shingles(keys)
    return [np.unique(part) for part in np.split(hashes, np.cumsum(counts)[:-1])]


def encode(first: np.ndarray, second: np.ndarray, size: int) -> np.ndarray:
    low, high = np.minimum(first, second), np.maximum(first, second)
    return low.astype(np.int64) * size + high


@njit(cache=True)
def _shared(flat, i, end_i, j, end_j):  # type: ignore[no-untyped-def]
    """Elements two sorted runs of ``flat`` have in common: a merge."""
    shared = 0
    while i < end_i and j < end_j:
        if flat[i] == flat[j]:
            shared += 1
            i += 1
            j += 1
        elif flat[i] < flat[j]:
            i += 1
        else:
            j += 1
    return shared


@njit(cache=True)
def _jaccard(flat, starts, first, second):  # type: ignore[no-untyped-def]
    out = np.empty(first.shape[0])
    for number in range(first.shape[0]):
        i, end_i = starts[first[number]], starts[first[number] + 1]
        j, end_j = starts[second[number]], starts[second[number] + 1]
        shared = _shared(flat, i, end_i, j, end_j)
        out[number] = shared / ((end_i - i) + (end_j - j) - shared)
    return out


def jaccard(sets: list[np.ndarray], pairs: np.ndarray) -> np.ndarray:
    """Exact Jaccard similarity of each encoded pair of sets."""
    starts = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([s.shape[0] for s in sets], out=starts[1:])
    flat = np.concatenate(sets) if sets else np.empty(0, np.uint32)
    return _jaccard(flat, starts, pairs // len(sets), pairs % len(sets))


@njit(cache=True)
def _all_pairs(flat, starts, prefix, post_starts, postings, threshold):  # type: ignore[no-untyped-def]
    """Pairs (x < y) sharing a prefix token, each verified once: (first, second, similarity)."""
    count = starts.shape[0] - 1
    seen = np.full(count, -1)
    first, second, similarity = [], [], []
    for x in range(count):
        size_x = starts[x + 1] - starts[x]
        for position in range(starts[x], starts[x] + prefix[x]):
            token = flat[position]
            for slot in range(post_starts[token], post_starts[token + 1]):
                y = postings[slot]
                if y <= x or seen[y] == x:
                    continue
                seen[y] = x
                size_y = starts[y + 1] - starts[y]
                if min(size_x, size_y) < threshold * max(size_x, size_y):
                    continue  # the smaller set caps the intersection
                shared = _shared(flat, starts[x], starts[x + 1], starts[y], starts[y + 1])
                value = shared / (size_x + size_y - shared)
                if value >= threshold:
                    first.append(x)
                    second.append(y)
                    similarity.append(value)
    return first, second, similarity


def true_pairs(sets: list[np.ndarray], threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Every pair at or above ``threshold``, found exactly by prefix filtering: (pairs, similarity)."""
    tokens, frequency = np.unique(np.concatenate(sets), return_counts=True)
    order = np.empty(tokens.shape[0], dtype=np.int64)  # each token's rank, rarest first
    order[np.lexsort((tokens, frequency))] = np.arange(tokens.shape[0])
    ranked = [np.sort(order[np.searchsorted(tokens, items)]) for items in sets]
    prefix = np.array([r.shape[0] - math.ceil(threshold * r.shape[0]) + 1 for r in ranked], dtype=np.int64)
    starts = np.zeros(len(sets) + 1, dtype=np.int64)
    np.cumsum([r.shape[0] for r in ranked], out=starts[1:])
    flat = np.concatenate(ranked)
    # postings: for each token, the sets that have it in their prefix
    owner = np.concatenate([np.full(p, n) for n, p in enumerate(prefix)])
    token = np.concatenate([r[:p] for r, p in zip(ranked, prefix)])
    sort = np.lexsort((owner, token))
    post_starts = np.zeros(tokens.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(token, minlength=tokens.shape[0]), out=post_starts[1:])
    first, second, similarity = _all_pairs(flat, starts, prefix, post_starts, owner[sort], threshold)
    pairs = encode(np.array(first, dtype=np.int64), np.array(second, dtype=np.int64), len(sets))
    order = np.argsort(pairs)
    return pairs[order], np.array(similarity)[order]


def band_pairs(bands: np.ndarray) -> np.ndarray:
    """Distinct pairs of rows sharing at least one band key."""
    size = bands.shape[0]
    found = []
    for band in range(bands.shape[1]):
        order = np.argsort(bands[:, band], kind="stable")
        keys = bands[order, band]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        for group in np.split(order, bounds):
            if group.shape[0] > 1:
                first, second = np.triu_indices(group.shape[0], 1)
                found.append(encode(group[first], group[second], size))
    return np.unique(np.concatenate(found)) if found else np.empty(0, np.int64)


def compare(name: str, path: Path, threshold: float) -> None:
    config = DedupConfig()
    keys = distinct_keys(path, config)
    sets = shingle_sets(keys, config)
    truth, _ = true_pairs(sets, threshold)
    print(f"\n## {name}: {len(keys):,} distinct keys, {truth.shape[0]:,} pairs at Jaccard >= {threshold}")
    print(f"{'scheme':<12}{'candidates':>12}{'recall':>9}{'precision':>11}{'verified':>10}{'recall':>9}"
          f"{'precision':>11}{'est - exact: mean':>19}{'sd':>7}")
    for scheme in SCHEMES:
        fp = Fingerprinter(num_perm=config.num_perm, seed=config.seed, ngram=config.ngram,
                           min_length=config.min_minhash_length, threshold=threshold, scheme=scheme)
        prints = fp.fingerprint(keys)
        candidates = band_pairs(prints.bands)
        size = len(keys)
        sig = prints.signatures
        estimate = (sig[candidates // size] == sig[candidates % size]).mean(axis=1)
        exact = jaccard(sets, candidates)
        verified = candidates[estimate >= threshold]
        hit_c = np.isin(candidates, truth).sum()
        hit_v = np.isin(verified, truth).sum()
        error = estimate - exact
        print(f"{scheme:<12}{candidates.shape[0]:>12,}{hit_c / max(truth.shape[0], 1):>9.4f}"
              f"{hit_c / max(candidates.shape[0], 1):>11.4f}{verified.shape[0]:>10,}"
              f"{hit_v / max(truth.shape[0], 1):>9.4f}{hit_v / max(verified.shape[0], 1):>11.4f}"
              f"{error.mean():>19.4f}{error.std():>7.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="folder of the evaluation sets")
    parser.add_argument("--threshold", type=float, default=DedupConfig().threshold)
    args = parser.parse_args()
    if not (args.eval / "score.py").exists():
        sys.exit(f"evaluation sets not found in {args.eval}; pass --eval DIR")
    compare("syndication_dev", args.eval / "syndication_dev" / "corpus.jsonl", args.threshold)
    compare("near-duplicate clusters", args.eval / "neardup_dev_clusters.jsonl", args.threshold)


if __name__ == "__main__":
    main()
