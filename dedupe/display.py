"""Text from a corpus made safe to print: control characters shown as escapes.

Ids, paragraphs and rule names printed by ``strip --explain`` and
``explain`` come from the input. Printed raw, an ESC sequence there can
recolour, retitle or clear the user's terminal (or, in some terminals, do
worse), a carriage return can overwrite what was printed before it, and a
bidirectional override can show text in an order other than its own. So
every C0 control but tab (with ESC), DEL, every C1 control, the Unicode line
and paragraph separators and the bidirectional embeddings, overrides and
isolates are printed as Python escapes, on a terminal and in a pipe alike.
A backslash is left as it is: the output is for reading, and doubling every
backslash of a Windows path would not help anyone read it.

>>> escape_controls("title\\x1b]0;pwned\\x07 \\u202egnp.exe\\tend\\n")
'title\\\\x1b]0;pwned\\\\x07 \\\\u202egnp.exe\\tend\\\\n'
"""

from __future__ import annotations

#: Code points printed as escapes (see the module docstring).
ESCAPED_CODE_POINTS = (
    [c for c in range(0x20) if c != 0x09]
    + list(range(0x7F, 0xA0))
    + [0x2028, 0x2029]
    + list(range(0x202A, 0x202F))  # LRE, RLE, PDF, LRO, RLO
    + list(range(0x2066, 0x206A))  # LRI, RLI, FSI, PDI
)

_NAMED = {0x0A: "\\n", 0x0D: "\\r"}


def _escape(code: int) -> str:
    if code in _NAMED:
        return _NAMED[code]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TABLE = {code: _escape(code) for code in ESCAPED_CODE_POINTS}


def escape_controls(text: str) -> str:
    """``text`` with control, separator and bidirectional-override characters as escapes.

    >>> escape_controls("plain text, tabs\\tand accents: café")
    'plain text, tabs\\tand accents: café'
    """
    return text.translate(_TABLE)
