"""Paragraph fingerprints: exact hashes, batched MinHash signatures, LSH band keys.

Everything here works on whole batches of paragraphs as numpy arrays; there is
no Python object per shingle. The MinHash follows datasketch's ``affine32``
scheme exactly (same permutation parameters for the same seed, the same
MurmurHash3 pre-mix, ``a*h + b mod 2**32``), with :func:`shingle_hash32` as the
hash function, so a signature computed here equals
``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)`` fed the same
shingles and can go straight into ``datasketch.MinHashLSH``.

>>> fp = Fingerprinter(num_perm=16)
>>> batch = fp.fingerprint(["the cat sat on the mat", "the cat sat on a mat", "hello"])
>>> batch.minhashed.tolist()
[True, True, False]
>>> round(float(jaccard_estimate(batch.signatures[0], batch.signatures[1])), 2) > 0.2
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from .config import MAX_MINHASH_CHARS, MIN_MINHASH_LENGTH, NGRAM, NUM_PERM, SEED, SHINGLE, THRESHOLD, ShingleKind
from .errors import MissingExtraError

if TYPE_CHECKING:
    from datasketch import LeanMinHash

#: Names the arithmetic every fingerprint comes from, recorded by an index so
#: that one built with other arithmetic is refused: shingle hashes (character
#: shingles: code points mixed by fmix64 and rolled into a 64-bit polynomial
#: hash; word shingles: xxh3-64 per word, rolled the same way; both finished by
#: fmix64 and cut to 32 bits), datasketch's affine32 MinHash (fmix32, then
#: a*h+b mod 2**32), band keys (rows xor-multiplied, then fmix64) and the
#: exact hash (xxh3-64). Change it whenever any of them changes.
HASH_SCHEME = "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:affine32/bands:xormul-fmix64/exact:xxh3-64"

_U32 = np.uint32
_U64 = np.uint64
_ROLL = _U64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio)
_BAND_MUL = _U64(0xBF58476D1CE4E5B9)
# Rows of the shingle x permutation product computed at once: 32k rows of
# 128 permutations is 16 MB, large enough to vectorise well, small enough to
# keep memory flat whatever the batch size.
_SHINGLE_CHUNK = 1 << 15


# MurmurHash3 finalizer constants per width: (shift, multiplier, shift, multiplier, shift).
_FMIX = {
    32: (_U32(16), _U32(0x85EBCA6B), _U32(13), _U32(0xC2B2AE35), _U32(16)),
    64: (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(33), _U64(0xC4CEB9FE1A85EC53), _U64(33)),
}


def _fmix(values: np.ndarray, width: int) -> np.ndarray:
    """MurmurHash3's finalizer: an avalanching bijection on unsigned ``width``-bit arrays."""
    s1, m1, s2, m2, s3 = _FMIX[width]
    values = (values ^ (values >> s1)) * m1
    values = (values ^ (values >> s2)) * m2
    return values ^ (values >> s3)


def _fmix32(values: np.ndarray) -> np.ndarray:
    return _fmix(values, 32)


def _fmix64(values: np.ndarray) -> np.ndarray:
    return _fmix(values, 64)


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
    """Hash of one word shingle (space-joined words, UTF-8) as used in signatures.

    This is the ``hashfunc`` to give ``datasketch.MinHash`` to reproduce
    dedupe's word-shingle signatures (:func:`char_shingle_hash32` for
    character shingles).

    >>> 0 <= shingle_hash32(b"the cat sat") < 2**32
    True
    """
    words = shingle.decode("utf-8").split(" ")
    hashes = np.array([xxhash.xxh3_64_intdigest(w.encode("utf-8")) for w in words], dtype=_U64)
    return int(_combine(hashes, len(words))[0])


