"""Configuration: one frozen dataclass per concern, composed into :class:`CleanConfig`.

Every default is a named module constant so the documentation, the CLI and the
code agree on one value. A TOML file maps onto the same dataclasses
(:func:`load_config`), with one table per concern::

    [read]
    text_field = "content"

    [dedup]
    threshold = 0.6
    boilerplate_docs = 30

>>> cfg = CleanConfig(dedup=DedupConfig(threshold=0.5))
>>> cfg.dedup.threshold, cfg.read.text_field
(0.5, 'text')
"""

from __future__ import annotations

import codecs
import dataclasses
import math
import numbers
import re
import tomllib
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

TEXT_FIELD = "text"
ID_FIELD = "id"
URL_FIELD = "url"
DATE_FIELD = "date"

#: Lines longer than this are never matched against chrome rules: chrome is
#: short, and the cap bounds regex work on pathological lines.
MAX_RULE_CHARS = 400
#: Shortest run of headline-like lines after the article body that is treated
#: as a related-links list. One headline alone is often the article's own title.
MIN_RELATED_RUN = 2
#: Headline-like lines have at most this many words.
MAX_HEADLINE_WORDS = 18
#: In ``clean``, a page whose site has at least this many other pages in the
#: corpus is judged with the site's evidence: the context pass removes a line it
#: scores low only when the site's other pages carry it too.
SITE_PAGES = 3

#: Shingles are character n-grams of the match key by default: a typo or a
#: swapped word changes a handful of the ~200 shingles of a paragraph, where
#: with word 3-grams it changes three of ~30 (see docs/algorithm.md).
SHINGLE: ShingleKind = "char"
#: Characters (or words, with word shingles) per shingle.
NGRAM = 5
NUM_PERM = 128
SEED = 1
#: MinHash signature scheme: ``datasketch`` (one affine permutation per slot,
#: equal to datasketch's MinHash) or ``oph`` (one permutation hashing with
#: optimal densification: one hash per shingle).
SCHEME: SignatureScheme = "datasketch"
#: Estimated Jaccard similarity (character 5-grams) at or above which two
#: paragraphs are copies. Reposts of syndication_dev edited with a changed
#: word or two sit at 0.6-0.9; unrelated paragraphs below 0.1.
THRESHOLD = 0.5
#: Paragraphs shorter than SHORT_CHARS characters need SHORT_THRESHOLD: in a
#: 40-character line one changed word moves Jaccard as much as a sentence does
#: in a paragraph, and list items ("1 tablespoon soy sauce") differ by little.
SHORT_CHARS = 60
SHORT_THRESHOLD = 0.75
#: Keys shorter than this (characters; words with word shingles) get the exact
#: hash only: a MinHash of a handful of shingles cannot tell an edit from a
#: different line.
MIN_MINHASH_LENGTH = 20
#: A cluster spanning at least this many documents is boilerplate: every copy goes.
BOILERPLATE_DOCS = 20
#: When every copy has a URL, a cluster on this many distinct sites is
#: boilerplate. Higher than BOILERPLATE_DOCS because each site's own template
#: is already caught per site; what is left across sites is mostly syndication.
BOILERPLATE_SITES = 50
#: With a url field: a cluster covering at least this share of one site's pages
#: (and at least SITE_MIN_DOCS of them) is that site's template.
SITE_SHARE = 0.5
SITE_MIN_DOCS = 3
#: Keys longer than this get the exact hash and sentence hashes only: a 50 MB
#: "paragraph" (a dump with no line breaks) is not a repost candidate worth
#: fifty million shingles.
MAX_MINHASH_CHARS = 100_000
#: A paragraph whose sentences (4+ words each), covering at least this share of
#: its characters, all appeared in other documents' kept paragraphs is a copy:
#: reposts split, join and splice paragraphs, which no paragraph-level hash sees.
SENTENCE_COVERAGE = 0.8
#: A document keeping less than this share of its (post-strip, non-boilerplate)
#: characters is dropped as a duplicate document.
MIN_KEPT = 0.03
#: ... unless what it keeps includes a paragraph of at least this many
#: characters found nowhere else (no copy, no sentence in another document):
#: dropping it would lose text the corpus has no other copy of. Measured on the
#: syndication dev set (docs/algorithm.md): 140 keeps 23 documents' own
#: paragraphs; shorter bars keep more fragments with missed copies in them.
NOVEL_CHARS = 140
#: Lines of at most this many words (and under ``short_chars`` characters) are
#: also matched when one word of 4+ letters is a typo apart (0: off).
TYPO_WORDS = 6
#: A link list the stripper found after an article (no "related" header above
#: it) is kept as the article's own list when none of its lines is found on a
#: page that does not also carry the article, while at least this share of the
#: site's lists (found nowhere, or naming another page's title) name a title
#: (0: never). Related links name other pages' titles; where a corpus holds
#: those pages, a list whose lines occur nowhere else belongs to its article.
#: At least RELATED_EVIDENCE_RUNS lists of the site must be seen for the share
#: to count (resolve.confirm_link_lists).
RELATED_EVIDENCE = 0.5
RELATED_EVIDENCE_RUNS = 3
#: Bytes of MinHash signatures held in RAM before they spill to the scratch
#: folder (512 bytes per paragraph at 128 permutations: 2 GB is ~4 million
#: paragraphs, ~400k documents of the benchmark corpus). Spilling changes no result.
MEMORY_LIMIT = 2 << 30

