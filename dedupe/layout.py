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
    return [stripped for line in split_lines_keepends(text) if (stripped := line.strip())]


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


def take_out(text: str, removed: Collection[int]) -> str:
    """``text`` without the paragraphs numbered in ``removed``; its layout otherwise kept.

    A removed paragraph's line goes with its ending. Blank lines stay as
    they were, except where a removal brings blank lines from both sides of
    it together: that run becomes the document's own paragraph separator
    (:func:`paragraph_separator`). Removed paragraphs at the start (end)
    leave only the blank lines the document had before (after) them, and a
    document without a final line break still ends without one.

    >>> take_out("A\\n\\nX\\n\\nB\\n", {1})
    'A\\n\\nB\\n'
    >>> take_out("X\\n\\n  A\\nY", {0, 2})
    '  A'
    >>> take_out("A\\n\\nB\\n", set())
    'A\\n\\nB\\n'
    """
    if not removed:
        return text
    lines = split_lines_keepends(text)
    out: list[str] = []
    # blank-line runs since the last kept paragraph, split by removed paragraphs
    runs: list[list[str]] = [[]]
    separator: str | None = None
    kept_any = False
    number = -1
    for line in lines:
        if not line.strip():
            runs[-1].append(line)
            continue
        number += 1
        if number in removed:
            runs.append([])
            continue
        if len(runs) == 1:  # nothing removed since the last kept paragraph (or the start)
            out.extend(runs[0])
        elif not kept_any:
            out.extend(runs[0])  # the document's own leading blank lines
        else:
            filled = [run for run in runs if run]
            if len(filled) == 1:
                out.extend(filled[0])
            elif filled:
                if separator is None:
                    separator = paragraph_separator(lines)
                out.append(separator)
        out.append(line)
        kept_any = True
        runs = [[]]
    out.extend(runs[-1])  # the document's own trailing blank lines (all of them if nothing was removed)
    if lines and not lines[-1].endswith(("\n", "\r")) and out and out[-1].endswith(("\n", "\r")):
        # the last line went, and with it the document's missing final line break
        out[-1] = out[-1].rstrip("\r\n")
    return "".join(out)
