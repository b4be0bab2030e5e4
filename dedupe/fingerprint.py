"""Paragraph fingerprints: exact hashes, batched MinHash signatures, LSH band keys.

Everything here works on whole batches of paragraphs as numpy arrays; there is
no Python object per shingle. The MinHash follows datasketch's ``affine32``
scheme exactly (same permutation parameters for the same seed, the same
MurmurHash3 pre-mix, ``a*h + b mod 2**32``), with :func:`shingle_hash32` as the
hash function, so a signature computed here equals
``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)`` fed the same
shingles and can go straight into ``datasketch.MinHashLSH``.

>>> fp = Fingerprinter(num_perm=16, ngram=2, min_words=5)
>>> batch = fp.fingerprint(["the cat sat on the mat", "the cat sat on a mat", "hello"])
>>> batch.minhashed.tolist()
[True, True, False]
>>> round(float(jaccard_estimate(batch.signatures[0], batch.signatures[1])), 2) > 0.2
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

#: Identifies the shingle hashing and permutation scheme; an index built with
#: another scheme is not comparable.
HASH_SCHEME = "xxh3-rk64/affine32-v1"

_U32 = np.uint32
_U64 = np.uint64
_ROLL = _U64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio)
_BAND_MUL = _U64(0xBF58476D1CE4E5B9)
# Rows of the shingle x permutation product computed at once: 32k rows of
# 128 permutations is 16 MB, large enough to vectorise well, small enough to
# keep memory flat whatever the batch size.
_SHINGLE_CHUNK = 1 << 15


def _fmix32(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> _U32(16))
    values = values * _U32(0x85EBCA6B)
    values = values ^ (values >> _U32(13))
    values = values * _U32(0xC2B2AE35)
    return values ^ (values >> _U32(16))


def _fmix64(values: np.ndarray) -> np.ndarray:
    values = values ^ (values >> _U64(33))
    values = values * _U64(0xFF51AFD7ED558CCD)
    values = values ^ (values >> _U64(33))
    values = values * _U64(0xC4CEB9FE1A85EC53)
    return values ^ (values >> _U64(33))


def exact_hash(key: str) -> int:
    """64-bit hash of a match key (xxh3), stable across runs and machines.

    >>> exact_hash("a b") == exact_hash("a b") != exact_hash("a c")
    True
    """
    return xxhash.xxh3_64_intdigest(key.encode("utf-8"))


def _combine(token_hashes: np.ndarray, ngram: int) -> np.ndarray:
    """Rolling polynomial hash of every run of ``ngram`` token hashes, as uint32."""
    count = token_hashes.shape[0] - ngram + 1
    combined = token_hashes[:count].copy()
    with np.errstate(over="ignore"):
        for offset in range(1, ngram):
            combined = combined * _ROLL + token_hashes[offset : offset + count]
        return (_fmix64(combined) & _U64(0xFFFFFFFF)).astype(_U32)


def shingle_hash32(shingle: bytes) -> int:
    """Hash of one shingle (space-joined words, UTF-8) as used in signatures.

    This is the ``hashfunc`` to give ``datasketch.MinHash`` to reproduce
    dedupe's signatures.

    >>> 0 <= shingle_hash32(b"the cat sat") < 2**32
    True
    """
    words = shingle.decode("utf-8").split(" ")
    hashes = np.array([xxhash.xxh3_64_intdigest(w.encode("utf-8")) for w in words], dtype=_U64)
    return int(_combine(hashes, len(words))[0])


def shingles(key: str, ngram: int) -> list[bytes]:
    """The word n-gram shingles of a match key, as datasketch would be fed them.

    >>> shingles("a b c d", 3)
    [b'a b c', b'b c d']
    """
    words = key.split()
    return [" ".join(words[i : i + ngram]).encode("utf-8") for i in range(len(words) - ngram + 1)]


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's ``affine32`` permutation parameters ``(a, b)`` for a seed.

    >>> a, b = permutations(4, 1)
    >>> bool((a % 2 == 1).all()), a.dtype.name
    (True, 'uint32')
    """
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=_U32) * _U32(2) + _U32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=_U32)
    return a, b


