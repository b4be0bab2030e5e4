"""Paragraph fingerprints: exact hashes, batched MinHash signatures, LSH band keys.

Everything here works on whole batches of paragraphs; there is no Python
object per shingle. Two signature schemes give ``num_perm`` 32-bit slots whose
share of equal slots estimates the Jaccard similarity of two keys' shingles:

* ``datasketch`` follows datasketch's ``affine32`` MinHash exactly (same
  permutation parameters for the same seed, the same MurmurHash3 pre-mix,
  ``a*h + b mod 2**32``), with :func:`shingle_hash32` as the hash function,
  so a signature computed here equals
  ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)`` fed the same
  shingles and can go straight into ``datasketch.MinHashLSH``;
* ``oph`` is one permutation hashing with optimal densification: one hash per
  shingle instead of ``num_perm``.

The work runs in compiled kernels (:mod:`dedupe.kernels`, numba) once a
fingerprinter, or the process's batch work as a whole (:func:`batch_kernels`),
has seen :data:`KERNEL_MIN_CHARS` characters, and in numpy before that
(loading the kernels costs more than small inputs take); both give the same
numbers, bit for bit.

>>> fp = Fingerprinter(num_perm=16)
>>> batch = fp.fingerprint(["the cat sat on the mat", "the cat sat on a mat", "hello"])
>>> batch.minhashed.tolist()
[True, True, False]
>>> round(float(jaccard_estimate(batch.signatures[0], batch.signatures[1])), 2) > 0.2
True
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import os
import re
import sys
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import xxhash

from .config import (
    MAX_MINHASH_CHARS,
    MIN_MINHASH_LENGTH,
    NGRAM,
    NUM_PERM,
    SCHEME,
    SEED,
    SHINGLE,
    THRESHOLD,
    ShingleKind,
    SignatureScheme,
)
from .errors import ConfigError, MissingExtraError

if TYPE_CHECKING:
    from datasketch import LeanMinHash

logger = logging.getLogger(__name__)

#: The signature schemes (:class:`dedupe.config.DedupConfig`'s ``scheme``).
SCHEMES: tuple[SignatureScheme, ...] = typing.get_args(SignatureScheme)
#: Names the arithmetic every fingerprint of each signature scheme comes from,
#: recorded by an index so that one built with other arithmetic is refused:
#: shingle hashes (character shingles: code points mixed by fmix64 and rolled
#: into a 64-bit polynomial hash; word shingles: xxh3-64 per word, rolled the
#: same way; both finished by fmix64 and cut to 32 bits), the MinHash
#: (datasketch's affine32: fmix32, then a*h+b mod 2**32; or one permutation
#: hashing with optimal densification), band keys (rows xor-multiplied, then
#: fmix64) and the exact hash (xxh3-64). Change it whenever any of them changes.
HASH_SCHEMES: dict[SignatureScheme, str] = {
    "datasketch": "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:affine32/bands:xormul-fmix64/exact:xxh3-64",
    "oph": "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:oph-optimal-densification-v1"
           "/bands:xormul-fmix64/exact:xxh3-64",
}
#: The default scheme's arithmetic.
HASH_SCHEME = HASH_SCHEMES[SCHEME]
#: Characters of keys a fingerprinter takes in numpy before it loads the
#: compiled kernels: loading numba and the cached kernels costs 0.3-0.6 s of
#: CPU in a process (about 2 s to compile them on a machine's first run), as
#: much as numpy takes for 2-4 million characters.
KERNEL_MIN_CHARS = 1 << 21
#: Signatures from which band keys are worth loading the compiled kernels
#: for: numpy takes about 1.5 µs per signature for all 32 bands, the kernels
#: a fifth of that, and loading them 0.3-0.6 s.
KERNEL_MIN_BAND_ROWS = 1 << 19

_U32 = np.uint32
_U64 = np.uint64
_ROLL = _U64(0x9E3779B97F4A7C15)  # odd 64-bit multiplier (golden ratio)
_POINT_SALT = _U64(0x632BE59BD9B4E019)
_BAND_MUL = _U64(0xBF58476D1CE4E5B9)
_MASK32 = _U64(0xFFFFFFFF)
_EMPTY = _U32(0xFFFFFFFF)
_DRAW_MUL = _U64(0xD6E8FEB86659FD93)
_DRAW_SALT = _U64(0xA0761D6478BD642F)
_TABLED_DRAWS = 32  # dedupe.kernels.TABLED_DRAWS, without importing numba
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
        return _fmix64(points.astype(_U64) * _ROLL + _POINT_SALT)


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


@functools.cache
def load_kernels() -> ModuleType | None:
    """The compiled kernels (:mod:`dedupe.kernels`), or None when numba is not installed.

    Imported once per process, on first use: numba and the kernels take
    0.3-0.6 s to load (and about 2 s to compile on a machine's first run,
    cached after that).

    >>> load_kernels() is None or hasattr(load_kernels(), "affine_minhash")
    True
    """
    try:
        from . import kernels
    except ImportError as exc:  # no numba wheel for this platform: numpy gives the same numbers
        logger.info("compiled fingerprint kernels unavailable (%s); using numpy", exc)
        return None
    return kernels


#: Characters this process has handed to batch work that may run compiled (match keys,
#: fingerprints), all callers together: the first to take the tally past
#: :data:`KERNEL_MIN_CHARS` loads the kernels for every one of them.
_handed_chars = [0]


def batch_kernels(chars: int) -> ModuleType | None:
    """The compiled kernels for a batch of ``chars`` characters, or None to stay in Python and numpy.

    The kernels are worth loading once the process has handed batches of
    :data:`KERNEL_MIN_CHARS` characters in all, to any caller: a run's
    first few batches go through several stages each, and counting each
    stage on its own kept a pass's first tenth on the slower path. Either
    path gives the same results, so the choice changes no output.

    >>> batch_kernels(0) is None or hasattr(batch_kernels(0), "match_key_points")
    True
    """
    _handed_chars[0] += chars
    if "dedupe.kernels" in sys.modules or _handed_chars[0] >= KERNEL_MIN_CHARS:
        return load_kernels()
    return None


def kernels_cached() -> bool:
    """Whether numba's on-disk cache holds every compiled kernel of :mod:`dedupe.kernels`, as it is now.

    Read from the file system, without loading numba: each kernel has an
    index file ``kernels.<name>-<line>.py<version>.nbi`` in numba's cache
    folder for this package (beside the module, or under
    ``NUMBA_CACHE_DIR``), written when the kernel was compiled; one older
    than the module's source is stale. A cache elsewhere (numba's per-user
    folder, when neither is writable) reads as not cached.

    >>> isinstance(kernels_cached(), bool)
    True
    """
    source = Path(__file__).with_name("kernels.py")
    try:
        text = source.read_text(encoding="utf-8")
        changed = source.stat().st_mtime
    except OSError:
        return False
    lines = text.splitlines()
    # numba names a kernel's files by its first line, the decorator's
    names = [f"kernels.{match.group(1)}-{number}.py{sys.version_info[0]}{sys.version_info[1]}.nbi"
             for number, (line, after) in enumerate(itertools.pairwise(lines), start=1)
             if line.startswith("@_compile(") and (match := re.match(r"def (\w+)\(", after))]
    cache_dir = os.environ.get("NUMBA_CACHE_DIR")
    if cache_dir:
        # numba's subfolder for a source folder: its name and the SHA-1 of its path
        where = str(source.parent.resolve())
        folder = Path(cache_dir) / f"{Path(where).name}_{hashlib.sha1(where.encode()).hexdigest()}"
    else:
        folder = source.parent / "__pycache__"
    try:
        return bool(names) and all((folder / name).stat().st_mtime >= changed for name in names)
    except OSError:
        return False


def warm_kernels() -> None:
    """Compile the kernels into numba's cache here, if it does not hold them, before workers start.

    Each worker process loads the kernels on its own: on a cold cache every
    one of them would compile them (about 2 s of CPU each); compiled here
    once, they all load them from the cache (about 0.5 s each).
    """
    if not kernels_cached():
        load_kernels()


def oph_salt(seed: int) -> int:
    """The 64-bit salt one permutation hashing mixes shingle hashes with, from a seed.

    >>> oph_salt(1) != oph_salt(2)
    True
    """
    return int(_fmix64(np.array([seed], dtype=_U64) * _ROLL + _POINT_SALT)[0])


def _draws(bins: np.ndarray, attempt: int, salt: int, width: int) -> np.ndarray:
    """Densification draw ``attempt`` of each bin in ``bins``: a bin in ``[0, width)``."""
    with np.errstate(over="ignore"):
        mixed = _fmix64(((bins.astype(_U64) << _U64(32)) | _U64(attempt)) * _DRAW_MUL + (_U64(salt) ^ _DRAW_SALT))
        return (((mixed >> _U64(32)) * _U64(width)) >> _U64(32)).astype(np.int64)


def draw_table(width: int, salt: int) -> np.ndarray:
    """The first densification draws of every bin (as :func:`dedupe.kernels.draw_table`).

    >>> draw_table(16, 7).shape
    (16, 32)
    """
    table = np.column_stack([_draws(np.arange(width), attempt, salt, width) for attempt in range(_TABLED_DRAWS)])
    return table.astype(np.uint8 if width <= 256 else np.uint16)


def _one_permutation_minhash(hashes: np.ndarray, counts: np.ndarray, salt: int, width: int) -> np.ndarray:
    """numpy twin of :func:`dedupe.kernels.one_permutation_minhash` (same numbers)."""
    keys = counts.shape[0]
    out = np.full((keys, width), _EMPTY, dtype=_U32)
    if not keys:
        return out
    with np.errstate(over="ignore"):
        mixed = _fmix64(hashes.astype(_U64) ^ _U64(salt))
    slot = ((mixed >> _U64(32)) * _U64(width)) >> _U64(32)
    value = np.minimum(mixed & _MASK32, _U64(0xFFFFFFFE)).astype(_U32)
    np.minimum.at(out, (np.repeat(np.arange(keys), counts), slot.astype(np.int64)), value)
    filled = out != _EMPTY
    donor = np.broadcast_to(np.arange(width), (keys, width)).copy()
    rows, bins = np.nonzero(~filled)
    table = draw_table(width, salt)
    attempt = 0
    while rows.shape[0]:
        drawn = table[bins, attempt].astype(np.int64) if attempt < _TABLED_DRAWS else _draws(bins, attempt, salt, width)
        hit = filled[rows, drawn]
        donor[rows[hit], bins[hit]] = drawn[hit]
        rows, bins = rows[~hit], bins[~hit]
        attempt += 1
    return np.take_along_axis(out, donor, axis=1)


class Fingerprinter:
    """Computes :class:`Fingerprints` for batches of match keys.

    ``scheme`` is one of :data:`SCHEMES`. ``compiled`` chooses between the
    compiled kernels and numpy, which give the same numbers: None uses the
    kernels once :data:`KERNEL_MIN_CHARS` characters have been seen (and
    numpy throughout where numba is not installed), True from the first
    batch, False never.

    Every other default is the configuration's (:class:`~dedupe.config.DedupConfig`).

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
        scheme: SignatureScheme = SCHEME,
        compiled: bool | None = None,
    ) -> None:
        if shingle not in ("char", "word"):
            raise ValueError("shingle must be 'char' or 'word'")
        if scheme not in SCHEMES:
            raise ConfigError(f"scheme must be one of {', '.join(SCHEMES)}")
        self.num_perm = num_perm
        self.seed = seed
        self.ngram = ngram
        self.shingle = shingle
        self.scheme = scheme
        self.compiled = compiled
        # min_length counts characters of the key for char shingles, words for word shingles
        self.min_length = max(min_length, ngram)
        self.max_length = max_length
        self.a, self.b = permutations(num_perm, seed)
        self.salt = oph_salt(seed)
        if bands:
            self.bands, self.rows = bands, num_perm // bands
        else:
            self.bands, self.rows = optimal_bands(threshold, num_perm)
        self._chars_seen = 0
        self._draws: np.ndarray | None = None

    def _kernels(self, chars: int) -> ModuleType | None:
        """The compiled kernels for a batch of ``chars`` characters, or None for numpy."""
        self._chars_seen += chars
        if self.compiled is False:
            return None
        if self.compiled is None and self._chars_seen < KERNEL_MIN_CHARS:
            return batch_kernels(chars)  # the process may have seen enough already
        return load_kernels()

    def fingerprint(
        self, keys: Sequence[str], exact_keys: Sequence[str] | None = None, with_bands: bool = True
    ) -> Fingerprints:
        """Fingerprint match keys; keys that are too short get the exact hash only.

        ``exact_keys`` may give other keys for the exact hash (dedupe keeps the
        digits of short lines there: "For sale: $600,000" is not "$599,900").
        """
        source = keys if exact_keys is None else exact_keys
        exact = np.fromiter((exact_hash(k) for k in source), dtype=_U64, count=len(keys))
        lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        if self.shingle == "char":
            minhashed = (lengths >= self.min_length) & (lengths <= self.max_length)
        else:
            minhashed = np.fromiter((length <= self.max_length and len(k.split()) >= self.min_length
                                     for k, length in zip(keys, lengths)), dtype=bool, count=len(keys))
        chosen = [k for k, m in zip(keys, minhashed) if m]
        kernels = self._kernels(int(lengths[minhashed].sum()))
        if self.shingle == "char":
            hashes, counts = self._char_shingles(chosen, kernels)
        else:
            hashes, counts = self._word_shingles(chosen)
        signatures = self._signatures(hashes, counts, kernels)
        if not with_bands:
            bands = np.empty((signatures.shape[0], 0), _U64)
        elif kernels is not None:
            bands = kernels.band_keys(signatures, self.bands, self.rows)
        else:
            bands = self.band_keys(signatures)
        return Fingerprints(exact, minhashed, signatures, bands)

    def lean_minhashes(self, keys: Sequence[str]) -> list[LeanMinHash | None]:
        """The signatures of match keys as datasketch ``LeanMinHash`` objects.

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
        if self.scheme != "datasketch":
            raise ConfigError(f"signatures as datasketch objects need the datasketch scheme, not {self.scheme!r}")
        try:
            from datasketch import LeanMinHash
        except ImportError as exc:
            raise MissingExtraError("signatures as datasketch objects", "datasketch", "datasketch") from exc
        batch = self.fingerprint(keys, with_bands=False)
        signatures = iter(batch.signatures)
        return [LeanMinHash(seed=self.seed, hashvalues=next(signatures), scheme="affine32") if minhashed else None
                for minhashed in batch.minhashed]

    def _char_shingles(self, keys: list[str], kernels: ModuleType | None = None) -> tuple[np.ndarray, np.ndarray]:
        """All character n-gram hashes of all keys, in one pass over their code points."""
        n = self.ngram
        if not keys:
            return np.empty(0, _U32), np.empty(0, np.int64)
        lengths = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        points = np.frombuffer("".join(keys).encode("utf-32-le"), dtype=np.uint32)
        counts = lengths - n + 1
        if kernels is not None:
            starts = np.zeros(len(keys) + 1, dtype=np.int64)
            np.cumsum(lengths, out=starts[1:])
            return kernels.char_shingle_hashes(points, starts, n), counts
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

    def _signatures(self, hashes: np.ndarray, counts: np.ndarray, kernels: ModuleType | None = None) -> np.ndarray:
        """One signature row per key from the keys' shingle hashes, back to back."""
        if kernels is not None:
            starts = np.zeros(counts.shape[0] + 1, dtype=np.int64)
            np.cumsum(counts, out=starts[1:])
            if self.scheme == "oph":
                if self._draws is None:
                    self._draws = kernels.draw_table(self.num_perm, self.salt)
                return kernels.one_permutation_minhash(hashes, starts, self.salt, self._draws)
            return kernels.affine_minhash(hashes, starts, self.a, self.b)
        if self.scheme == "oph":
            return _one_permutation_minhash(hashes, counts, self.salt, self.num_perm)
        return self._affine_signatures(hashes, counts)

    def _affine_signatures(self, hashes: np.ndarray, counts: np.ndarray) -> np.ndarray:
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
        return np.column_stack([_numpy_band_key(signatures, band, self.rows) for band in range(self.bands)]) \
            if signatures.shape[0] else np.empty((0, self.bands), _U64)


