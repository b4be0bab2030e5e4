r"""The chrome catalogue's patterns as one linear-time automaton (RE2), every pattern at once.

A line's shape is matched against all patterns of the catalogue in one pass of
one automaton (an ``RE2::Set``), which answers with the set of patterns that
match the whole shape; the first catalogue pattern among them wins, as the
first branch of an alternation would. RE2 runs in time linear in the line
whatever the pattern: no pattern can backtrack on a hostile line, which the
``re`` alternation this replaces could.

RE2 has no lookaround and no back references. A catalogue pattern that needs
them is written as a :class:`Check`: the shape fully matches every pattern of
``all`` and none of ``none`` (``{ all = [...], none = [...] }`` in
``chrome.toml``). Each of those is one more pattern of the set, so a line is
still read once.

The patterns keep Python's meaning: ``\d`` is any character ``str.isdecimal``
accepts (RE2's own ``\d`` is ASCII), and a lone surrogate is one character, as
``re`` sees it. ``\s`` and ``\S`` are RE2's (ASCII white space): a shape has
no white space but single spaces. Escapes whose meaning would differ (``\w``,
``\b``) are refused with a message that says what to write instead.

>>> patterns = PatternSet([Check("page", (r"page \d{1,3} of \d{1,3}",)),
...                        Check("posted", ("posted by .{1,20}",), ("posted by the .*",))])
>>> patterns.first("page ٣ of 9"), patterns.first("posted by ann"), patterns.first("posted by the sea")
('page', 'posted', None)
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

from .errors import ConfigError

#: Memory RE2 may use for the compiled set and its automaton's cache. The
#: bundled catalogue's set needs about a tenth of it; a set that does not fit
#: is refused when the catalogue is loaded, not while stripping.
MAX_MEM_BYTES = 256 << 20
#: Every decimal digit lies below this code point (planes 2 and up hold
#: ideographs, tags and private use, and a test checks it): the class of
#: Python's ``\d`` is read off the first two planes, in a tenth of the time.
DECIMALS_BELOW = 0x20000
#: Sets of matching patterns whose verdict is kept: a handful cover most lines
#: (those that match only patterns of a conjunction, such as ".{8,400}").
VERDICTS_KEPT = 4096
#: Escapes that mean something else in RE2 than in Python's ``re`` (on str
#: patterns, where they are Unicode-aware), with what to write instead.
_REFUSED_ESCAPES = {
    "w": "a character class of the letters meant",
    "W": "a negated character class",
    "b": "a space or the start or end of the line (a shape's words are separated by single spaces)",
    "B": "a character class",
    "D": "[^0-9] or another negated class",
    "Z": "nothing: patterns match the whole line",
}


@dataclass(frozen=True, slots=True)
class Check:
    """One catalogue pattern: the shape matches every pattern of ``all`` and none of ``none``."""

    rule: str
    all: tuple[str, ...]
    none: tuple[str, ...] = ()

    def reference(self) -> re.Pattern[str]:
        """The same check as one Python ``re`` pattern (with lookaheads), for tests.

        >>> check = Check("x", ("a.*",), ("ab.*",)).reference()
        >>> bool(check.fullmatch("ac")), bool(check.fullmatch("abc"))
        (True, False)
        """
        ahead = "".join(f"(?=(?:{pattern})\\Z)" for pattern in self.all)
        ahead += "".join(f"(?!(?:{pattern})\\Z)" for pattern in self.none)
        return re.compile(ahead + "(?s:.*)")


class PatternSet:
    """Every pattern of a list of :class:`Check` in one RE2 set; :meth:`first` names the first that holds.

    Two sets, in fact. Bounded repetitions (``.{0,160}``, ``.{8,400}``) make
    an automaton count: it meets a new state at nearly every character of a
    line it has not seen, and building states was most of its time. So a line
    goes first through the *filter*, the ``all`` patterns with every ``{m,n}``
    loosened to ``{m,}`` (each matches all its pattern matches, and more), and
    only a line the filter lets through for some check (on the generated
    corpus, 132 of 22,361 distinct lines) goes through the exact set.
    """

    def __init__(self, checks: Sequence[Check]) -> None:
        import re2  # imported here: only a stripper with patterns needs it

        self.checks = tuple(checks)
        options = re2.Options()
        options.log_errors = False  # errors are raised as ConfigError, not logged to stderr
        options.max_mem = MAX_MEM_BYTES
        self._exact = re2.Set.FullMatchSet(options)
        self._filter = re2.Set.FullMatchSet(options)
        exact: dict[str, int] = {}
        loose: dict[str, int] = {}
        for check in self.checks:
            for pattern in (*check.all, *check.none):
                if pattern in exact:
                    continue
                translated = to_re2(pattern, check.rule)
                try:
                    re2.compile(translated, options)
                except re2.error as exc:
                    reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                    raise ConfigError(
                        f"chrome rule {check.rule!r}: bad pattern {pattern!r}: {reason} (patterns run on RE2: write "
                        "a lookaround as a pattern of `all` or `none`, see docs/strip.md)"
                    ) from None
                exact[pattern] = self._exact.Add(translated)
            for pattern in check.all:
                if pattern not in loose:
                    loose[pattern] = self._filter.Add(loosen(to_re2(pattern, check.rule)))
        # A pattern every line matches: an answer without it means the automaton
        # failed (out of memory), which RE2's set reports no other way.
        always = "(?s:.*)"
        self._always = (self._filter.Add(always), self._exact.Add(always))
        self._filter.Compile()
        self._exact.Compile()
        self._tests = tuple((check.rule, tuple(exact[p] for p in check.all), tuple(exact[p] for p in check.none))
                            for check in self.checks)
        self._loose_tests = tuple(tuple(loose[p] for p in check.all) for check in self.checks)
        # Lines fall into few sets of matching patterns (".{8,400}" matches
        # most lines, and no check on its own), so each set is judged once.
        self._possible: dict[frozenset[int], bool] = {}
        self._verdicts: dict[frozenset[int], str | None] = {}
        # builds both automata now: a set too large fails here, at load time
        self._match(self._exact, "cookie " * 57, 1)

    def first(self, shaped: str) -> str | None:
        """The rule of the first check whose patterns ``shaped`` fully matches (and none of its vetoes)."""
        text = shaped.encode("utf-8", "surrogatepass")
        hits = self._match(self._filter, text, 0)
        if hits is None:
            return None  # most lines: only the pattern every line matches
        possible = self._possible.get(hits)
        if possible is None:
            possible = any(hits.issuperset(need) for need in self._loose_tests)
            if len(self._possible) < VERDICTS_KEPT:
                self._possible[hits] = possible
        if not possible:
            return None
        hits = self._match(self._exact, text, 1)
        if hits is None:
            return None
        verdict = self._verdicts.get(hits, self)
        if verdict is self:
            verdict = next((rule for rule, need, refuse in self._tests
                            if hits.issuperset(need) and hits.isdisjoint(refuse)), None)
            if len(self._verdicts) < VERDICTS_KEPT:
                self._verdicts[hits] = verdict
        return cast("str | None", verdict)

    def _match(self, patterns: Any, text: bytes | str, which: int) -> frozenset[int] | None:
        """The patterns of a set that ``text`` matches, or ``None`` when only the one every line matches does."""
        found = patterns.Match(text)
        if not found or self._always[which] not in found:
            raise ConfigError(f"chrome catalogue: the pattern set needs more than {MAX_MEM_BYTES >> 20} MB")
        return frozenset(found) if len(found) > 1 else None


def _pieces(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """Each escape (two characters) or other character of ``pattern``: where it starts, it, and
    whether it lies inside a character class (a ``]`` first in a class is a member)."""
    at, in_class, members_from = 0, False, -1
    while at < len(pattern):
        char = pattern[at]
        if char == "\\":
            yield at, pattern[at : at + 2], in_class
            at += 2
            continue
        yield at, char, in_class
        if in_class:
            in_class = not (char == "]" and at > members_from)
        elif char == "[":
            in_class = True
            members_from = at + (2 if pattern[at + 1 : at + 2] == "^" else 1)
        at += 1


def loosen(pattern: str) -> str:
    r"""``pattern`` with every bounded repetition ``{m,n}`` made unbounded, ``{m,}``: it matches more.

    Braces inside a character class, or escaped, are left alone.

    >>> print(loosen(r".{0,160}all rights reserved\.?.{0,80}[{1,2}]\{3,4}"))
    .{0,}all rights reserved\.?.{0,}[{1,2}]\{3,4}
    """
    out: list[str] = []
    resume = 0  # past a repetition already rewritten
    for at, piece, in_class in _pieces(pattern):
        if at < resume:
            continue
        bounded = _BOUNDED.match(pattern, at) if piece == "{" and not in_class else None
        if bounded is not None:
            out.append(f"{{{bounded.group(1)},}}")
            resume = bounded.end()
        else:
            out.append(piece)
    return "".join(out)


_BOUNDED = re.compile(r"\{(\d+),\d+\}")


def to_re2(pattern: str, rule: str = "catalogue") -> str:
    r"""``pattern`` (Python ``re`` syntax) written so that RE2 gives it the same meaning.

    ``\d`` becomes the class of the characters ``str.isdecimal`` accepts.

    >>> to_re2(r"\(\d+\)").startswith(r"\([\x{30}-\x{39}")
    True
    """
    out: list[str] = []
    for _, piece, in_class in _pieces(pattern):
        escaped = piece[1:] if len(piece) == 2 else ""
        if escaped == "d":
            out.append(_decimal_ranges() if in_class else f"[{_decimal_ranges()}]")
        elif escaped in _REFUSED_ESCAPES:
            raise ConfigError(f"chrome rule {rule!r}: pattern {pattern!r}: \\{escaped} means something else on "
                              f"RE2; write {_REFUSED_ESCAPES[escaped]}")
        else:
            out.append(piece)
    return "".join(out)


@functools.cache
def _decimal_ranges() -> str:
    """The characters Python's ``\\d`` matches (``str.isdecimal``), as RE2 class ranges."""
    codes = [ord(char) for char in filter(str.isdecimal, map(chr, range(DECIMALS_BELOW)))]
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "".join(f"\\x{{{low:x}}}-\\x{{{high:x}}}" for low, high in ranges)
