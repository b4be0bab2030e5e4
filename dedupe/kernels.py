"""Compiled fingerprint kernels: shingle hashes, MinHash signatures and band keys.

One call per batch over flat buffers: the code points of all keys back to back
with their start offsets, never a Python object per key or shingle. The
kernels are compiled with numba (a wheel, no compiler at install time) and
cached on disk, so only the first run on a machine pays for the compilation:
next to this file when its folder is writable, else in ``NUMBA_CACHE_DIR`` or
the user's cache folder (numba's own choice), and uncached when none of those
is writable.

They compute exactly what the numpy code in :mod:`dedupe.fingerprint`
computes (tests hold the two equal), so importing this module is the only
thing that changes when numba is installed. Integer arithmetic only, no
threads: results are the same on every machine and run.

>>> import numpy as np
>>> points = np.frombuffer("abcdefg".encode("utf-32-le"), dtype=np.uint32)
>>> hashes = char_shingle_hashes(points, np.array([0, 7]), 5)
>>> hashes.shape, hashes.dtype.name
((3,), 'uint32')
"""

from __future__ import annotations

import re

import numpy as np
from numba import njit
from numba.core.types import Array, boolean, int64, uint8, uint16, uint32, uint64, void  # noqa: F401 (signatures)

_U32 = np.uint32
_U64 = np.uint64
_MASK32 = _U64(0xFFFFFFFF)
_ROLL = _U64(0x9E3779B97F4A7C15)
_POINT_SALT = _U64(0x632BE59BD9B4E019)
_BAND_MUL = _U64(0xBF58476D1CE4E5B9)
# Densification draws: an odd multiplier and an offset distinct from the others.
_DRAW_MUL = _U64(0xD6E8FEB86659FD93)
_DRAW_SALT = _U64(0xA0761D6478BD642F)
_M64_1 = _U64(0xFF51AFD7ED558CCD)
_M64_2 = _U64(0xC4CEB9FE1A85EC53)
_M32_1 = _U32(0x85EBCA6B)
_M32_2 = _U32(0xC2B2AE35)
_S13 = _U32(13)
_S16 = _U32(16)
_S32 = _U64(32)
_S33 = _U64(33)
_EMPTY = _U32(0xFFFFFFFF)
_LAST = _U64(0xFFFFFFFE)


def _compile(signature: str | list[str]):  # type: ignore[no-untyped-def]
    """``njit`` with an on-disk cache where numba finds a writable folder for one.

    In the signature ``in(T)`` is a read-only C-contiguous 1-d array (numpy
    views of bytes are read-only; writable arrays convert to it).
    """
    signatures = [re.sub(r"in\((\w+)\)", r"Array(\1, 1, 'C', readonly=True)", one)
                  for one in ([signature] if isinstance(signature, str) else signature)]

    def decorate(function):  # type: ignore[no-untyped-def]
        try:
            return njit(signatures, cache=True, nogil=True)(function)
        except RuntimeError:  # numba found no writable cache folder: compile in memory
            return njit(signatures, nogil=True)(function)

    return decorate


@njit(inline="always")
def _fmix64(value):  # type: ignore[no-untyped-def]
    value = (value ^ (value >> _S33)) * _M64_1
    value = (value ^ (value >> _S33)) * _M64_2
    return value ^ (value >> _S33)


@njit(inline="always")
def _fmix32(value):  # type: ignore[no-untyped-def]
    value = _U32((value ^ (value >> _S16)) * _M32_1)
    value = _U32((value ^ (value >> _S13)) * _M32_2)
    return _U32(value ^ (value >> _S16))