def char_shingle_hash32(shingle: bytes) -> int:
    """Hash of one character shingle (UTF-8) as used in signatures.

    The ``hashfunc`` to give ``datasketch.MinHash`` to reproduce dedupe's
    default (character shingle) signatures.

    >>> char_shingle_hash32("cat s".encode()) == char_shingle_hash32(b"cat s")
    True
    """
    points = np.frombuffer(shingle.decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    return int(_combine(_mix_points(points), points.shape[0])[0])


def _mix_points(points: np.ndarray) -> np.ndarray:
    # Code points are small integers; mixing them first spreads every bit of
    # the rolling hash instead of leaning on the finaliser alone.
    with np.errstate(over="ignore"):
        return _fmix64(points.astype(_U64) * _ROLL + _U64(0x632BE59BD9B4E019))


def shingles(key: str, ngram: int, kind: str = "word") -> list[bytes]:
    """The shingles of a match key, as datasketch would be fed them.

    >>> shingles("a b c d", 3)
    [b'a b c', b'b c d']
    >>> shingles("abcdef", 5, "char")
    [b'abcde', b'bcdef']
    """
    if kind == "char":
        return [key[i : i + ngram].encode("utf-8") for i in range(max(len(key) - ngram + 1, 1))]
    words = key.split()
    return [" ".join(words[i : i + ngram]).encode("utf-8") for i in range(max(len(words) - ngram + 1, 1))]


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

    Every default is the configuration's (:class:`~dedupe.config.DedupConfig`).

    >>> Fingerprinter(num_perm=8, bands=2).fingerprint(["one two three four five six seven eight"]).bands.shape
    (1, 2)
    """

    def __init__(
        self,
        num_perm: int = NUM_PERM,
        seed: int = SEED,
        ngram: int = NGRAM,
        min_length: int = MIN_MINHASH_LENGTH,
        threshold: float = THRESHOLD,
        bands: int = 0,
        shingle: ShingleKind = SHINGLE,
        max_length: int = MAX_MINHASH_CHARS,
    ) -> None:
        if shingle not in ("char", "word"):
            raise ValueError("shingle must be 'char' or 'word'")
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.shingle = shingle
        # min_length counts characters of the key for char shingles, words for word shingles
        self.min_length = max(min_length, ngram)
        self.max_length = max_length
        self.a, self.b = permutations(num_perm, seed)
        if bands:
            self.bands, self.rows = bands, num_perm // bands
        else:
            self.bands, self.rows = optimal_bands(threshold, num_perm)

    def fingerprint(
        self, keys: Sequence[str], exact_keys: Sequence[str] | None = None, with_bands: bool = True
    ) -> Fingerprints:
        """Fingerprint match keys; keys that are too short get the exact hash only.

        ``exact_keys`` may give other keys for the exact hash (dedupe keeps the
        digits of short lines there: "For sale: $600,000" is not "$599,900").
        """
        source = keys if exact_keys is None else exact_keys
        exact = np.fromiter((exact_hash(k) for k in source), dtype=_U64, count=len(keys))
        if self.shingle == "char":
            minhashed = np.fromiter((self.min_length <= len(k) <= self.max_length for k in keys),
                                    dtype=bool, count=len(keys))
            hashes, counts = self._char_shingles([k for k, m in zip(keys, minhashed) if m])
        else:
            minhashed = np.fromiter((len(k) <= self.max_length and len(k.split()) >= self.min_length
                                     for k in keys), dtype=bool, count=len(keys))
            hashes, counts = self._word_shingles([k for k, m in zip(keys, minhashed) if m])
        signatures = self._signatures(hashes, counts)
        bands = self.band_keys(signatures) if with_bands else np.empty((signatures.shape[0], 0), _U64)
        return Fingerprints(exact, minhashed, signatures, bands)

    def lean_minhashes(self, keys: Sequence[str]) -> list[LeanMinHash | None]:
        """The signatures of match keys as datasketch ``LeanMinHash`` objects (needs the datasketch extra).

        For an index kept with datasketch: each equals what
        ``datasketch.MinHash(num_perm, seed, hashfunc=char_shingle_hash32)``
        (:func:`shingle_hash32` for word shingles) computes from the key's
        :func:`shingles`, so it can be inserted into or queried against a
        ``datasketch.MinHashLSH`` next to such ones. ``None`` for a key
        too short or too long to get a signature.

        >>> from datasketch import MinHashLSH
        >>> fp = Fingerprinter()
        >>> story = "storm ada floods harbour towns along the northern coast overnight"
        >>> first, edited, short = fp.lean_minhashes([story, story.replace("overnight", "on monday"), "hello"])
        >>> lsh = MinHashLSH(threshold=0.5, num_perm=fp.num_perm)
        >>> lsh.insert("first", first)
        >>> lsh.query(edited), short
        (['first'], None)
        """
        try:
            from datasketch import LeanMinHash
        except ImportError as exc:
            raise MissingExtraError("signatures as datasketch objects", "datasketch", "datasketch") from exc
        batch = self.fingerprint(keys, with_bands=False)
        signatures = iter(batch.signatures)
        return [LeanMinHash(seed=self.seed, hashvalues=next(signatures), scheme="affine32") if minhashed else None
                for minhashed in batch.minhashed]

    def _char_shingles(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """All character n-gram hashes of all keys, in one vectorised pass."""
        n = self.ngram
        if not keys:
            return np.empty(0, _U32), np.empty(0, np.int64)
        lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
        points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)
        mixed = _mix_points(points)
        total = points.shape[0]
        windows = total - n + 1
        combined = mixed[:windows].copy()
        with np.errstate(over="ignore"):
            for offset in range(1, n):
                combined = combined * _ROLL + mixed[offset : offset + windows]
        hashed = (_fmix64(combined) & _U64(0xFFFFFFFF)).astype(_U32)
        # keep the windows that lie inside one key
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        counts = lengths - n + 1
        offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        index = np.repeat(starts, counts) + offsets
        return hashed[index], counts

    def _word_shingles(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        cache: dict[str, int] = {}
        parts: list[np.ndarray] = []
        for key in keys:
            words = key.split()
            token_hashes = np.fromiter(
                (cache[w] if w in cache else cache.setdefault(w, _token_hash(w)) for w in words),
                dtype=_U64,
                count=len(words),
            )
            parts.append(_combine(token_hashes, self.ngram))
        counts = np.fromiter((p.shape[0] for p in parts), dtype=np.int64, count=len(parts))
        return (np.concatenate(parts) if parts else np.empty(0, _U32)), counts

    def _signatures(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """Per-paragraph minima of the permuted shingle hashes, a chunk of shingles at a time."""
        out = np.empty((counts.shape[0], self.num_perm), dtype=_U32)
        ends = np.cumsum(counts)
        a, b = self.a[:, None], self.b[:, None]
        begin = 0
        start = 0
        while start < counts.shape[0]:
            # as many whole paragraphs as fit in one chunk (at least one)
            stop = max(int(np.searchsorted(ends, begin + _SHINGLE_CHUNK, side="right")), start + 1)
            end = int(ends[stop - 1])
            hashed = _fmix32(hashes[begin:end])
            # permutations x shingles, so that each per-paragraph minimum runs
            # over contiguous memory: reduceat along the last axis is ~20x
            # faster than along the first
            permuted = np.multiply(a, hashed[None, :])
            np.add(permuted, b, out=permuted)
            offsets = (np.concatenate([[begin], ends[start : stop - 1]]) - begin).astype(np.int64)
            out[start:stop] = np.minimum.reduceat(permuted, offsets, axis=1).T
            begin, start = end, stop
        return out

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        """One 64-bit key per band and paragraph: equal keys mean an equal band."""
        return np.column_stack([band_key(signatures, band, self.rows) for band in range(self.bands)]) \
            if signatures.shape[0] else np.empty((0, self.bands), _U64)


def band_key(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """The 64-bit key of one band for every signature (rows ``band*rows`` onward).

    Computed band by band so the resolver never holds all band keys at once.
    """
    part = signatures[:, band * rows : (band + 1) * rows].astype(_U64)
    keys = np.zeros(signatures.shape[0], dtype=_U64)
    with np.errstate(over="ignore"):
        for row in range(rows):
            keys = (keys ^ part[:, row]) * _BAND_MUL
    return _fmix64(keys)


def _token_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8"))