#: Longest document read: a JSONL line, a text file, a Parquet text cell
#: (bytes after decompression). Longer ones are bad input, found without
#: holding them: a small archive can hold gigabytes of one line. 0 reads any
#: length. Cleaning a document peaks at 13 (one long paragraph) to 60 (many
#: short lines) times its size, so 16 MB keeps one document under 1 GB, which
#: a 2 GB worker survives; the longest of 2,324 real documents (package
#: changelogs) is 1.7 MB, and web crawls cut pages at 1 MB.
MAX_DOCUMENT_BYTES = 16 << 20
#: Permutation seeds are 32-bit (numpy's RandomState, as datasketch uses it).
MAX_SEED = 2**32 - 1

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
          "g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}


def parse_size(value: str | int, where: str = "") -> int:
    """Bytes in a size like ``512MB``, ``2GB`` or ``1048576`` (binary units; 0 = no limit).

    ``where`` names the setting in an error.

    >>> parse_size("2GB"), parse_size("512 mb"), parse_size(4096)
    (2147483648, 536870912, 4096)
    >>> parse_size("lots", "dedup.memory_limit")
    Traceback (most recent call last):
    ...
    dedupe.errors.ConfigError: dedup.memory_limit: not a size: 'lots' (use e.g. 512MB, 2GB)
    """
    prefix = f"{where}: " if where else ""
    if isinstance(value, int) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
        if match is None or match.group(2).lower() not in _UNITS:
            raise ConfigError(f"{prefix}not a size: {value!r} (use e.g. 512MB, 2GB)")
        number, unit = float(match.group(1)), match.group(2).lower()
    if number < 0:
        raise ConfigError(f"{prefix}a size cannot be negative: {value!r}")
    return int(number * _UNITS[unit])

KeepPolicy = Literal["placement", "first", "earliest", "longest"]
ShingleKind = Literal["char", "word"]
SignatureScheme = Literal["datasketch", "oph"]
CommentsPolicy = Literal["keep", "drop"]
#: Where per-document work runs: worker processes on this machine, or a Dask cluster.
EngineName = Literal["local", "dask"]

#: Which copy of a duplicate is kept: the first in input order.
KEEP: KeepPolicy = "placement"
#: User comments are text people wrote: kept unless asked otherwise.
COMMENTS: CommentsPolicy = "keep"
#: LSH bands: 0 chooses them from the threshold (``fingerprint.optimal_bands``).
BANDS = 0
ENGINE: EngineName = "local"
#: What ``--parts`` writes: JSONL (compressed or not) or Parquet part files.
PartsFormat = Literal["jsonl", "jsonl.gz", "jsonl.zst", "parquet"]
PARTS_FORMAT: PartsFormat = "jsonl"


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (list, tuple)):
        return f"the list {list(value)!r}"
    if isinstance(value, dict):
        return "a table"
    return f"{type(value).__name__} {value!r}"


def _unquoted(name: str, value: Any, parse: Callable[[str], Any]) -> str:
    """A hint for a number or boolean written in quotes: the line without them."""
    if isinstance(value, str):
        try:
            parse(value)
        except ValueError:
            return ""
        return f" (write {name} = {value.strip().lower()} without quotes)"
    return ""


def _parse_bool(text: str) -> bool:
    if text.strip().lower() not in ("true", "false"):
        raise ValueError(text)
    return text.strip().lower() == "true"


