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

import functools
import re
import unicodedata

import ftfy
from ftfy.badness import is_bad

from .layout import split_lines_keepends

#: Bumped whenever repair(), match_key() or value_keys() change what they
#: return, because fingerprints (and any persistent index built from them)
#: depend on them. 3: identifiers in links and bug references; 4: the hashes
#: of identifiers, texts and sentences are stored exact (before, a batch could
#: keep them with their low bits lost).
NORMALIZER_VERSION = 4

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

#: Code points ``ftfy.fixes.remove_control_chars`` deletes, as its documentation
#: lists them: ASCII controls but the whitespace ones, the deprecated Arabic
#: controls, interlinear annotation, the object replacement character and the
#: byte order mark. A test holds this table equal to what ftfy removes.
CONTROL_CHARS = frozenset((*range(0x09), 0x0B, *range(0x0E, 0x20), 0x7F, *range(0x206A, 0x2070), 0xFEFF,
                           *range(0xFFF9, 0xFFFD)))

# Which characters let each enabled ftfy fixer change a string: '&' (entities),
# ESC (terminal escapes), C1 controls, surrogates, and the control characters
# above. The encoding fixer changes nothing unless ftfy's public badness check
# (ftfy.badness.is_bad) fires: its first step returns text that is not "bad" as
# is. Text with none of these is returned unchanged by ftfy, so we skip the
# call; tests check the equivalence against ftfy on every character, random
# text and the eval sets.
_TRIGGERS = {ord("&"), 0x1B} | set(range(0x80, 0xA0)) | set(range(0xD800, 0xE000)) | CONTROL_CHARS
_MAY_NEED_REPAIR = re.compile(
    "[" + "".join(re.escape(chr(c)) for c in sorted(_TRIGGERS) if c not in (0x09, 0x0A)) + "]"
)
#: Where ftfy's badness check can fire: every sequence its expression looks for
#: but four is two or more non-ASCII characters in a row (its character classes
#: hold no ASCII), and those four start at Œ, œ, Ã or Â. A line with neither
#: (most text with curly quotes and dashes: a quote stands next to a letter)
#: skips the expression, which costs as much as the rest of the check. Tests
#: hold this against ftfy on every character between ASCII neighbours.
_MAY_BE_BAD = re.compile("[ŒœÃÂ]|[^\x00-\x7f]{2}")

_WORD = re.compile(r"\w+")
_NOT_WORD = re.compile(r"\W")
#: Characters of a paragraph whose match key is made at a time (see :func:`match_key`).
KEY_PIECE_CHARS = 1 << 18
_DIGITS = re.compile(r"\d+")


def needs_repair(text: str) -> bool:
    """Whether :func:`repair` could change ``text`` (cheap, conservative check).

    >>> needs_repair("plain ascii"), needs_repair("caf\\u00e9")
    (False, False)
    >>> needs_repair("caf\\u00c3\\u00a9"), needs_repair("a &amp; b")
    (True, True)
    """
    if text.isascii():
        return "&" in text or _MAY_NEED_REPAIR.search(text) is not None
    return _MAY_NEED_REPAIR.search(text) is not None or (_MAY_BE_BAD.search(text) is not None and is_bad(text))


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
    if len(folded) <= KEY_PIECE_CHARS:
        return _key_words(folded, fold_digits)
    # A list of every word of a 20 MB paragraph takes 15 times its memory: the
    # words are listed a piece at a time, cut between words (a digit run is
    # words too, so no cut splits one).
    pieces = []
    start = 0
    while start < len(folded):
        cut = _NOT_WORD.search(folded, start + KEY_PIECE_CHARS)
        end = cut.start() if cut is not None else len(folded)
        piece = _key_words(folded[start:end], fold_digits)
        if piece:
            pieces.append(piece)
        start = end
    return " ".join(pieces)


def _key_words(folded: str, fold_digits: bool) -> str:
    if fold_digits:
        folded = _DIGITS.sub("0", folded)  # digits are word characters: same as per word
    return " ".join(_WORD.findall(folded))