def band_key(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    """The 64-bit key of one band for every signature (rows ``band*rows`` onward).

    Computed band by band so the resolver never holds all band keys at once:
    in the compiled kernels once they are loaded in the process or the
    signatures are :data:`KERNEL_MIN_BAND_ROWS` or more (five times faster),
    else in numpy; the keys are the same.

    >>> band_key(np.array([[1, 2, 3, 4]], np.uint32), 1, 2).dtype.name
    'uint64'
    """
    if "dedupe.kernels" in sys.modules or signatures.shape[0] >= KERNEL_MIN_BAND_ROWS:
        kernels = load_kernels()
        if kernels is not None:
            return kernels.band_keys(signatures, 1, rows, first=band)[:, 0]
    return _numpy_band_key(signatures, band, rows)


def _numpy_band_key(signatures: np.ndarray, band: int, rows: int) -> np.ndarray:
    part = signatures[:, band * rows : (band + 1) * rows].astype(_U64)
    keys = np.zeros(signatures.shape[0], dtype=_U64)
    with np.errstate(over="ignore"):
        for row in range(rows):
            keys = (keys ^ part[:, row]) * _BAND_MUL
    return _fmix64(keys)


def _token_hash(word: str) -> int:
    return xxhash.xxh3_64_intdigest(word.encode("utf-8"))
