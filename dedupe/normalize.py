"""Encoding repair and match keys.

Two different things happen to a paragraph here, and they must not be confused:

* :func:`repair` fixes what went wrong in transport — mojibake, HTML entities,
  control characters — with ftfy, configured so that correct text comes out
  exactly as it went in (curly quotes, full-width forms, ligatures and
  composition are the author's, not errors). Its result is what dedupe outputs.
* :func:`match_key` builds an aggressive comparison key (NFKC, casefold,
  punctuation dropped, digit runs folded, whitespace collapsed). It is used only
  to decide whether two paragraphs are the same, never written out.

>>> repair("The cafÃ© said &quot;hello&quot;")
'The café said "hello"'
>>> match_key("  The Café said: “Hello”, 2021!  ")
'the café said hello 0'
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy.badness import is_bad
from ftfy.chardata import CONTROL_CHARS

from .layout import split_lines_keepends

#: Bumped whenever repair() or match_key() change what they return, because
#: fingerprints (and any persistent index built from them) depend on both.
NORMALIZER_VERSION = 1

# Repair transport damage only. Everything that would rewrite correct text is
# off: quote uncurling, width folding, ligature expansion, Unicode normalisation
# and line-break conversion (we split lines ourselves).
FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html="auto",
    remove_terminal_escapes=True,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=False,
    fix_surrogates=True,
    remove_control_chars=True,
    normalization=None,
    explain=False,
)
_FTFY_EXPLAIN_CONFIG = FTFY_CONFIG._replace(explain=True)

# Which characters let each enabled ftfy fixer change a string: '&' (entities),
# ESC (terminal escapes), C1 controls, surrogates, and ftfy's own table of
# control characters. The encoding fixer changes nothing unless ftfy's own
# badness check fires (its first step returns text that is not "bad" as is).
# Text with none of these is returned unchanged by ftfy, so we skip the call;
# tests check the equivalence against ftfy on random text and the eval sets.
_TRIGGERS = {ord("&"), 0x1B} | set(range(0x80, 0xA0)) | set(range(0xD800, 0xE000)) | set(CONTROL_CHARS)
_MAY_NEED_REPAIR = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(_TRIGGERS) if c not in (0x09, 0x0A)) + "]"
)

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")


def needs_repair(text: str) -> bool:
    """Whether :func:`repair` could change ``text`` (cheap, conservative check).

    >>> needs_repair("plain ascii"), needs_repair("caf\\u00e9"), needs_repair("caf\\u00c3\\u00a9"), needs_repair("a &amp; b")
    (False, False, True, True)
    """
    if text.isascii():
        return "&" in text or _MAY_NEED_REPAIR.search(text) is not None
    return _MAY_NEED_REPAIR.search(text) is not None or is_bad(text)


def repair(text: str) -> str:
    """Repair mojibake, HTML entities and control characters; keep correct text as is.

    >>> repair("“curly” quotes and ﬁ ligatures stay")
    '“curly” quotes and ﬁ ligatures stay'
    >>> repair("donâ€™t")
    'don’t'
    """
    if not needs_repair(text):
        return text
    return ftfy.fix_text(text, FTFY_CONFIG)


def repair_document(text: str) -> str:
    """Repair a whole document, each line on its own, keeping every line break.

    Lines end at ``\n``, ``\r\n`` or a lone ``\r``; each is repaired as
    :func:`repair` repairs it alone. ftfy's own ``fix_text`` stops decoding
    HTML entities for the rest of a text once a line holds ``<``: a document
    would then come out differently once that line was removed, and cleaning
    its output would change it again. Line breaks that arrive as entities
    (``&#10;``, ``&NewLine;``, ``&#13;``) become real ones here, before the
    document is split into paragraphs.

    >>> repair_document("Caf\\u00c3\\u00a9 news&#10;  second line\\r\\n<b>&amp;</b>\\r\\nTom &amp; Jerry")
    'Café news\\n  second line\\r\\n<b>&amp;</b>\\r\\nTom & Jerry'
    """
    if text.isascii() and not needs_repair(text):
        return text
    # ftfy's badness check costs as much over the whole text as over its lines: run it once, per line
    return "".join(repair(line) for line in split_lines_keepends(text))


def repair_and_explain(text: str) -> tuple[str, list[str]]:
    """Like :func:`repair`, and name the fixes that were applied.

    >>> repair_and_explain("donâ€™t")
    ('don’t', ['encode:sloppy-windows-1252', 'decode:utf-8'])
    >>> repair_and_explain("fine")
    ('fine', [])
    """
    if not needs_repair(text):
        return text, []
    fixed, steps = ftfy.fix_and_explain(text, _FTFY_EXPLAIN_CONFIG)
    return fixed, [f"{kind}:{name}" for kind, name in (steps or [])]


def match_key(text: str, fold_digits: bool = True) -> str:
    """Comparison key: NFKC, casefold, words only, digit runs as ``0``, single spaces.

    >>> match_key("Page 12 of 40") == match_key("page 3 of 9")
    True
    >>> match_key("For sale: $600,000", fold_digits=False)
    'for sale 600 000'
    >>> match_key("---")
    ''
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    if fold_digits:
        folded = _DIGITS.sub("0", folded)  # digits are word characters: same as per word
    return " ".join(_WORD.findall(folded))


def split_lines(text: str) -> list[str]:
    """Split a document into lines on ``\\n`` only (``\\r\\n`` and lone ``\\r`` too).

    ``str.splitlines`` is not used: it also breaks on U+0085 and other
    characters that occur inside mojibake, which would cut paragraphs in two.

    >>> split_lines("a\\r\\nb\\rc\\n\\nd\\x85e")
    ['a', 'b', 'c', '', 'd\\x85e']
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")
