"""Match keys for a whole batch of lines at once.

:func:`match_keys` returns exactly ``[match_key(line, fold_digits) for line in
lines]`` (:func:`dedupe.normalize.match_key`), at a fraction of the cost:
Python's regular expressions scan Unicode text at 30-70 MB/s and a call per
line adds to it, where one pass of a compiled kernel over the batch's code
points does the digit folding and word extraction.

Why the batch equals the lines one by one:

* NFKC is applied per line (a cheap check over the joined text first: most
  batches need none), as ``match_key`` applies it;
* ``str.casefold`` maps each character on its own, without context, and no
  character folds to or from ``\\n``: folding the lines joined by ``\\n`` is
  folding each line (the tests check every code point);
* the kernel's word and digit classes are read from a table that Python's own
  ``\\w`` and ``\\d`` fill, code point by code point, and ``\\n`` separates
  words and lines alike.

Small batches (before the compiled kernels are loaded in the process:
:func:`~dedupe.fingerprint.batch_kernels`) take the per-line path.

>>> match_keys(["  The Café said: “Hello”, 2021!  ", "Page 12 of 40", "---"])
['the café said hello 0', 'page 0 of 0', '']
"""

from __future__ import annotations

import contextlib
import functools
import gc
import unicodedata
from collections.abc import Iterator, Sequence
from types import ModuleType

import numpy as np

from .fingerprint import batch_kernels
from .normalize import match_key

_UNICODE = 0x110000
#: Lines keyed in one pass: a chunk with one line that NFKC changes is
#: normalised line by line, and chunks this size stay in the CPU's caches
#: (75-90 MB/s, against 40-50 MB/s for 130,000 lines at once).
CHUNK_LINES = 4096


@functools.cache
def character_classes() -> np.ndarray:
    """Each code point's class bits for the kernel: word (``\\w``) 1, digit (``\\d``) 2.

    Filled by Python's own regular expressions over every code point, so the
    kernel splits words and folds digits exactly where ``match_key`` does.

    >>> classes = character_classes()
    >>> [int(classes[ord(c)]) for c in "a_5٣ -"]
    [1, 1, 3, 3, 0, 0]
    """
    import re

    from .kernels import DIGIT_CLASS, WORD_CLASS

    everything = np.arange(_UNICODE, dtype=np.uint32).tobytes().decode("utf-32-le", "surrogatepass")
    classes = np.zeros(_UNICODE, dtype=np.uint8)
    for bit, pattern in ((WORD_CLASS, r"\w+"), (DIGIT_CLASS, r"\d+")):
        for run in re.finditer(pattern, everything):  # a few hundred runs
            classes[run.start() : run.end()] |= bit
    classes.flags.writeable = False
    return classes


def match_keys(lines: Sequence[str], fold_digits: bool = True) -> list[str]:
    """:func:`~dedupe.normalize.match_key` of every line, computed for the batch at once.

    >>> match_keys(["For sale: $600,000", "ﬁne ＷＯＲＫ"], fold_digits=False)
    ['for sale 600 000', 'fine work']
    """
    if not lines:
        return []
    kernels = batch_kernels(sum(map(len, lines)))
    if kernels is None:
        return [match_key(line, fold_digits) for line in lines]
    keys: list[str] = []
    for start in range(0, len(lines), CHUNK_LINES):
        keys.extend(_chunk_keys(lines[start : start + CHUNK_LINES], fold_digits, kernels))
    return keys


def _chunk_keys(lines: Sequence[str], fold_digits: bool, kernels: ModuleType) -> list[str]:
    joined = "\n".join(lines)
    if joined.count("\n") != len(lines) - 1:
        # a line holding a line break (a raw line with its ending) keys as with "\r" there: both
        # separate words, neither composes under NFKC, and "\r" does not cut the batch's lines
        lines = [line.replace("\n", "\r") for line in lines]
        joined = "\n".join(lines)
    if joined.isascii():  # NFKC changes no ASCII text, and casefold is lower there (a faster loop)
        folded = joined.lower()
    else:
        if not unicodedata.is_normalized("NFKC", joined):
            joined = "\n".join([unicodedata.normalize("NFKC", line) for line in lines])
        folded = joined.casefold()
    points = np.frombuffer(folded.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    keys = kernels.match_key_points(points, character_classes(), fold_digits)
    return keys.tobytes().decode("utf-32-le", "surrogatepass").split("\n")


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """Python's cyclic garbage collector paused for a batch's per-line work, as it was after.

    A batch makes hundreds of thousands of short-lived lists, tuples and
    strings, none of them in a reference cycle: reference counting frees
    them. Meanwhile the collector would run a pass every few hundred
    allocations, and its older generations walk everything the process
    holds; on 5,000 generated documents that cost the fingerprint stage a
    fifth of its time.

    >>> with paused_collector():
    ...     gc.isenabled()
    False
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