#: A whitespace token holding a digit: a number, or a value written with one.
_NUMBER_TOKEN = re.compile(r"(?<!\S)[^\s\d]*\d\S*")  # anchored at token starts: no backtracking
#: Punctuation around a token that is not part of the value ("(2.6.1)", "#1038603).").
_EDGE = "()[]{}<>\"'“”‘’«»,;:!?.…"
#: A plain number: optional sign or currency, digits (thousands grouped or not),
#: one decimal part, and a percent sign or a unit / ordinal suffix of 1-3
#: letters ("40,000", "$1.2bn", "3rd", "1990s", "10am", "+0200"), or words
#: after a hyphen or slash ("58-year-old", "5-valve", "$38/month"): a count.
_PLAIN_NUMBER = re.compile(
    r"[+\-−±~≈$€£¥]?(?:\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+)(?:[.,]\d+)?(?:%|[^\W\d_]{1,3})?"
    r"(?:[-/][^\W\d_]+)*"
)
#: A link is a reference, not a value of the text: reposts rewrite them.
_LINK = re.compile(r"(?:https?|ftp)://\S+|www\.\S+")
#: A mailbox: up to three name words and ``<address>``, or a bare address.
_ADDRESS = re.compile(r"[^\s<>@()]+@[^\s<>@()]+\.[^\s<>@()]+")
_MAILBOX = re.compile(r"(?:[^\W\d_][^\s<>@,;:()]*\s+){0,3}<[^\s<>@]+@[^\s<>]+>|[^\s<>@()]+@[^\s<>@()]+\.[^\s<>@()]+")
#: Month and weekday names (English): part of a date when next to a number.
_DATE_WORDS = frozenset((
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
    "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec", "december",
    "mon", "monday", "tue", "tues", "tuesday", "wed", "wednesday", "thu", "thur", "thurs", "thursday",
    "fri", "friday", "sat", "saturday", "sun", "sunday",
))
_MASK = "\x00"  # a value: a number, an identifier
_STAMP_MASK = "\x01"  # a date or a time: when a template printed the line
_REF_MASK = "\x02"  # a mailbox or a link: whom or where it names
_MASKS = _MASK + _STAMP_MASK + _REF_MASK
#: A date or a time as one token: 2022-08-25, 25/08/2022, 16:03:49, 10:30pm.
_STAMP = re.compile(
    r"\d{4}([-/.])\d{1,2}\1\d{1,2}(?:t[\d:.]+z?)?|\d{1,2}([-/.])\d{1,2}\2\d{4}|\d{1,2}/\d{1,2}/\d{2}"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:am|pm|h|z)?"
)
#: Values next to one another (only spaces and punctuation between): one slot.
_SLOT = re.compile(rf"[{_MASKS}](?:[^\w{_MASKS}]*[{_MASKS}])*")
#: Words right before a number that make it a reference, not a count: "Bug
#: 12345", "ticket 77", "LP: 1234", "Closes: 961097". A number so named is an
#: identifier in a line of any length, as a bug number written "#12345" is.
REFERENCE_WORDS = frozenset((
    "bug", "bugs", "issue", "issues", "ticket", "tickets", "pr", "lp", "closes", "fixes", "bz", "rhbz", "gh",
    "cve", "rfc", "pep", "revision", "rev", "commit", "changeset", "build", "patch", "release", "version",
))
#: The word before a number, matched at the start of the text before it read backwards: the
#: same word as searching ``(\w+)\W*$`` finds, without trying that from every position.
_PREVIOUS_WORD_REVERSED = re.compile(r"\W*(\w+)")
_REFERENCE_WORDS_REVERSED = frozenset(word[::-1] for word in REFERENCE_WORDS)
#: Query parameters that track a reader, not name a thing: a repost rewrites them.
TRACKING_PARAMETERS = frozenset(("fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "ref", "source", "src",
                                 "igshid", "_ga", "_gl", "cmpid", "ncid", "ocid", "yclid"))
_QUERY_VALUE = re.compile(r"[?&;]([^=&;#\s]+)=(\d+)(?=[&;#]|$)")
_HOST = re.compile(r"^(?:(?:https?|ftp)://)?[^/?#]*")
_A_DIGIT = re.compile(r"\d")
_DIGIT_RUNS = re.compile(r"\d+(?:_\d+)*")  # "x86_64" folds to "x0", as one value
_LETTER = re.compile(r"[^\W\d_]")
_LITERAL_WORD = re.compile(r"(?!0(?:\s|$))\w")
_ZERO_RUN = re.compile(r"(?<!\S)0(?: 0)+(?!\S)")
_DATE_NAMES = "|".join(sorted(_DATE_WORDS, key=len, reverse=True))
#: A month or weekday name right before or after a masked value is part of it.
_DATE_BEFORE = re.compile(rf"(?<!\S)(?:{_DATE_NAMES})[.,]?(?=(?:\s+(?:{_DATE_NAMES})[.,]?)*\s+[\x00\x01])")
_DATE_AFTER = re.compile(rf"([\x00\x01][.,]?\s+)(?:{_DATE_NAMES})[.,]?(?!\S)")
_DATE_AFTER_MASKED = "\\1" + _STAMP_MASK
_DATE_ANY = re.compile(rf"\b(?:{_DATE_NAMES})\b")
#: Template items: words, and tokens of punctuation alone ("--", "*") or a mask.
_TEMPLATE_ITEM = re.compile(r"\w+|(?<!\S)[^\w\s]+(?!\S)")


