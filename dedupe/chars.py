"""Per-line character counts for a whole page at once, from a code-point table.

The stripper asks the same questions of every line of a page: how many words,
how does it start and end, what share is uppercase, is the first letter
lowercase. Asked line by line in Python these loops over characters were most
of its time. :class:`PageChars` joins a page's lines, looks every code point
up once in a table of ``str``'s own predicates, and answers per line with
prefix sums; the results are exactly what the ``str`` methods give (property
tests hold each vectorised answer to its per-line definition).

>>> page = PageChars(["Storm Hits Coast", "It rained all night.", ""])
>>> page.words.tolist()
[3, 4, 0]
>>> page.ends_with(SENTENCE).tolist()
[False, True, False]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: The table is filled in blocks of this many code points, as pages use them:
#: building all 1.1M entries up front costs more than most runs' lookups.
BLOCK_BITS = 12
#: Characters counted at a time: per-character int64 work arrays stay this
#: small whatever the page (a 20 MB line once took 360 MB to count).
COUNT_BLOCK_CHARS = 1 << 20
_CODE_POINTS = 0x110000

SPACE, UPPER, LOWER, DIGIT, ALPHA = 1, 2, 4, 8, 16
#: ``| » « › • · /``: menu and breadcrumb separators.
SEPARATOR = 32
#: Characters a sentence (or a quote closing one) ends with.
SENTENCE = 64
#: ``. ! ? ; : ,``: a line ending so is not a headline.
UNHEADED = 128
COLON = 256
#: ``? !``: a title may end so.
QUESTION = 512
DOT = 1024

SENTENCE_END = '.!?"”’»)…\''
SEPARATOR_CHARS = "|»«›•·/"
UNHEADED_END = ".!?;:,"
_MEMBERS = ((SEPARATOR, SEPARATOR_CHARS), (SENTENCE, SENTENCE_END), (UNHEADED, UNHEADED_END),
            (COLON, ":"), (QUESTION, "?!"), (DOT, "."))


_TABLE = np.zeros(_CODE_POINTS, dtype=np.uint16)
_FILLED = np.zeros(_CODE_POINTS >> BLOCK_BITS, dtype=bool)
_PREDICATES = ((SPACE, str.isspace), (UPPER, str.isupper), (LOWER, str.islower), (DIGIT, str.isdigit),
               (ALPHA, str.isalpha))


def table(codes: np.ndarray) -> np.ndarray:
    """The class bits (``SPACE`` … ``DOT``) of each code point in ``codes``.

    >>> [int(bits) for bits in table(np.array([ord("A"), ord(" "), ord("7")], np.uint32))]
    [18, 1, 8]
    """
    wanted = np.bincount(codes >> BLOCK_BITS, minlength=_FILLED.shape[0]) > 0
    for block in np.flatnonzero(wanted & ~_FILLED):
        _fill(int(block))
    return _TABLE[codes]


def _fill(block: int) -> None:
    # Filling a block twice (two threads) writes the same values: no lock needed.
    first = block << BLOCK_BITS
    chars = [chr(c) for c in range(first, first + (1 << BLOCK_BITS))]
    bits = np.zeros(len(chars), dtype=np.uint16)
    for bit, test in _PREDICATES:
        bits |= np.fromiter(map(test, chars), np.bool_, len(chars)).astype(np.uint16) * bit
    for bit, members in _MEMBERS:
        for char in members:
            if first <= ord(char) < first + len(chars):
                bits[ord(char) - first] |= bit
    _TABLE[first:first + len(chars)] = bits
    _FILLED[block] = True


def classes_of(char: str) -> int:
    """The class bits of one character, for any code point (the table's definition).

    >>> classes_of("a") == LOWER | ALPHA, classes_of(".") == SENTENCE | UNHEADED | DOT
    (True, True)
    """
    bits = 0
    for bit, test in _PREDICATES:
        bits |= bit if test(char) else 0
    for bit, members in _MEMBERS:
        bits |= bit if char in members else 0
    return bits


class PageChars:
    """Character classes of a page's lines, answered per line without per-character Python loops.

    Lines are counted as ``str`` counts them: :attr:`words` is
    ``len(line.split())``, a *word start* is a non-space character after a
    space or at the start of the line.
    """

    def __init__(self, lines: Sequence[str]) -> None:
        n = len(lines)
        self.lengths = np.fromiter(map(len, lines), np.int64, n)
        self.bounds = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=self.bounds[1:])
        joined = "".join(lines)
        # looked up a block at a time: the code points of a 20 MB page as one
        # array, and the int64 indexes numpy makes of them, took 12 times its size
        self.classes = np.empty(len(joined), dtype=np.uint16)
        for lo in range(0, len(joined), COUNT_BLOCK_CHARS):
            piece = joined[lo:lo + COUNT_BLOCK_CHARS]
            codes = np.frombuffer(piece.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            self.classes[lo:lo + len(piece)] = table(codes)
        del joined
        starts = self.bounds[:-1]
        nonempty = self.lengths > 0
        self.first = np.zeros(n, dtype=np.uint16)
        self.last = np.zeros(n, dtype=np.uint16)
        self.first[nonempty] = self.classes[starts[nonempty]]
        self.last[nonempty] = self.classes[self.bounds[1:][nonempty] - 1]
        space = (self.classes & SPACE) > 0
        after_space = np.ones(self.classes.shape[0], dtype=bool)
        after_space[1:] = space[:-1]
        after_space[starts[nonempty]] = True
        self.word_starts = ~space & after_space
        counts = self.count(self.word_starts, space)
        self.words = counts[:, 0]
        self.nonspace = self.lengths - counts[:, 1]

    def select(self, keep: np.ndarray) -> PageChars:
        """The lines ``keep`` marks (one bool per line), as a :class:`PageChars` of those lines alone.

        Every answer is per line, so the selection answers as if its lines
        had been read on their own.

        >>> PageChars(["Storm Hits Coast", "", "It rained."]).select(np.array([False, True, True])).words.tolist()
        [0, 2]
        """
        out = PageChars.__new__(PageChars)
        out.lengths = self.lengths[keep]
        out.bounds = np.zeros(out.lengths.shape[0] + 1, dtype=np.int64)
        np.cumsum(out.lengths, out=out.bounds[1:])
        characters = np.repeat(keep, self.lengths)
        out.classes, out.word_starts = self.classes[characters], self.word_starts[characters]
        out.first, out.last, out.words, out.nonspace = self.first[keep], self.last[keep], self.words[keep], \
            self.nonspace[keep]
        return out

    def count(self, *masks: np.ndarray) -> np.ndarray:
        """Per line, how many of its characters each mask (one bool per character) marks.

        One mask gives a vector, several a (lines x masks) matrix, summed in
        one pass over the page.
        """
        out = np.zeros((self.lengths.shape[0], len(masks)), dtype=np.int64)
        # a sum per line, straight off the mask: a running count of a batch's
        # characters took eight bytes a character and most of the time
        nonempty = self.lengths > 0
        if nonempty.any():
            starts = self.bounds[:-1][nonempty]  # empty lines add nothing between the starts around them
            for column, mask in enumerate(masks):
                out[nonempty, column] = np.add.reduceat(mask, starts, dtype=np.int64)
        return out[:, 0] if len(masks) == 1 else out

    def has(self, bits: int) -> np.ndarray:
        """Per character: is it in any of the classes ``bits``."""
        return (self.classes & bits) > 0

    def ends_with(self, bits: int) -> np.ndarray:
        """Per line: does its last character belong to ``bits`` (false for an empty line)."""
        return (self.last & bits) > 0

    def starts_with(self, bits: int) -> np.ndarray:
        """Per line: does its first character belong to ``bits``."""
        return (self.first & bits) > 0

    def ends_with_ellipsis(self) -> np.ndarray:
        """Per line: does it end in ``...``."""
        out = self.lengths >= 3
        ends = self.bounds[1:][out]
        out[out] = ((self.classes[ends - 1] & DOT) > 0) & ((self.classes[ends - 2] & DOT) > 0) \
            & ((self.classes[ends - 3] & DOT) > 0)
        return out

    def first_letter_lower(self) -> tuple[np.ndarray, np.ndarray]:
        """Per line: does it have a letter, and is its first letter lowercase."""
        first = _first_marked(self.has(ALPHA), self.bounds[:-1])
        found = first < self.bounds[1:]
        lower = np.zeros(found.shape[0], dtype=bool)
        lower[found] = (self.classes[first[found]] & LOWER) > 0
        return found, lower


def _first_marked(mask: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """For each of ``starts`` (sorted), the first position at or after it that ``mask`` marks
    (``len(mask)`` if none), a block at a time.

    >>> _first_marked(np.array([False, True, False, False, True]), np.array([0, 2, 5])).tolist()
    [1, 4, 5]
    """
    size = mask.shape[0]
    out = np.full(starts.shape[0], size, dtype=np.int64)
    pending = np.arange(starts.shape[0])
    for lo in range(0, size, COUNT_BLOCK_CHARS):
        if not pending.shape[0]:
            break
        hi = min(lo + COUNT_BLOCK_CHARS, size)
        here = pending[starts[pending] < hi]
        marked = np.flatnonzero(mask[lo:hi]) + lo
        at = np.searchsorted(marked, np.maximum(starts[here], lo))
        hit = at < marked.shape[0]
        out[here[hit]] = marked[at[hit]]
        pending = np.setdiff1d(pending, here[hit], assume_unique=True)
    return out
