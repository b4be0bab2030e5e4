r"""Which characters a match of a chrome pattern can start with, read from the pattern's text.

The catalogue's patterns are tried as one alternation, and ``re`` tries every
branch in turn although most cannot start where a line starts. Knowing each
branch's possible first characters, the catalogue keeps per first character
only the branches that can start there (:func:`alternations_by_first`).

:func:`first_characters` reads the pattern text itself, and understands the
part of the syntax the catalogue uses: literal characters and escaped
punctuation, ``\d``, character classes, groups with alternatives, and
quantifiers. Anything else it meets where a match may start (``.``, ``\S``, a
negated class, a lookahead, inline flags, an escape it does not know) makes
the answer "any character" (``None``): it may only ever answer with too many
characters, never too few, so a branch is never left out where it could
match. A property test holds this against ``re`` on generated patterns and
strings that match them, and the catalogue's dispatch against trying every
rule on every line.

>>> sorted(first_characters(r"(?:share|teilen)(?: this)?:?"))
['s', 't']
>>> sorted(first_characters(r"\(?\d+ comments"))
['(', '\\d']
>>> first_characters(r".{0,160}all rights reserved") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

#: Stands for "any decimal digit" (``\d``) among a pattern's first characters.
DIGIT = "\\d"
#: A character range wider than this counts as "any character".
MAX_RANGE = 512

_QUANTIFIER = re.compile(r"\{(\d*)(,?)(\d*)\}")


class _Unknown(Exception):
    """Syntax this reader does not know: the pattern may start with anything."""


@dataclass(frozen=True, slots=True)
class _Part:
    """What a piece of pattern can start with (``None``: anything) and the fewest characters it matches."""

    first: frozenset[str] | None
    min_chars: int


def first_characters(pattern: str) -> frozenset[str] | None:
    """Characters a non-empty match of ``pattern`` can start with (:data:`DIGIT` for any digit).

    ``None`` when that is not known, or when the pattern can match the empty string.
    """
    try:
        reader = _Reader(pattern)
        part = reader.alternation()
        if reader.at < len(pattern):  # an unbalanced ")"
            return None
    except _Unknown:
        return None
    return part.first if part.min_chars > 0 else None


def alternations_by_first(
    branches: list[str], compile_pattern: Callable[[str], re.Pattern[str]] = re.compile
) -> tuple[dict[str, re.Pattern[str]], re.Pattern[str] | None, re.Pattern[str] | None]:
    r"""Per first character, the alternation of the branches a line starting with it can match.

    Returns (by character, for other decimal digits, for any other
    character). Each alternation keeps the branches in their order, so the
    first to match is the one the whole alternation finds. A branch whose
    first characters are not known is in every alternation.

    >>> by_first, digit, other = alternations_by_first(["(?P<r0>home)", r"(?P<r1>\d+ comments)", "(?P<r2>.{1,9} ago)"])
    >>> by_first["h"].pattern, digit.pattern, other.pattern
    ('(?P<r0>home)|(?P<r2>.{1,9} ago)', '(?P<r1>\\d+ comments)|(?P<r2>.{1,9} ago)', '(?P<r2>.{1,9} ago)')
    """
    starts = [first_characters(branch) for branch in branches]

    def alternation(keep: Callable[[frozenset[str]], bool]) -> re.Pattern[str] | None:
        chosen = [branch for branch, first in zip(branches, starts) if first is None or keep(first)]
        return compile_pattern("|".join(chosen)) if chosen else None

    def starting_with(char: str) -> Callable[[frozenset[str]], bool]:
        return lambda first: char in first or (DIGIT in first and char.isdecimal())

    characters = set().union(*(first for first in starts if first)) - {DIGIT}
    by_first = {char: alternation(starting_with(char)) for char in characters}
    return ({char: regex for char, regex in by_first.items() if regex is not None},
            alternation(lambda first: DIGIT in first), alternation(lambda first: False))


class _Reader:
    """A recursive reader of the pattern syntax the catalogue uses; :class:`_Unknown` for the rest."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.at = 0

    def peek(self) -> str:
        return self.pattern[self.at] if self.at < len(self.pattern) else ""

    def take(self) -> str:
        if self.at >= len(self.pattern):
            raise _Unknown("unexpected end")
        char = self.pattern[self.at]
        self.at += 1
        return char

    def alternation(self) -> _Part:
        """Alternatives up to a ``)`` or the end: any of them may come first."""
        parts = [self.sequence()]
        while self.peek() == "|":
            self.at += 1
            parts.append(self.sequence())
        first: set[str] = set()
        for part in parts:
            if part.first is None:
                return _Part(None, min(p.min_chars for p in parts))
            first |= part.first
        return _Part(frozenset(first), min(p.min_chars for p in parts))

    def sequence(self) -> _Part:
        """Items in a row: the first ones up to one that cannot match nothing may come first."""
        first: set[str] | None = set()
        length = 0
        while self.peek() not in ("", "|", ")"):
            item = self.quantified(self.item())
            if first is not None and length == 0:
                first = None if item.first is None else first | item.first
            length += item.min_chars
        return _Part(None if first is None else frozenset(first), length)

    def quantified(self, item: _Part) -> _Part:
        char = self.peek()
        if char in ("?", "*"):
            self.at += 1
            low = 0
        elif char == "+":
            self.at += 1
            low = 1
        elif char == "{":
            found = _QUANTIFIER.match(self.pattern, self.at)
            if found is None or (not found.group(1) and not found.group(3)):
                raise _Unknown("a brace that is no quantifier")
            self.at = found.end()
            low = int(found.group(1) or 0)
        else:
            return item
        if self.peek() in ("?", "+"):  # lazy or possessive
            self.at += 1
        return _Part(item.first, item.min_chars * low)

    def item(self) -> _Part:
        char = self.take()
        if char == "(":
            return self.group()
        if char == "[":
            return self.character_class()
        if char == "\\":
            return self.escape(in_class=False)
        if char == ".":
            return _Part(None, 1)
        if char in "^$":
            return _Part(None, 0)
        if char in "*+?{":
            raise _Unknown("a quantifier with nothing to repeat")
        return _Part(frozenset(char), 1)

    def group(self) -> _Part:
        lookaround = False
        if self.peek() == "?":
            self.at += 1
            kind = self.take()
            if kind == "P" and self.peek() == "<":
                end = self.pattern.find(">", self.at)
                if end < 0:
                    raise _Unknown("an unfinished group name")
                self.at = end + 1
            elif kind in ("=", "!"):
                lookaround = True
            elif kind == "<" and self.peek() in ("=", "!"):
                self.at += 1
                lookaround = True
            elif kind != ":":
                raise _Unknown("flags, a comment, a conditional or a back reference")
        inner = self.alternation()
        if self.take() != ")":
            raise _Unknown("an unclosed group")
        return _Part(None, 0) if lookaround else inner

    def character_class(self) -> _Part:
        negated = self.peek() == "^"
        if negated:
            self.at += 1
        members: set[str] = set()
        known = True
        start = True
        while True:
            char = self.take()
            if char == "]" and not start:
                break
            start = False
            if char == "\\":
                part = self.escape(in_class=True)
                if part.first is None or DIGIT in part.first:
                    known = False if part.first is None else known
                    members |= part.first or set()
                    continue
                (char,) = part.first
            if self.peek() == "-" and self.pattern[self.at + 1 : self.at + 2] not in ("", "]"):
                self.at += 1
                end = self.take()
                if end == "\\":
                    part = self.escape(in_class=True)
                    if part.first is None or DIGIT in part.first:
                        raise _Unknown("a range to a class")
                    (end,) = part.first
                if ord(end) < ord(char):
                    raise _Unknown("a reversed range")
                if ord(end) - ord(char) > MAX_RANGE:
                    known = False
                else:
                    members.update(chr(code) for code in range(ord(char), ord(end) + 1))
                continue
            members.add(char)
        if negated or not known:
            return _Part(None, 1)
        return _Part(frozenset(members), 1)

    def escape(self, in_class: bool) -> _Part:
        char = self.take()
        if char == "d":
            return _Part(frozenset({DIGIT}), 1)
        if char in "DsSwW":
            return _Part(None, 1)
        if not in_class and char in "bBAZ":
            return _Part(None, 0)
        if char.isascii() and char.isalnum():
            raise _Unknown(f"the escape \\{char}")
        return _Part(frozenset(char), 1)