def is_identifier(token: str) -> bool:
    """Whether a token holding a digit is an identifier (never folded), not a plain number.

    An identifier mixes digits with letters or separators: ids, bug numbers,
    versions, dates and times. A plain number is a count, an amount or a
    measure, which a repost updates.

    >>> [is_identifier(t) for t in ("CVE-2022-0794", "#1038603", "1.2.3", "16:03:49", "2022-08-25", "v2")]
    [True, True, True, True, True, True]
    >>> [is_identifier(t) for t in ("40,000", "$1.2bn", "3rd", "1990s", "2.5%", "(120)", "58-year-old")]
    [False, False, False, False, False, False, False]
    """
    core = token.strip(_EDGE)
    return bool(core) and _PLAIN_NUMBER.fullmatch(core) is None


def value_keys(text: str, every_number: bool = False, template: bool = True) -> tuple[str, str | None]:
    """(identifier key, template key) of a line; the template key is None for a line without a template.

    The **identifier key** is the set of tokens that two copies of a line
    must share: identifiers (:func:`is_identifier`), plain numbers named as
    references by the word before them ("Bug 12345", "Closes: 961097",
    :data:`REFERENCE_WORDS`), the numbers a link names a thing by
    (:func:`link_numbers`), and with ``every_number`` (short lines, whose
    numbers are their content) every number and whole links; each as its
    letters and digits, so that punctuation does not tell two apart ("6’5"
    is "6'5"), and e-mail addresses (each names one person or list). The
    rest of a long line's links is left out: reposts rewrite them.

    The **template key** is the line with its values masked, each run of
    values one slot ``0``, for a line a template prints with a date or a
    time stamped in: dates, times, month and weekday names next to a
    number, and with them mailboxes (up to three name words and an
    ``<address>``, or a bare address) and links. Other words are as in
    :func:`match_key`, and a token of punctuation alone (``--``, ``*``) is
    kept: the lines a template prints at different times share the key. A
    line whose values say *what* — a count, a bug or CVE number, a version,
    a copyright year — or only *who* has none: its values are its
    information, so it is a line of its own. Nor has a line without a
    stamp, or without literal text (values alone, a date or an address, or
    values and punctuation after them: no text to be a template of); nor any
    line with ``template=False`` (the identifier key alone is cheaper).

    >>> value_keys(" -- Timo Aaltonen <tj@debian.org>  Thu, 25 Aug 2022 16:03:49 +0200")
    ('16.03.49 tj.debian.org', '-- 0')
    >>> value_keys("Closes: #1038603"), value_keys("License: OpenLDAP-2.8")
    (('1038603', None), ('openldap.2.8', None))
    >>> value_keys("Power was cut to 40,000 homes", every_number=True)[0], value_keys("Power was cut")
    ('40.000', ('', None))
    >>> value_keys("Fix Bug 12345 where the parser crashed when reading empty files from the network")[0]
    '12345'
    >>> value_keys("See https://bugs.debian.org/961097 for the details of the crash in the panel")[0]
    '961097'
    >>> value_keys("2022-01-02  Colin Watson  <cjwatson@debian.org>")
    ('2022.01.02 cjwatson.debian.org', None)
    >>> value_keys("Date:   Fri Feb 1 06:41:51 2019 +0000")[1], value_keys("<a@b.org> and Bruce <b@p.com>.")[1]
    ('date 0', None)
    """
    # most lines have no value: a look at the raw text settles them (NFKC makes
    # digits only of super- and subscripts and the like, which stay words here)
    if _A_DIGIT.search(text) is None and "@" not in text and "://" not in text and "www." not in text:
        return "", None
    return _value_keys(text, every_number, template)


#: Lines whose value keys are remembered per process: pages repeat their
#: dated and numbered lines (syndication dev: 30k lines with digits, 12k
#: distinct). The keys are a function of the line alone, so remembering them
#: changes no result.
VALUE_KEYS_CACHED = 1 << 15