def _coerce(where: str, value: Any, annotation: Any) -> Any:
    """``value`` as the type ``annotation`` names, or a :class:`ConfigError` saying what to write.

    Integers are accepted for floats; nothing is parsed from strings, so a
    quoted ``"0.5"`` or ``"false"`` is an error rather than a silent surprise.
    """
    name = where.rsplit(".", 1)[-1]
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        (annotation,) = [a for a in args if a is not type(None)]
        return _coerce(where, value, annotation)
    if origin is Literal:
        if value not in args:
            choices = ", ".join(repr(a) for a in args)
            raise ConfigError(f"{where} must be one of {choices}, not {_describe(value)}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {_describe(value)}"
                              + _unquoted(name, value, _parse_bool))
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            hint = _unquoted(name, value, int)
            if isinstance(value, float) and not hint:
                hint = " (a whole number)"
            raise ConfigError(f"{where} must be an integer, not {_describe(value)}{hint}")
        return int(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{where} must be a number, not {_describe(value)}" + _unquoted(name, value, float))
        if math.isnan(value):
            raise ConfigError(f"{where} must be a number, not nan")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string, not {_describe(value)} (write it in quotes)")
        return value
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            example = f"[{value!r}]".replace("'", '"') if isinstance(value, str) else '["name"]'
            raise ConfigError(f"{where} must be a list, not {_describe(value)} (write {name} = {example})")
        return tuple(_coerce(f"{where}[{number}]", item, args[0]) for number, item in enumerate(value))
    return value  # a type this checker does not know: left to the field's own checks


def _check_types(section: str, config: Any) -> None:
    """Check (and normalise: int to float, list to tuple) every field of a config dataclass."""
    hints = _type_hints(type(config))
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        fixed = _coerce(f"{section}.{item.name}", value, hints[item.name])
        if fixed is not value:
            object.__setattr__(config, item.name, fixed)


_HINTS: dict[str, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    if cls.__qualname__ not in _HINTS:
        _HINTS[cls.__qualname__] = typing.get_type_hints(cls)
    return _HINTS[cls.__qualname__]


#: Bytes an ASCII-compatible encoding must read as the same ASCII text: every
#: 7-bit byte but ESC (ISO-2022 encodings switch character sets with it), and
#: sequences that codecs with escapes read as something else (raw_unicode_escape,
#: utf-7, hz; idna turns an xn-- label into Unicode).
_ASCII_PROBES = (bytes(b for b in range(128) if b != 0x1B), b"\\u0041 +AGE- ~{a~}",
                 b"xn--bcher-kva.example")


def check_fallback_encoding(name: str) -> str:
    """``name`` if it is a text encoding that reads ASCII bytes as ASCII, else a :class:`ConfigError`.

    A fallback decodes files that are not UTF-8, which in practice are
    ASCII-compatible legacy encodings (cp1252, latin-1, shift_jis, gb18030,
    koi8-r, ...). Codecs that are not text encodings (rot13, hex, base64),
    ones that would turn an ASCII file into other characters (utf-16, utf-32,
    utf-7, idna, punycode, EBCDIC code pages) and UTF-8 itself (always tried
    first) are refused rather than let them produce garbage silently. A file
    the fallback cannot decode either is bad input (see
    :func:`dedupe.readers.decode_fallback`).

    >>> check_fallback_encoding("cp1252")
    'cp1252'
    >>> check_fallback_encoding("utf-16")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dedupe.errors.ConfigError: read.fallback_encoding: 'utf-16' does not read ASCII bytes as ASCII text...
    """
    where = "read.fallback_encoding"
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise ConfigError(f"{where}: unknown encoding {name!r}") from None
    if info.name in ("utf-8", "utf-8-sig"):
        raise ConfigError(f"{where}: {name!r} is what every file is read as first; a fallback decodes the "
                          "files that are not UTF-8: give their encoding, such as cp1252 or latin-1")
    for probe in _ASCII_PROBES:
        try:
            same = probe.decode(name) == probe.decode("ascii")
        except LookupError:  # bytes.decode refuses codecs that are not text encodings
            raise ConfigError(f"{where}: {name!r} is not a text encoding (it transforms bytes); "
                              "give the file's character encoding, e.g. cp1252") from None
        except (UnicodeError, ValueError):
            same = False
        if not same:
            raise ConfigError(f"{where}: {name!r} does not read ASCII bytes as ASCII text, so it would "
                              "turn a file into other characters; give an ASCII-compatible encoding such "
                              "as cp1252, latin-1, shift_jis or gb18030 (or re-encode the file as UTF-8)")
    return name


@dataclass(frozen=True, slots=True)
class ReadConfig:
    """How input records are read.

    Attributes:
        text_field: JSON field holding the document text.
        id_field: JSON field holding the document id (missing ids become
            ``"<file>:<line>"``).
        url_field: JSON field with the page URL; its host groups pages into sites.
        date_field: JSON field read by the ``earliest`` keep policy.
        skip_bad: skip unreadable records with an entry in the removal record,
            instead of stopping with an error.
        fallback_encoding: decode a ``.txt`` file that is not UTF-8 with this
            encoding (``cp1252`` for most Western legacy files) instead of
            rejecting it. Only ASCII-compatible text encodings are accepted
            (:func:`check_fallback_encoding`), and nothing is replaced: a
            file with bytes this encoding cannot decode either is bad input
            naming the first of them (cp1252's five undefined bytes read as
            the C1 control characters of the same number, as browsers and
            latin-1 read them; latin-1 decodes every byte).
        max_document_bytes: longest document read (a JSONL line, a text
            file or a Parquet text cell), in bytes after decompression (a size string like ``"1GB"`` is accepted;
            0: no limit). A longer one is bad input, detected without
            holding it in memory.
    """

    text_field: str = TEXT_FIELD
    id_field: str = ID_FIELD
    url_field: str = URL_FIELD
    date_field: str = DATE_FIELD
    skip_bad: bool = False
    fallback_encoding: str | None = None
    max_document_bytes: int = MAX_DOCUMENT_BYTES

    def __post_init__(self) -> None:
        if isinstance(self.max_document_bytes, str):
            size = parse_size(self.max_document_bytes, "read.max_document_bytes")
            object.__setattr__(self, "max_document_bytes", size)
        _check_types("read", self)
        for name in ("text_field", "id_field", "url_field", "date_field"):
            _check(bool(getattr(self, name)), f"read.{name} must not be empty")
        if self.fallback_encoding is not None:
            check_fallback_encoding(self.fallback_encoding)
        _check(self.max_document_bytes >= 0, "read.max_document_bytes must be a size (0: no limit)")


@dataclass(frozen=True, slots=True)
class NormalizeConfig:
    """Encoding repair.

    Attributes:
        repair: run ftfy's conservative repair (mojibake, HTML entities,
            control characters). Off leaves text exactly as read.
    """

    repair: bool = True

    def __post_init__(self) -> None:
        _check_types("normalize", self)


@dataclass(frozen=True, slots=True)
class StripConfig:
    """Per-document chrome rules.

    Attributes:
        enabled: apply the rules at all.
        max_rule_chars: longer lines are never matched by a rule.
        min_related_run: shortest headline run removed as a related-links list.
        max_headline_words: longest line (in words) that can be headline-like.
        disabled_rules: rule names to switch off (``related-links`` and
            ``context`` name the two context-dependent passes).
        context: run the context pass (a line's verdict from its neighbours,
            its page and how often it recurs on its site). On by default: on
            whole-page dumps it removes the chrome the catalogue does not
            know (site menus, teasers, footers). It judges only pages that
            show a website's template and are not hard-wrapped text, so
            READMEs, changelogs, licences and extracted articles keep their
            lines; ``False`` leaves the catalogue and the related-link runs
            (docs/strip.md).
        context_threshold: keep lines scoring at least this (0..1); ``None``
            uses the fitted model's threshold.
        site_pages: on a page whose site has at least this many other pages
            in the corpus (the line counts of ``templates``), a line the
            context pass scores low goes only when those pages carry it too
            and it is not headline-shaped; 0 lets the score alone decide.
            ``clean`` passes the evidence in, as its resolver removes what
            recurs and tells a title from the copies other pages list;
            ``strip`` judges by the score.
        templates: count how often every line recurs across the corpus and
            across each site's pages (one extra read of the input) and give
            the counts to the context pass.
        comments: ``"keep"`` user comments (default) or ``"drop"`` them:
            the lines of a comment section — after a comment counter such as
            "12 comments:" that follows the end of the page's main text, up
            to the last comment form — go with rule ``comment``. Keep is the
            default because comments are text people wrote, and the section
            rule also takes article lines when a counter sits high on a page
            (measured in docs/strip.md); comment widgets go either way.
    """

    enabled: bool = True
    max_rule_chars: int = MAX_RULE_CHARS
    min_related_run: int = MIN_RELATED_RUN
    max_headline_words: int = MAX_HEADLINE_WORDS
    disabled_rules: tuple[str, ...] = ()
    context: bool = True
    context_threshold: float | None = None
    site_pages: int = SITE_PAGES
    templates: bool = True
    comments: CommentsPolicy = COMMENTS

    def __post_init__(self) -> None:
        _check_types("strip", self)
        if self.disabled_rules:
            from .strip import rule_names  # strip imports this module

            known = rule_names()
            unknown = [name for name in self.disabled_rules if name not in known]
            _check(not unknown, f"strip.disabled_rules: no rule named {', '.join(map(repr, unknown))}; "
                                "`dedupe rules` lists the rules (and related-links, context, comment "
                                "name the passes)")
        _check(self.max_rule_chars >= 1, "strip.max_rule_chars must be at least 1")
        _check(self.min_related_run >= 1, "strip.min_related_run must be at least 1")
        _check(self.max_headline_words >= 1, "strip.max_headline_words must be at least 1")
        _check(self.site_pages >= 0, "strip.site_pages must be at least 0")
        if self.context_threshold is not None:
            _check(0.0 <= self.context_threshold <= 1.0, "strip.context_threshold must be in [0, 1]")


@dataclass(frozen=True, slots=True)
class DedupConfig:
    """Fingerprinting, clustering and the keep policy.

    Attributes:
        enabled: run the corpus-wide duplicate and boilerplate removal.
        shingle: ``char`` (character n-grams of the match key) or ``word``.
        ngram: characters (or words) per shingle.
        num_perm: MinHash permutations.
        seed: MinHash permutation seed (datasketch's meaning).
        scheme: MinHash signature scheme: ``datasketch`` (equal to
            datasketch's MinHash) or ``oph`` (one permutation hashing).
        threshold: estimated Jaccard at or above which paragraphs are copies.
        short_chars, short_threshold: paragraphs shorter than ``short_chars``
            characters need ``short_threshold`` (if higher).
        bands: LSH bands; 0 chooses bands and rows that minimise false
            positives plus false negatives around ``threshold``.
        min_minhash_length: shorter keys (characters, or words with word
            shingles) are matched by exact key only.
        boilerplate_docs: clusters spanning this many documents lose every copy.
        boilerplate_sites: the same, counted in distinct sites, for clusters
            whose every copy has a URL.
        site_share, site_min_docs: per-site template detection (needs a url field).
        keep: ``placement`` (an article's title over its copies in link
            lists, then input order), ``first`` (input order only),
            ``earliest`` (date field) or ``longest``; placement breaks the
            ties of the last two, input order every tie left.
        sentence_coverage: a paragraph whose earlier-seen sentences make up this
            share of it is a duplicate (``sentences``); above 1 switches it off.
        min_kept: documents keeping a smaller share of their text are dropped,
        novel_chars: unless they keep a paragraph this long that has no copy
            and shares no sentence with another document (0: drop anyway).
        typo_words: short lines of at most this many words are copies when
            one word differs by a typo (0: off).
        related_evidence: keep an unheaded link list after an article whose
            lines occur on no other page, when at least this share of its
            site's lists name titles of other pages (0: never keep).
        memory_limit: bytes of signatures held in RAM before they spill to
            the scratch folder (``TMPDIR``); a size string like ``"4GB"``
            is accepted; 0 never spills.
    """

    enabled: bool = True
    shingle: ShingleKind = SHINGLE
    ngram: int = NGRAM
    num_perm: int = NUM_PERM
    seed: int = SEED
    scheme: SignatureScheme = SCHEME
    threshold: float = THRESHOLD
    short_chars: int = SHORT_CHARS
    short_threshold: float = SHORT_THRESHOLD
    bands: int = BANDS
    min_minhash_length: int = MIN_MINHASH_LENGTH
    max_minhash_chars: int = MAX_MINHASH_CHARS
    boilerplate_docs: int = BOILERPLATE_DOCS
    boilerplate_sites: int = BOILERPLATE_SITES
    site_share: float = SITE_SHARE
    site_min_docs: int = SITE_MIN_DOCS
    keep: KeepPolicy = KEEP
    sentence_coverage: float = SENTENCE_COVERAGE
    min_kept: float = MIN_KEPT
    novel_chars: int = NOVEL_CHARS
    typo_words: int = TYPO_WORDS
    related_evidence: float = RELATED_EVIDENCE
    memory_limit: int = MEMORY_LIMIT

    def __post_init__(self) -> None:
        if isinstance(self.memory_limit, str):
            object.__setattr__(self, "memory_limit", parse_size(self.memory_limit, "dedup.memory_limit"))
        _check_types("dedup", self)
        _check(1 <= self.ngram <= 16, "dedup.ngram must be between 1 and 16")
        _check(2 <= self.num_perm <= 4096, "dedup.num_perm must be between 2 and 4096")
        _check(0 <= self.seed <= MAX_SEED, f"dedup.seed must be between 0 and {MAX_SEED}")
        _check(0.0 < self.threshold <= 1.0, "dedup.threshold must be in (0, 1]")
        _check(0.0 < self.short_threshold <= 1.0, "dedup.short_threshold must be in (0, 1]")
        _check(self.short_chars >= 0, "dedup.short_chars must be 0 (off) or a number of characters")
        _check(
            self.max_minhash_chars >= self.min_minhash_length,
            "dedup.max_minhash_chars must be at least dedup.min_minhash_length",
        )
        _check(self.bands >= 0, "dedup.bands must be 0 (automatic) or positive")
        if self.bands:
            _check(
                self.num_perm % self.bands == 0,
                f"dedup.bands ({self.bands}) must divide dedup.num_perm ({self.num_perm})",
            )
        _check(
            self.min_minhash_length >= self.ngram,
            "dedup.min_minhash_length must be at least dedup.ngram",
        )
        _check(self.boilerplate_docs >= 2, "dedup.boilerplate_docs must be at least 2")
        _check(self.boilerplate_sites >= 2, "dedup.boilerplate_sites must be at least 2")
        _check(0.0 < self.site_share <= 1.0, "dedup.site_share must be in (0, 1]")
        _check(self.site_min_docs >= 2, "dedup.site_min_docs must be at least 2")
        _check(0.0 <= self.min_kept <= 1.0, "dedup.min_kept must be in [0, 1]")
        _check(self.novel_chars >= 0, "dedup.novel_chars must be 0 (off) or a number of characters")
        _check(0.0 <= self.related_evidence <= 1.0, "dedup.related_evidence must be in [0, 1] (0: off)")
        _check(self.typo_words >= 0, "dedup.typo_words must be 0 (off) or a number of words")
        _check(self.memory_limit >= 0, "dedup.memory_limit must be a size")
        _check(self.sentence_coverage > 0.0, "dedup.sentence_coverage must be positive")


@dataclass(frozen=True, slots=True)
class CleanConfig:
    """Everything a cleaning run needs, one field per concern."""

    read: ReadConfig = field(default_factory=ReadConfig)
    normalize: NormalizeConfig = field(default_factory=NormalizeConfig)
    strip: StripConfig = field(default_factory=StripConfig)
    dedup: DedupConfig = field(default_factory=DedupConfig)

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            expected = _type_hints(type(self))[item.name]
            _check(isinstance(value, expected),
                   f"CleanConfig.{item.name} must be a {expected.__name__}, not {_describe(value)}")

    def replace(self, **sections: dict[str, Any]) -> CleanConfig:
        """Return a copy with some fields of some sections changed.

        >>> CleanConfig().replace(dedup={"ngram": 4}).dedup.ngram
        4
        """
        changed: dict[str, Any] = {}
        for name, values in sections.items():
            current = getattr(self, name, None)
            if current is None or not dataclasses.is_dataclass(current):
                raise ConfigError(f"unknown configuration section {name!r}")
            changed[name] = _replace_section(name, current, values)
        return dataclasses.replace(self, **changed)


def _replace_section(name: str, current: Any, values: dict[str, Any]) -> Any:
    known = {f.name for f in dataclasses.fields(current)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(
            f"unknown setting(s) {', '.join(unknown)} in [{name}]; known: {', '.join(sorted(known))}"
        )
    return dataclasses.replace(current, **values)


def load_config(path: str | Path, base: CleanConfig | None = None) -> CleanConfig:
    """Read a TOML file whose tables (``[read]``, ``[strip]``, ``[dedup]``, …) override ``base``."""
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    bad = [k for k, v in data.items() if not isinstance(v, dict)]
    if bad:
        raise ConfigError(f"{path}: settings must sit in tables like [dedup]; found {bad[0]!r}")
    try:
        return (base or CleanConfig()).replace(**data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