@_compile("void(in(uint32), in(int64), int64, uint32[::1])")
def _char_shingle_hashes(points, starts, ngram, out):  # type: ignore[no-untyped-def]
    # the polynomial of a window slides: drop the oldest term, shift, add the
    # newest (exact in arithmetic modulo 2**64), with the mixed points of the
    # window in a ring
    oldest = _U64(1)
    for _ in range(ngram - 1):
        oldest *= _ROLL
    ring = np.empty(ngram, dtype=np.uint64)
    slot = 0
    for key in range(starts.shape[0] - 1):
        begin, end = starts[key], starts[key + 1]
        if end - begin < ngram:
            continue
        combined = _U64(0)
        for i in range(ngram):
            mixed = _fmix64(_U64(points[begin + i]) * _ROLL + _POINT_SALT)
            ring[i] = mixed
            combined = combined * _ROLL + mixed
        out[slot] = _U32(_fmix64(combined) & _MASK32)
        slot += 1
        place = 0
        for i in range(begin + ngram, end):
            mixed = _fmix64(_U64(points[i]) * _ROLL + _POINT_SALT)
            combined = (combined - ring[place] * oldest) * _ROLL + mixed
            ring[place] = mixed
            place = place + 1 if place + 1 < ngram else 0
            out[slot] = _U32(_fmix64(combined) & _MASK32)
            slot += 1


def char_shingle_hashes(points: np.ndarray, starts: np.ndarray, ngram: int) -> np.ndarray:
    """The 32-bit hash of every character ``ngram`` inside each key, keys back to back.

    ``points`` holds the code points of all keys (uint32), key ``i`` being
    ``points[starts[i]:starts[i + 1]]``; a key shorter than ``ngram`` has
    no shingle.

    >>> points = np.frombuffer("abcdefxbcdef".encode("utf-32-le"), dtype=np.uint32)
    >>> hashes = char_shingle_hashes(points, np.array([0, 6, 12]), 5)
    >>> bool(hashes[1] == hashes[3]), bool(hashes[0] == hashes[2])
    (True, False)
    """
    starts = np.ascontiguousarray(starts, dtype=np.int64)
    out = np.empty(int(np.maximum(np.diff(starts) - ngram + 1, 0).sum()), dtype=_U32)
    _char_shingle_hashes(np.ascontiguousarray(points, dtype=_U32), starts, ngram, out)
    return out


@_compile("void(in(uint32), in(int64), in(uint32), in(uint32), uint32[:, ::1])")
def _affine_minhash(hashes, starts, a, b, out):  # type: ignore[no-untyped-def]
    perms = a.shape[0]
    for key in range(starts.shape[0] - 1):
        row = out[key]
        for k in range(perms):
            row[k] = _EMPTY
        i, end = starts[key], starts[key + 1]
        # four shingles per pass over the permutations: the row, a and b are
        # loaded and stored once for four (40 % less time than one at a time)
        while i + 4 <= end:
            h0, h1 = _fmix32(hashes[i]), _fmix32(hashes[i + 1])
            h2, h3 = _fmix32(hashes[i + 2]), _fmix32(hashes[i + 3])
            for k in range(perms):
                ak, bk = a[k], b[k]
                # a tree of two-argument minima: independent compares the CPU overlaps
                low = min(min(_U32(ak * h0 + bk), _U32(ak * h1 + bk)),  # noqa: PLW3301
                          min(_U32(ak * h2 + bk), _U32(ak * h3 + bk)))
                row[k] = min(row[k], low)
            i += 4
        while i < end:
            hashed = _fmix32(hashes[i])
            for k in range(perms):
                row[k] = min(row[k], _U32(a[k] * hashed + b[k]))
            i += 1


