"""Lines with their endings: where a document's paragraphs are, and taking some out.

A document is a sequence of lines, each ending in ``\\n``, ``\\r\\n`` or a lone
``\\r`` (the last one may end in nothing). A *paragraph* is a non-blank line;
paragraphs are numbered from 0 in document order, and that number is what the
removal record calls ``paragraph``. Everything else about the document — blank
lines, indentation, trailing spaces, each line's own ending, whether the text
ends in a line break — is its *layout*, and :func:`take_out` keeps it: the
output is the input with the removed lines taken out, byte for byte otherwise.

>>> segment("  one \\n\\n two\\r\\nthree\\n")
['one', 'two', 'three']
>>> take_out("Title\\r\\n\\r\\n  indented\\r\\nShare this:\\r\\n", {2})
'Title\\r\\n\\r\\n  indented\\r\\n'
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Collection

# Terminated lines first; the last alternative is a final line without an ending.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


def split_lines_keepends(text: str) -> list[str]:
    """The lines of ``text`` with their endings; joined, they give ``text`` back.

    Breaks on ``\\n``, ``\\r\\n`` and a lone ``\\r`` only: ``str.splitlines``
    also breaks on U+0085 and other characters that occur inside mojibake.

    >>> split_lines_keepends("a\\r\\nb\\rc\\n\\nd\\x85e")
    ['a\\r\\n', 'b\\r', 'c\\n', '\\n', 'd\\x85e']
    >>> split_lines_keepends("")
    []
    """
    return _LINE.findall(text)


def segment(text: str) -> list[str]:
    """Paragraphs of a document: its non-blank lines, without surrounding whitespace.

    >>> segment("  one \\n\\n two\\r\\nthree\\n")
    ['one', 'two', 'three']
    """
    # the lines of split_lines_keepends, cut with str methods alone: a line
    # break turned into another leaves every line's content as it was
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return list(filter(None, map(str.strip, text.split("\n"))))


def paragraph_separator(lines: list[str]) -> str:
    """The document's own blank-line run between paragraphs: its most common one.

    Runs are compared as text (their whitespace and line endings included);
    a tie goes to the run that comes first. A document with no blank line
    between two paragraphs gets one empty line, ended like its first line.

    >>> paragraph_separator(split_lines_keepends("a\\r\\n\\r\\nb\\r\\n\\r\\n\\r\\nc\\r\\n\\r\\nd"))
    '\\r\\n'
    >>> paragraph_separator(split_lines_keepends("a\\nb"))
    '\\n'
    """
    runs: Counter[str] = Counter()
    run: list[str] = []
    seen_paragraph = False
    for line in lines:
        if line.strip():
            if run and seen_paragraph:
                runs["".join(run)] += 1  # Counter keeps first-seen order for ties
            run, seen_paragraph = [], True
        else:
            run.append(line)
    if runs:
        return runs.most_common(1)[0][0]
    first = lines[0] if lines else "\n"
    return first[len(first.rstrip("\r\n")):] or "\n"


def join_blank_run(before: str, run: str) -> str:
    """``run`` (blank lines) to follow ``before``, so that the two stay separate lines.

    After a line ending in a lone ``\\r``, a run starting with ``\\n`` would
    make ``\\r\\n``, one line ending: the kept line would gain a ``\\n`` and a
    blank line would vanish. The run's leading empty lines end in ``\\r``
    instead, the ending of the line before them (one ``\\r`` alone would join
    the next ``\\n`` in turn).

    >>> join_blank_run("A\\r", "\\n\\n  \\n"), join_blank_run("A\\n", "\\n"), join_blank_run("A\\r\\n", "\\n")
    ('\\r\\r  \\n', '\\n', '\\n')
    """
    if run.startswith("\n") and before.endswith("\r"):
        rest = run.lstrip("\n")
        return "\r" * (len(run) - len(rest)) + rest
    return run


def take_out(text: str, removed: Collection[int]) -> str:
    """``text`` without the paragraphs numbered in ``removed``; its layout otherwise kept.

    A removed paragraph's line goes with its ending. Blank lines stay as
    they were, except where a removal brings blank lines from both sides of
    it together: that run becomes the document's own paragraph separator
    (:func:`paragraph_separator`). Removed paragraphs at the start (end)
    leave only the blank lines the document had before (after) them, and a
    document without a final line break still ends without one. Taking out
    every paragraph leaves nothing. Empty lines that a removal brings right
    after a line ended by a lone ``\r`` end in ``\r`` where they ended in
    ``\n``: side by side the two would read as one ``\r\n`` ending, joining
    the kept line and the blank line (:func:`join_blank_run`).

    >>> take_out("A\\n\\nX\\n\\nB\\n", {1})
    'A\\n\\nB\\n'
    >>> take_out("X\\n\\n  A\\nY", {0, 2})
    '  A'
    >>> take_out("A\\n\\nB\\n", set())
    'A\\n\\nB\\n'
    """
    if not removed:
        return text
    if "\r" not in text:
        pieces = text.split("\n")
        ended = not pieces[-1]  # the text ends in a line break (or is empty)
        if ended:
            pieces.pop()
        if all(map(str.strip, pieces)):
            # every line a paragraph, each ended by \n: nothing to bring together, the kept lines are the text
            kept = [True] * len(pieces)
            for number in removed:
                if 0 <= number < len(kept):
                    kept[number] = False
            return "\n".join(itertools.compress(pieces, kept)) + "\n" * (ended and any(kept))
    lines = split_lines_keepends(text)
    where = [index for index, line in enumerate(lines) if not line.isspace()]  # line of each paragraph
    count = len(where)
    gone = sorted(number for number in set(removed) if 0 <= number < count)
    if not gone:
        return text
    if len(gone) == count:
        return ""
    out: list[str] = []
    done = 0  # lines before this are settled
    separator: str | None = None
    at = 0
    while at < len(gone):
        first = last = gone[at]
        while at + 1 < len(gone) and gone[at + 1] == last + 1:  # a run of adjacent removed paragraphs
            at += 1
            last = gone[at]
        at += 1
        start = where[first - 1] + 1 if first else 0
        stop = where[last + 1] if last + 1 < count else len(lines)
        out.append("".join(lines[done:start]))
        # the blank-line runs between the kept paragraphs around, cut by the removed lines
        runs = ["".join(lines[a + 1:b]) for a, b in zip([start - 1] + where[first:last + 1],
                                                        where[first:last + 1] + [stop])]
        if not first:
            out.append(runs[0])  # the document's own leading blank lines
        elif last + 1 == count:
            out.append(join_blank_run(out[-1], runs[-1]))  # its own trailing ones
        else:
            filled = [run for run in runs if run]
            if len(filled) == 1:
                out.append(join_blank_run(out[-1], filled[0]))
            elif filled:
                if separator is None:
                    separator = paragraph_separator(lines)
                out.append(join_blank_run(out[-1], separator))
        done = stop
    out.append("".join(lines[done:]))
    result = "".join(out)
    if not lines[-1].endswith(("\n", "\r")) and result.endswith(("\n", "\r")):
        # the last line went, and with it the document's missing final line break
        result = result[:-2] if result.endswith("\r\n") else result[:-1]
    return result