def optimal_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """LSH ``(bands, rows)`` minimising false positives plus false negatives.

    Same objective as datasketch's ``MinHashLSH`` with equal weights, with
    bands*rows equal to num_perm so that no permutation is wasted.

    >>> optimal_bands(0.6, 128)
    (16, 8)
    """
    grid = np.linspace(0.0, 1.0, 2001)
    best = (float("inf"), num_perm, 1)
    for bands in range(1, num_perm + 1):
        if num_perm % bands:
            continue
        rows = num_perm // bands
        prob = 1.0 - (1.0 - grid**rows) ** bands
        below = grid < threshold
        false_pos = np.trapezoid(prob[below], grid[below]) if below.any() else 0.0
        false_neg = np.trapezoid(1.0 - prob[~below], grid[~below])
        error = float(false_pos + false_neg)
        if error < best[0] - 1e-12:
            best = (error, bands, rows)
    return best[1], best[2]


def jaccard_estimate(first: np.ndarray, second: np.ndarray) -> float:
    """Share of equal signature slots: the MinHash estimate of Jaccard similarity."""
    return float(np.count_nonzero(first == second)) / first.shape[-1]


@dataclass(frozen=True, slots=True)
class Fingerprints:
    """Fingerprints of a batch of paragraphs.

    ``exact`` has one entry per paragraph; ``signatures`` and ``bands`` one row
    per paragraph with ``minhashed`` true, in the same order.
    """

    exact: np.ndarray  # uint64[n]
    minhashed: np.ndarray  # bool[n]
    signatures: np.ndarray  # uint32[m, num_perm]
    bands: np.ndarray  # uint64[m, bands]


class Fingerprinter:
    """Computes :class:`Fingerprints` for batches of match keys.

    >>> Fingerprinter(num_perm=8, bands=2).fingerprint(["one two three four five six seven eight"]).bands.shape
    (1, 2)
    """

    def __init__(
        self,
        num_perm: int = 128,
        seed: int = 1,
        ngram: int = 3,
        min_words: int = 8,
        threshold: float = 0.6,
        bands: int = 0,
    ) -> None:
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.min_words = max(min_words, ngram)
        self.a, self.b = permutations(num_perm, seed)
        if bands:
            self.bands, self.rows = bands, num_perm // bands
        else:
            self.bands, self.rows = optimal_bands(threshold, num_perm)

    def fingerprint(self, keys: Sequence[str]) -> Fingerprints:
        """Fingerprint match keys; keys with too few words get the exact hash only."""
        exact = np.fromiter((exact_hash(k) for k in keys), dtype=_U64, count=len(keys))
        cache: dict[str, int] = {}
        parts: list[np.ndarray] = []
        counts: list[int] = []
        minhashed = np.zeros(len(keys), dtype=bool)
        for index, key in enumerate(keys):
            words = key.split()
            if len(words) < self.min_words:
                continue
            token_hashes = np.fromiter(
                (cache[w] if w in cache else cache.setdefault(w, _token_hash(w)) for w in words),
                dtype=_U64,
                count=len(words),
            )
            shingle_hashes = np.unique(_combine(token_hashes, self.ngram))
            parts.append(shingle_hashes)
            counts.append(shingle_hashes.shape[0])
            minhashed[index] = True
        signatures = self._signatures(parts, counts)
        return Fingerprints(exact, minhashed, signatures, self.band_keys(signatures))

    def _signatures(self, parts: list[np.ndarray], counts: list[int]) -> np.ndarray:
        out = np.empty((len(parts), self.num_perm), dtype=_U32)
        start = 0
        while start < len(parts):
            stop, total = start, 0
            while stop < len(parts) and (total == 0 or total + counts[stop] <= _SHINGLE_CHUNK):
                total += counts[stop]
                stop += 1
            hashed = _fmix32(np.concatenate(parts[start:stop]))
            permuted = hashed[:, None] * self.a[None, :] + self.b[None, :]
            offsets = np.zeros(stop - start, dtype=np.int64)
            np.cumsum(counts[start : stop - 1], out=offsets[1:])
            out[start:stop] = np.minimum.reduceat(permuted, offsets, axis=0)
            start = stop
        return out

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One 64-bit key per band and paragraph: equal keys mean an equal band."""
        rows = signatures.reshape(signatures.shape[0], self.bands, self.rows).astype(_U64)
        keys = np.zeros((signatures.shape[0], self.bands), dtype=_U64)
        with np.errstate(over="ignore"):
            for row in range(self.rows):
                keys = (keys ^ rows[:, :, row]) * _BAND_MUL
        return _fmix64(keys)


def _token_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8"))