@functools.lru_cache(maxsize=VALUE_KEYS_CACHED)
def _value_keys(text: str, every_number: bool, template: bool) -> tuple[str, str | None]:
    folded = unicodedata.normalize("NFKC", text).casefold()
    linked = "@" in folded or "://" in folded or "www." in folded
    if not linked and _DIGITS.search(folded) is None:
        return "", None
    identifiers = []
    if linked:
        links = _LINK.findall(folded)
        if every_number:  # a short line's link is its content ("Fixes https://bugs.gnu.org/54521")
            identifiers += [".".join(_WORD.findall(link)) for link in links if _DIGITS.search(link)]
        else:
            identifiers += [number for link in links for number in link_numbers(link)]
        # an address names one person or list: "Upstream-Contact: …" for two people are two lines
        identifiers += [".".join(_WORD.findall(address)) for address in _ADDRESS.findall(folded)]
    if linked and template:
        folded = _LINK.sub(f" {_REF_MASK} ", folded)
        if "@" in folded:
            folded = _MAILBOX.sub(f" {_REF_MASK} ", folded)
    elif linked:  # the rest of a link is no identifier of a long line: take it out of the way
        folded = _MAILBOX.sub(" ", _LINK.sub(" ", folded))
    pieces = []
    last = 0
    told = False  # a value that is not a date or a time: what the line says, not when it was printed
    for token in _NUMBER_TOKEN.finditer(folded):
        core = token.group().strip(_EDGE)  # the edge characters hold no digit: core has one
        plain = _PLAIN_NUMBER.fullmatch(core) is not None
        if every_number or not plain or _names_a_reference(folded, token.start()):
            identifiers.append(".".join(_WORD.findall(core)))
        if not template:
            continue
        # a number, or digits and separators only (a date, a time, a version), fills a slot
        stamp = _STAMP.fullmatch(core) is not None
        if stamp or plain or _LETTER.search(core) is None:
            pieces.append(folded[last : token.start()])
            pieces.append(_STAMP_MASK if stamp else _MASK)
            last = token.end()
        else:  # letters and digits (a version, a CVE id): a value that stays in the line's words
            told = True
    identifier_key = " ".join(sorted(set(identifiers)))
    if not template or told:
        return identifier_key, None
    pieces.append(folded[last:])
    masked = "".join(pieces)
    if _DATE_ANY.search(masked) is not None:
        masked = _DATE_BEFORE.sub(_STAMP_MASK, _DATE_AFTER.sub(_DATE_AFTER_MASKED, masked))
    slots = _SLOT.findall(masked)
    # only a stamp (a date, a time; with mailboxes and links) is what a template varies
    if not any(_STAMP_MASK in slot for slot in slots) or any(
            _MASK in slot and _STAMP_MASK not in slot for slot in slots):
        return identifier_key, None
    masked = masked.replace(_STAMP_MASK, _MASK).replace(_REF_MASK, _MASK)
    items = " ".join(_TEMPLATE_ITEM.findall(_DIGIT_RUNS.sub("0", masked)))
    key = _ZERO_RUN.sub("0", items.replace(_MASK, "0"))  # no literal is "0": digits fold, runs collapse
    # literal text: a word, or the punctuation a line opens with ("--" of a sign-off, a bullet)
    literal = _LITERAL_WORD.search(key) is not None or not key.startswith("0")
    return identifier_key, (key if literal else None)


def _names_a_reference(folded: str, start: int) -> bool:
    """Whether the word before a number makes it a reference ("bug 12345", "LP: 1234")."""
    before = _PREVIOUS_WORD_REVERSED.match(folded[max(0, start - 24) : start][::-1])
    return before is not None and before.group(1) in _REFERENCE_WORDS_REVERSED


def link_numbers(link: str) -> list[str]:
    """The numbers a link names a thing by: those of its path, and numeric query values.

    ``?id=85827``, ``bugs.debian.org/961097`` and
    ``…/bug-tar/2013-01/msg00001.html`` name one bug or message each; a
    repost rewrites a link's host or its tracking parameters (``utm_*``,
    :data:`TRACKING_PARAMETERS`), which are therefore left out.

    >>> link_numbers("https://bugzilla.gnome.org/show_bug.cgi?id=85827&utm_source=feed&ref=7")
    ['85827']
    >>> link_numbers("http://lists.gnu.org/archive/html/bug-tar/2013-01/msg00001.html"), link_numbers("https://ex2.com")
    (['2013', '01', '00001'], [])
    """
    numbers = [value for name, value in _QUERY_VALUE.findall(link)
               if not name.startswith("utm_") and name not in TRACKING_PARAMETERS]
    path = _HOST.sub("", link, count=1).split("?", 1)[0].split("#", 1)[0]
    return numbers + _DIGITS.findall(path)


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