def affine_minhash(hashes: np.ndarray, starts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """datasketch's ``affine32`` MinHash of each key's shingle hashes: one row per key.

    Each shingle hash is mixed (MurmurHash3's 32-bit finaliser), then every
    permutation ``a*h + b mod 2**32`` is applied and the minimum kept.

    >>> sig = affine_minhash(np.array([1, 2, 3], np.uint32), np.array([0, 3]),
    ...                      np.array([3, 5], np.uint32), np.array([7, 11], np.uint32))
    >>> sig.shape
    (1, 2)
    """
    out = np.empty((starts.shape[0] - 1, a.shape[0]), dtype=_U32)
    _affine_minhash(np.ascontiguousarray(hashes, dtype=_U32), np.ascontiguousarray(starts, dtype=np.int64),
                    np.ascontiguousarray(a, dtype=_U32), np.ascontiguousarray(b, dtype=_U32), out)
    return out


#: Draws per bin looked up in a table rather than computed: a bin is still
#: empty after 32 draws with probability (1 - filled/bins)**32, which is
#: below 1e-4 from a quarter of the bins filled on.
TABLED_DRAWS = 32  # at least 4: the first four are read unconditionally


@njit(inline="always")
def _draw(bin_, attempt, salt, bins):  # type: ignore[no-untyped-def]
    mixed = _fmix64((bin_ << _S32 | attempt) * _DRAW_MUL + (salt ^ _DRAW_SALT))
    return ((mixed >> _S32) * bins) >> _S32


@_compile("void(uint64, uint16[:, ::1])")
def _draw_table(salt, out):  # type: ignore[no-untyped-def]
    bins = _U64(out.shape[0])
    for k in range(out.shape[0]):
        for attempt in range(out.shape[1]):
            out[k, attempt] = np.uint16(_draw(_U64(k), _U64(attempt), salt, bins))


def draw_table(bins: int, salt: int) -> np.ndarray:
    """The first :data:`TABLED_DRAWS` densification draws of every bin (uint8 up to 256 bins).

    >>> table = draw_table(16, 7)
    >>> table.shape, table.dtype.name, int(table.max()) < 16
    ((16, 32), 'uint8', True)
    """
    out = np.empty((bins, TABLED_DRAWS), dtype=np.uint16)
    _draw_table(_U64(salt), out)
    # a table of bytes stays in the first-level cache: a third faster
    return out.astype(np.uint8) if bins <= 256 else out


_OPH = "void(in(uint32), in(int64), uint64, Array({draw}, 2, 'C', readonly=True), uint32[:, ::1])"


@_compile([_OPH.format(draw="uint8"), _OPH.format(draw="uint16")])
def _one_permutation_minhash(hashes, starts, salt, draws, out):  # type: ignore[no-untyped-def]
    width = out.shape[1]
    bins = _U64(width)
    tabled = draws.shape[1]
    filled = np.empty(width, dtype=np.bool_)
    for key in range(starts.shape[0] - 1):
        row = out[key]
        for k in range(width):
            row[k] = _EMPTY
        for i in range(starts[key], starts[key + 1]):
            mixed = _fmix64(_U64(hashes[i]) ^ salt)
            slot = ((mixed >> _S32) * bins) >> _S32
            # values stop one short of the empty mark: a bin is empty exactly when it holds it
            value = _U32(min(mixed & _MASK32, _LAST))
            row[slot] = min(row[slot], value)
        for k in range(width):
            filled[k] = row[k] != _EMPTY
        # optimal densification: an empty bin copies the first filled bin of its
        # own sequence of draws; the draws depend on the bin alone, so two keys
        # with the same filled bins copy from the same places. The first four
        # draws are looked at without branches (a filled bin is its own donor):
        # whether a bin is filled is a coin toss that a branch predictor loses.
        for k in range(width):
            donor = np.int64(draws[k, 3])
            donor = np.int64(draws[k, 2]) if filled[draws[k, 2]] else donor
            donor = np.int64(draws[k, 1]) if filled[draws[k, 1]] else donor
            donor = np.int64(draws[k, 0]) if filled[draws[k, 0]] else donor
            donor = k if filled[k] else donor
            attempt = 4
            while not filled[donor]:
                if attempt < tabled:
                    donor = np.int64(draws[k, attempt])
                else:
                    donor = np.int64(_draw(_U64(k), _U64(attempt), salt, bins))
                attempt += 1
            row[k] = row[donor]


def one_permutation_minhash(hashes: np.ndarray, starts: np.ndarray, salt: int, draws: np.ndarray) -> np.ndarray:
    """One permutation hashing with optimal densification: one hash per shingle.

    Each shingle hash is mixed once with ``salt``; its high half picks one of
    the bins (as many as ``draws`` has rows: :func:`draw_table` of the same
    salt) and its low half competes for that bin's minimum. A bin no shingle
    fell into copies the first filled bin in a fixed sequence of draws of its
    own (Shrivastava, ICML 2017), so equal slots still estimate the Jaccard
    similarity.

    >>> sig = one_permutation_minhash(np.arange(40, dtype=np.uint32), np.array([0, 20, 40]), 1, draw_table(16, 1))
    >>> sig.shape, bool((sig[0] != sig[1]).any())
    ((2, 16), True)
    """
    out = np.empty((starts.shape[0] - 1, draws.shape[0]), dtype=_U32)
    _one_permutation_minhash(np.ascontiguousarray(hashes, dtype=_U32), np.ascontiguousarray(starts, dtype=np.int64),
                             _U64(salt), np.ascontiguousarray(draws), out)
    return out


@_compile("void(Array(uint32, 2, 'C', readonly=True), int64, int64, uint64[:, ::1])")
def _band_keys(signatures, first, rows, out):  # type: ignore[no-untyped-def]
    for key in range(signatures.shape[0]):
        for band in range(out.shape[1]):
            folded = _U64(0)
            for row in range((first + band) * rows, (first + band + 1) * rows):
                folded = (folded ^ _U64(signatures[key, row])) * _BAND_MUL
            out[key, band] = _fmix64(folded)


def band_keys(signatures: np.ndarray, bands: int, rows: int, first: int = 0) -> np.ndarray:
    """One 64-bit key per band and signature, bands ``first`` onward, equal to
    :func:`dedupe.fingerprint.band_key`'s.

    >>> band_keys(np.zeros((2, 4), np.uint32), 2, 2).shape
    (2, 2)
    >>> bool((band_keys(np.arange(8, dtype=np.uint32).reshape(2, 4), 1, 2, first=1)[:, 0]
    ...       == band_keys(np.arange(8, dtype=np.uint32).reshape(2, 4), 2, 2)[:, 1]).all())
    True
    """
    out = np.empty((signatures.shape[0], bands), dtype=_U64)
    _band_keys(np.ascontiguousarray(signatures, dtype=_U32), first, rows, out)
    return out


#: Bits of :func:`match_key_points`' class table.
WORD_CLASS = 1
DIGIT_CLASS = 2


@_compile("int64(in(uint32), in(uint8), boolean, uint32[::1])")
def _match_key_points(points, classes, fold_digits, out):  # type: ignore[no-untyped-def]
    size = 0
    line_has_words = False
    in_word = False
    in_digits = False
    for point in points:
        if point == 10:
            out[size] = point
            size += 1
            line_has_words = in_word = in_digits = False
            continue
        kind = classes[point]
        if not kind & WORD_CLASS:
            in_word = in_digits = False
            continue
        if not in_word:
            if line_has_words:
                out[size] = 32
                size += 1
            in_word = line_has_words = True
        if fold_digits and kind & DIGIT_CLASS:
            if not in_digits:
                out[size] = 48
                size += 1
                in_digits = True
        else:
            out[size] = point
            size += 1
            in_digits = False
    return size


def match_key_points(points: np.ndarray, classes: np.ndarray, fold_digits: bool) -> np.ndarray:
    """Words of each ``\\n``-separated line, one space apart, digit runs as ``0`` with ``fold_digits``.

    ``points`` are the code points of casefolded NFKC text; ``classes`` gives
    each code point's :data:`WORD_CLASS` and :data:`DIGIT_CLASS` bits (a
    code point that is neither, like ``\\n``, separates words).

    >>> classes = np.zeros(0x110000, np.uint8); classes[97:123] = WORD_CLASS; classes[48:58] = 3
    >>> text = "ab, 12c\\n-- d"
    >>> out = match_key_points(np.frombuffer(text.encode("utf-32-le"), np.uint32), classes, True)
    >>> out.tobytes().decode("utf-32-le")
    'ab 0c\\nd'
    """
    out = np.empty(points.shape[0], dtype=_U32)  # a key is never longer than its text
    size = _match_key_points(np.ascontiguousarray(points, dtype=_U32), classes, fold_digits, out)
    return out[:size]
