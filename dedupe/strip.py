"""Per-document chrome removal with named rules.

Three passes, each explainable line by line:

* **The catalogue** (``dedupe/data/chrome.toml``): phrases and patterns for
  comment widgets, share and subscribe lines, navigation, cookie notices,
  copyright footers, bylines and date lines, read-more and credit lines, ads and
  "related posts" headers. A line is tested only if it is at most
  ``StripConfig.max_rule_chars`` long, and all patterns run at once in one
  RE2 set (:mod:`dedupe.pattern_set`), in time linear in the line.
* **Related-link runs**: headline-like lines (a few capitalised words, no
  sentence punctuation) that form a run after the article body, framed by page
  chrome, or follow a "related posts"-style header, are a list of links to
  other pages.
* **The context pass** (``dedupe/context.py``, on by default): a line's score
  from its shape, its neighbours, its page and how often it recurs on its
  site. It judges a page only when the page shows a website's template and is
  not hard-wrapped text; the related-link runs skip hard-wrapped text too.

:func:`strip` returns one verdict per paragraph: ``None`` to keep it, or the
name of the rule that removes it.

>>> page = ["Storm hits the coast", "The storm reached the coast on Monday night, "
...         "flooding streets and cutting power to thousands of homes.",
...         "Share this:", "Ten tips for winter gardening", "Why the bus is late again",
...         "No comments:", "Post a Comment"]
>>> strip(page)
[None, None, 'share', 'related-links', 'related-links', 'comment-count', 'comment-form']
"""

from __future__ import annotations

import functools
import itertools
import re
import tomllib
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from .chars import QUESTION, SENTENCE, SENTENCE_END, UNHEADED, UNHEADED_END, PageChars
from .config import StripConfig
from .errors import ConfigError
from .normalize import match_key
from .pattern_set import Check, PatternSet

if TYPE_CHECKING:
    from .context import ContextScorer, LineStats

#: Rule name given to lines removed as part of a related-links run.
RELATED_LINKS = "related-links"
#: Rule name given to lines the context pass scores as not article text.
CONTEXT = "context"
#: Pages with fewer lines are not judged by context: the model was fitted on
#: whole web pages, and a handful of lines says too little about position.
CONTEXT_MIN_LINES = 12
#: Rounds of the passes on a page at most. Each round the context pass removes
#: lines whose neighbourhood (and page length) the last round changed, so on a
#: long page of repeating blocks it can peel a few lines per round: 853 rounds
#: for 4,000 such lines, time growing with the square of the page. On the dev
#: pages the most rounds any page takes is 28 (2.7 on average); a page still
#: changing after this many keeps this round's verdicts. A page of up to
#: MAX_ROUNDS - 1 lines always converges first (a round that changes nothing
#: ends the loop, and every other round removes a line), so stripping stays
#: idempotent there.
MAX_ROUNDS = 32
#: Lines the context pass scores in one call. A batch's feature matrices take about
#: 1 kB a line, so a batch of long documents is scored in parts: 50k lines are
#: about 50 MB, and already share the calls' overhead over hundreds of pages.
CONTEXT_BATCH_LINES = 50_000
#: On a page where no line reaches the context threshold, lines scoring at
#: least this share of the best line's score are kept.
RELATIVE_KEEP = 0.5
#: Rule name given to the lines of a comment section with ``comments="drop"``.
COMMENT = "comment"
#: Catalogue rules whose lines open / close a comment section.
COMMENT_HEADER_RULE = "comment-count"
COMMENT_FORM_RULE = "comment-form"
#: Longest line (in words) that can be a comment section's title ("3 Responses to “Title”").
COMMENT_TITLE_MAX_WORDS = 25
#: Lines whose pattern verdicts a catalogue remembers, per generation (two),
#: and the longest line remembered: at most ~30 MB, and longer lines rarely recur.
SEEN_LINES = 65536
SEEN_MAX_CHARS = 100
#: Family whose rules open a related-links list.
RELATED_HEADER_FAMILY = "related-header"
#: Catalogue rule of copyright notices, and the shortest run of notices (each
#: with a year) that is a licence's list of holders rather than a page footer.
COPYRIGHT_RULE = "copyright"
HOLDER_LIST_MIN = 3
_YEAR = re.compile(r"(?<!\d)(?:1[89]|20)\d\d(?!\d)")
#: Families of the catalogue that belong to a website's template (menus, comment
#: widgets, share and subscribe bars, ads, cookie notices, "related" headers).
#: Their lines, and lines shared with the site's other pages, are the evidence
#: that a document is a rendering of a whole web page; without enough of it (a
#: README, a changelog, a licence, an extracted article) the context pass
#: leaves the document alone.
TEMPLATE_FAMILIES = frozenset({"navigation", "comments", "share", "subscribe", "ads", "cookies", "related-header"})
#: Evidence a page needs: TEMPLATE_MIN_EVIDENCE, and one per
#: LINES_PER_EVIDENCE lines (a 45,000-line licence with a stray "Comment:" is no
#: page). Each distinct template line counts once, twice within EDGE_LINES of
#: the page's top or bottom, where a site's menus and footers sit: one weak
#: signal in the middle of a document (a code line, a Markdown table) is not
#: enough. On the labelled pages this judges 3 pages fewer than one signal
#: anywhere, and content F1 does not drop.
TEMPLATE_MIN_EVIDENCE = 2
LINES_PER_EVIDENCE = 300
EDGE_LINES = 15
#: A page judged on less than STRONG_EVIDENCE whose lines the context pass
#: would remove more than CONTEXT_MAX_SHARE of, where the catalogue and the
#: related-link runs removed under RULES_MIN_SHARE, is a document the model
#: misreads (code, a record file, a list of file names): it keeps the rules'
#: verdicts. No labelled page is such a page.
STRONG_EVIDENCE = 4
CONTEXT_MAX_SHARE = 0.8
RULES_MIN_SHARE = 0.02
#: Markup source a page rendered as text never shows: a Markdown link
#: ``[text](url)``, a fenced code block, a reStructuredText directive or link.
#: A document with MARKUP_MIN_LINES such lines is a README or a changelog as
#: written, not a web page (one labelled page of 1,196 has one such line, a
#: row of tildes).
_MARKUP = re.compile(r"\]\((?:https?:|\.{0,2}/|#)|^(?:```|~~~)[\w+.-]*$|^\.\. [\w-]+::|`[^`]+ <https?://[^>]+>`_")
MARKUP_MIN_LINES = 3
_MARKUP_STARTS = ("```", "~~~", ".. ")
#: What a line of markup source holds somewhere (in text whose lines follow a line break)
_MARKUP_MARKS = ("](", "`_", "\n```", "\n~~~", "\n.. ")
#: A Debian machine-readable copyright file is a record file: every line is a
#: field or its continuation, "Comment:", "Source: https://…" and "All rights
#: reserved." included. The stripper leaves it whole. Each of its stanzas opens
#: with a ``Files:`` field; one beside another of its fields (RECORD_FIELDS)
#: marks the file, also once `dedupe clean` has taken out the fields it shares
#: with other files ("License: GPL-2+"). No labelled page has a ``Files:`` line.
RECORD_STANZA = "Files:"
RECORD_FIELDS = ("Copyright:", "License:", "Comment:", "Format:", "Upstream-Name:", "Upstream-Contact:",
                 "Disclaimer:")
#: Catalogue rule of dates and bylines. A date alone on a line followed by a
#: list item ("2000-05-30" then "* Fixed a crash.") heads a changelog's entry.
BYLINE_RULE = "byline"
_LETTER_WORD = re.compile(r"[^\W\d_]+")
#: A table written in plain text: TABLE_MIN_ROWS rows whose column bars line
#: up, or rows around a rule line (``----|----``). Its rows read like menus.
TABLE_MIN_ROWS = 3
_TABLE_RULE = re.compile(r"[\s|:+=-]*-{3,}[\s:=-]*[|+][\s|:+=-]*")
#: Hard-wrapped text (a changelog, a licence, a mail) breaks each paragraph
#: into lines of a fixed width, where a page dump has one block per line and its
#: paragraphs are long lines. A line wraps when it is WRAP_MIN_CHARS..
#: WRAP_MAX_CHARS long, has WRAP_MIN_WORDS+ words, does not end a clause, and the
#: next line starts in lower case; a document is wrapped when WRAPPED_SHARE of
#: its lines wrap and fewer than WRAPPED_LONG_SHARE are longer than
#: WRAP_MAX_CHARS. None of the 1,196 labelled pages is.
WRAP_MIN_CHARS = 40
WRAP_MAX_CHARS = 100
WRAP_MIN_WORDS = 4
WRAPPED_SHARE = 0.05
WRAPPED_LONG_SHARE = 0.05
#: Rules whose lines do not frame a related-links run: dates, bylines, bare
#: URLs and "Source:" lines occur in article text and plain documents alike (a
#: changelog's dates and links), so they say nothing about a page template.
UNFRAMING_RULES = frozenset({"byline", "read-more"})
#: A line with at least this many words and sentence-final punctuation is
#: article body; related-link runs are only looked for after the last one.
BODY_MIN_WORDS = 12
#: A line this long is body whatever its punctuation.
BODY_LONG_WORDS = 30
_SENTENCE_END = tuple(SENTENCE_END)
_NOT_HEADLINE_END = tuple(UNHEADED_END)


#: A catalogue pattern given as a table: the shape fully matches every pattern of
#: ``all`` and none of ``none`` (how a lookaround is written for RE2).
Conditions = tuple[tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class Rule:
    """One named chrome rule of the catalogue."""

    name: str
    family: str
    lang: str
    phrases: tuple[str, ...] = ()
    patterns: tuple[str | Conditions, ...] = ()
    examples: tuple[str, ...] = ()
    negatives: tuple[str, ...] = ()


class Catalogue:
    """A compiled rule catalogue: phrase lookup by match key, every pattern in one RE2 set.

    >>> cat = load_catalogue()
    >>> cat.match("Subscribe to: Post Comments (Atom)")
    'subscribe'
    >>> cat.match("The committee met on Tuesday to discuss the budget.") is None
    True
    """

    def __init__(self, rules: Sequence[Rule], vocab: dict[str, str] | None = None) -> None:
        self.rules = tuple(rules)
        self.families = {rule.name: rule.family for rule in self.rules}
        vocab = vocab or {}
        self._phrases: dict[str, str] = {}
        #: every pattern, placeholders filled in, in catalogue order
        self.checks: tuple[Check, ...] = ()
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ConfigError(f"chrome catalogue: rule name {rule.name!r} is used twice")
            seen.add(rule.name)
            for phrase in rule.phrases:
                key = match_key(phrase)
                if not key:
                    raise ConfigError(f"chrome rule {rule.name!r}: phrase {phrase!r} has no words")
                owner = self._phrases.setdefault(key, rule.name)
                if owner != rule.name:
                    raise ConfigError(
                        f"chrome catalogue: phrase {phrase!r} is in both {owner!r} and {rule.name!r}"
                    )
            for pattern in rule.patterns:
                every, refused = ((pattern,), ()) if isinstance(pattern, str) else pattern
                self.checks += (Check(rule.name, tuple(_expand(p, vocab, rule.name) for p in every),
                                      tuple(_expand(p, vocab, rule.name) for p in refused)),)
        # One automaton for every pattern: a line is read once, in time linear
        # in its length whatever the patterns (no backtracking on hostile lines).
        self._patterns = PatternSet(self.checks) if self.checks else None
        # Chrome recurs on every page of a site, so most short lines tested are
        # ones seen before (on the dev pages, 211k lines under 100 characters
        # are 87k distinct ones), and a line's pattern verdict never changes.
        # Two generations approximate least-recently-used: when the young one
        # fills, it becomes the old one and the oldest lines are forgotten.
        self._young: dict[str, str | None] = {}
        self._old: dict[str, str | None] = {}

    @functools.cached_property
    def reference_patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        """(rule name, the pattern as one Python ``re`` pattern) for every pattern, in catalogue order.

        What the RE2 set must agree with, line for line (the tests hold it to that).
        """
        return tuple((check.rule, check.reference()) for check in self.checks)

    @property
    def remembered(self) -> int:
        """Lines whose pattern verdicts are remembered now (at most twice ``SEEN_LINES``)."""
        return len(self._young) + len(self._old)

    def match(self, line: str, key: str | None = None) -> str | None:
        """Name of the first rule that matches ``line``, or ``None``."""
        return self.match_lines([line], [match_key(line) if key is None else key], len(line))[0]

    def match_lines(self, lines: Sequence[str], keys: Sequence[str], max_chars: int) -> list[str | None]:
        """:meth:`match` for each line of a page (``None`` for lines over ``max_chars``).

        The same answers, in one loop: a page's lines are mostly short chrome
        seen before, where a method call per line was a fifth of the cost.

        >>> load_catalogue().match_lines(["Post a Comment", "Storm hits the coast."],
        ...                              ["post a comment", "storm hits the coast"], 500)
        ['comment-form', None]
        """
        phrases, young, old = self._phrases, self._young, self._old
        out: list[str | None] = []
        for line, key in zip(lines, keys):
            if len(line) > max_chars:
                out.append(None)
                continue
            hit = phrases.get(key)
            if hit is not None and _not_a_label(line.strip()):
                hit = None
            if hit is None and self._patterns is not None:
                if len(line) > SEEN_MAX_CHARS:
                    hit = self._pattern(line)
                elif line in young:
                    hit = young[line]
                else:
                    hit = old[line] if line in old else self._pattern(line)
                    if len(young) >= SEEN_LINES:
                        self._old, old, self._young, young = young, young, {}, {}
                    young[line] = hit
            out.append(hit)
        return out

    def _pattern(self, line: str) -> str | None:
        hit = self._patterns.first(shape(line)) if self._patterns is not None else None
        if hit is None or is_source_line(line):
            return None  # a line of code or of markup source is the document's own
        return hit


def _not_a_label(line: str) -> bool:
    """A line whose words match a phrase but which is no widget label.

    Three shapes: a single word closed by a full stop, the end of a sentence
    wrapped onto its own line ("...the other\ncomments."), where labels are
    not written so ("Comments", "Website"); a list item or heading marked
    up in plain text ("* **meta**:", "- no comments", "## Homepage"), a
    document's own list or heading: a page rendered from its markup shows
    no such markers; and a line of code or markup source (:func:`is_source_line`).

    >>> [_not_a_label(line) for line in ("comments.", "Comments", "Read more...", "* **meta**:", "## Homepage")]
    [True, False, False, True, True]
    >>> _not_a_label("'name': {"), _not_a_label("/* name */")
    (True, True)
    """
    if line.endswith(".") and not line.endswith("..") and " " not in line:
        return True
    return line.startswith(_LIST_MARKERS) or _MARKDOWN_HEADING.match(line) is not None or is_source_line(line)


_LIST_MARKERS = ("* ", "- ", "+ ")
_MARKDOWN_HEADING = re.compile(r"#{1,6} ")
#: Marks of code and of markup source that a page rendered as text never shows:
#: C and HTML comments, shell substitution and prompts, backslashes, a grammar's
#: ``::=``, a Markdown link's ``](url``, a line that opens a block (``{ [ (``
#: at its end) or closes one (``} ] )`` at its start), and a table's rule
#: line (``----|----``, ``---+---``). On the labelled pages no catalogue hit
#: has one; in package documentation they were shell pipelines and Markdown
#: tables read as menus, ``'name': {`` and ``/* name */`` read as form labels.
_SOURCE_OPENS = ("{", "[", "(")
_SOURCE_CLOSES = ("}", "]", ")", "$ ", ">>> ")
_MARKDOWN_LINK = re.compile(r"\]\((?:https?:|\.{0,2}/|#)")


def is_source_line(line: str) -> bool:
    """A line of code or of markup source: never a widget label, menu or notice.

    >>> [is_source_line(line) for line in ("'name': {", "},", "cs=$(grep charset= $x | cut -f2)", "---|---|---",
    ...                                "Home | About | Contact", "{ 131 comments }", "[Reply]")]
    [True, True, True, True, False, False, False]
    """
    # plain substring tests: the catalogue asks this of every distinct line it tests
    line = line.strip()
    return (line.endswith(_SOURCE_OPENS) or line.startswith(_SOURCE_CLOSES)
            or "/*" in line or "*/" in line or "<!--" in line or "$(" in line or "::=" in line or "&&" in line
            or "\\" in line
            or ("](" in line and _MARKDOWN_LINK.search(line) is not None)
            or ("---" in line and _TABLE_RULE.fullmatch(line) is not None))


def shape(line: str) -> str:
    """The form patterns are matched against: NFKC, casefold, single spaces.

    >>> shape("  Posted   BY  Ann ")
    'posted by ann'
    """
    return " ".join(unicodedata.normalize("NFKC", line).casefold().split())


def _expand(pattern: str, vocab: dict[str, str], rule: str) -> str:
    def sub(found: re.Match[str]) -> str:
        name = found.group(1)
        if name not in vocab:
            raise ConfigError(f"chrome rule {rule!r}: unknown placeholder {{{name}}}")
        return vocab[name]

    # Only {word} placeholders; regex quantifiers like {1,30} have digits.
    return re.sub(r"\{([a-z_]+)\}", sub, pattern)


def parse_catalogue(data: dict[str, object], source: str = "catalogue") -> Catalogue:
    """Build a :class:`Catalogue` from parsed TOML data (see ``data/chrome.toml``)."""
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ConfigError(f"{source}: [[rule]] entries expected")
    rules = []
    for index, raw in enumerate(raw_rules):
        if not isinstance(raw, dict) or "name" not in raw:
            raise ConfigError(f"{source}: rule #{index + 1} has no name")
        unknown = set(raw) - {"name", "family", "lang", "phrases", "patterns", "examples", "negatives"}
        if unknown:
            raise ConfigError(f"{source}: rule {raw['name']!r} has unknown keys {sorted(unknown)}")
        rules.append(
            Rule(
                name=str(raw["name"]),
                family=str(raw.get("family", raw["name"])),
                lang=str(raw.get("lang", "*")),
                phrases=tuple(raw.get("phrases", ())),
                patterns=tuple(_pattern_entry(entry, str(raw["name"]), source) for entry in raw.get("patterns", ())),
                examples=tuple(raw.get("examples", ())),
                negatives=tuple(raw.get("negatives", ())),
            )
        )
    vocab = data.get("vocab", {})
    if not isinstance(vocab, dict):
        raise ConfigError(f"{source}: [vocab] must be a table")
    return Catalogue(rules, {str(k): str(v) for k, v in vocab.items()})


def _pattern_entry(entry: object, rule: str, source: str) -> str | Conditions:
    """A pattern of the TOML file: a string, or a table of ``all`` and ``none`` patterns."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and set(entry) <= {"all", "none"}:
        every, refused = entry.get("all", []), entry.get("none", [])
        if (isinstance(every, list) and every and isinstance(refused, list)
                and all(isinstance(p, str) for p in every + refused)):
            return tuple(every), tuple(refused)
    raise ConfigError(f"{source}: rule {rule!r}: a pattern is a string or a table "
                      "{ all = [patterns, at least one], none = [patterns] }")


@functools.lru_cache(maxsize=8)
def load_catalogue(path: str | None = None) -> Catalogue:
    """Load the bundled catalogue, or a TOML file of the same format.

    The result is immutable, so caching it changes no result.
    """
    if path is None:
        text = resources.files("dedupe").joinpath("data/chrome.toml").read_text("utf-8")
        source = "dedupe/data/chrome.toml"
    else:
        try:
            text = Path(path).read_text("utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read chrome catalogue: {exc.strerror}") from exc
        source = path
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from exc
    return parse_catalogue(data, source)


@functools.lru_cache(maxsize=1)
def comment_title() -> re.Pattern[str]:
    """The start of a comment section's title line, from the bundled catalogue's ``[comment_title]`` table.

    >>> bool(comment_title().match("3 Responses to “Storm Ada”")), bool(comment_title().match("3 responses"))
    (True, False)
    """
    text = resources.files("dedupe").joinpath("data/chrome.toml").read_text("utf-8")
    table = tomllib.loads(text)["comment_title"]
    nouns, prepositions = "|".join(table["nouns"]), "|".join(table["prepositions"])
    return re.compile(rf"{table['count']}\s+(?:{nouns})\s+(?:{prepositions})\s+\S", re.IGNORECASE)


def rule_names() -> frozenset[str]:
    """Names ``strip.disabled_rules`` accepts: the bundled catalogue's rules and the passes.

    >>> {"share", "related-links", "context", "comment"} <= rule_names()
    True
    """
    return frozenset(rule.name for rule in load_catalogue().rules) | {RELATED_LINKS, CONTEXT, COMMENT}


def is_headline_like(line: str, max_words: int = 18, questions: bool = False) -> bool:
    """A short capitalised line without sentence punctuation, like a link title.

    >>> is_headline_like("Russia sends 20 warships to the Black Sea to contain NATO")
    True
    >>> is_headline_like("He left.")
    False
    >>> is_headline_like("What Gives You the Chills?"), is_headline_like("What Gives You the Chills?", questions=True)
    (False, True)
    """
    words = line.split(None, max_words)  # one piece over the limit is enough: no list of every word
    if not 2 <= len(words) <= max_words:
        return False
    # Titles may end in ? or ! ("What Gives You the Chills?"), but so do short
    # lines of running text, so only callers that weigh other evidence ask.
    if line.endswith(_NOT_HEADLINE_END) and not line.endswith("...") and not (questions and line.endswith(("?", "!"))):
        return False
    for char in line:
        if char.isalpha():
            return not char.islower()
    return False


def is_body_like(line: str) -> bool:
    """A line long enough, and ending like a sentence, to be article text.

    >>> is_body_like("Short headline")
    False
    """
    count = len(line.split(None, BODY_LONG_WORDS))  # counts up to BODY_LONG_WORDS + 1
    return count >= BODY_LONG_WORDS or (count >= BODY_MIN_WORDS and line.endswith(_SENTENCE_END))


def headline_flags(page: PageChars, max_words: int = 18, questions: bool = False) -> np.ndarray:
    """:func:`is_headline_like` for every line of a page at once.

    >>> headline_flags(PageChars(["Storm Hits Coast", "He left.", "Why Now?"]), questions=True).tolist()
    [True, False, True]
    """
    refused = page.ends_with(UNHEADED) & ~page.ends_with_ellipsis()
    if questions:
        refused &= ~page.ends_with(QUESTION)
    has_letter, lower = page.first_letter_lower()
    return (page.words >= 2) & (page.words <= max_words) & ~refused & has_letter & ~lower


def body_flags(page: PageChars) -> np.ndarray:
    """:func:`is_body_like` for every line of a page at once.

    >>> body_flags(PageChars(["Short headline", "This line has twelve words in it and it ends like one."])).tolist()
    [False, True]
    """
    return (page.words >= BODY_LONG_WORDS) | ((page.words >= BODY_MIN_WORDS) & page.ends_with(SENTENCE))


def strip(
    paragraphs: Sequence[str],
    config: StripConfig = StripConfig(),
    *,
    catalogue: Catalogue | None = None,
    keys: Sequence[str] | None = None,
    repeats: np.ndarray | None = None,
    site_share: np.ndarray | None = None,
    site_pages: int = 0,
) -> list[str | None]:
    """Verdict per paragraph: ``None`` to keep it, else the name of the removing rule.

    ``keys`` may pass precomputed :func:`~dedupe.normalize.match_key` values;
    ``repeats`` and ``site_share`` the line counts of a
    :class:`~dedupe.templates.TemplateTable` for the context pass, and
    ``site_pages`` how many other pages of the document's site the corpus
    holds (``clean`` passes it: see ``StripConfig.site_pages``).
    The passes are repeated on the kept lines until nothing more goes, so that
    stripping the output again removes nothing (the context pass and the
    related-link runs look at neighbours, which change when lines go).

    >>> strip(["A real sentence that is long enough to count as the body of an article, ok.",
    ...        "Read more at https://example.com/x"])
    [None, 'read-more']
    """
    return strip_pages([paragraphs], config, catalogue=catalogue, keys=None if keys is None else [keys],
                       repeats=None if repeats is None else [repeats],
                       site_share=None if site_share is None else [site_share], site_pages=[site_pages])[0]


def strip_pages(
    pages: Sequence[Sequence[str]],
    config: StripConfig = StripConfig(),
    *,
    catalogue: Catalogue | None = None,
    keys: Sequence[Sequence[str]] | None = None,
    repeats: Sequence[np.ndarray | None] | None = None,
    site_share: Sequence[np.ndarray | None] | None = None,
    site_pages: Sequence[int] | None = None,
    scorer: ContextScorer | None = None,
) -> list[list[str | None]]:
    """:func:`strip` for several documents at once (each argument a list, one entry per document).

    Each document's verdicts are exactly those :func:`strip` gives it alone;
    the context pass scores all documents of a round in one batch (on the
    dev pages, stripping with ``context=True`` takes a quarter less time
    than a call per document).

    >>> strip_pages([["Home", "A real sentence that is long enough to count as the body of an article."],
    ...              ["Read more at https://example.com/x"]])
    [['navigation', None], ['read-more']]
    """
    for name, given in (("keys", keys), ("repeats", repeats), ("site_share", site_share)):
        if given is not None and len(given) != len(pages):
            raise ValueError(f"strip_pages: {len(pages)} pages but {len(given)} entries in {name}")
    if not config.enabled:
        return [[None] * len(paragraphs) for paragraphs in pages]
    catalogue = catalogue or load_catalogue()
    if keys is None:
        keys = [[match_key(p) for p in paragraphs] for paragraphs in pages]
    lines = _Lines.of_pages(pages, keys, config, [None] * len(pages) if repeats is None else repeats,
                            [None] * len(pages) if site_share is None else site_share,
                            [0] * len(pages) if site_pages is None else site_pages)
    verdicts = _strip_round(lines, config, catalogue, scorer=scorer)
    # A document takes part in the next round while the last one removed something.
    active = list(range(len(pages)))
    for _ in range(MAX_ROUNDS - 1):
        if not active:
            break
        rounds = []
        for number in active:
            kept = [i for i, v in enumerate(verdicts[number]) if v is None]
            if 0 < len(kept) < len(pages[number]):
                rounds.append((number, kept))
        # Kept lines matched no rule, and rules look at one line only, so later
        # rounds run just the passes that look at neighbours.
        again = _strip_round([lines[number].take(kept) for number, kept in rounds], config, catalogue, rules=False,
                             scorer=scorer)
        active = []
        for (number, kept), found in zip(rounds, again):
            changed = False
            for index, verdict in zip(kept, found):
                if verdict is not None:
                    verdicts[number][index] = verdict
                    changed = True
            if changed:
                active.append(number)
    misread = [number for number, page in enumerate(lines) if _misread(page, verdicts[number])]
    if misread:
        # judged on weak evidence and nearly emptied: the rules' verdicts alone
        again = strip_pages([pages[number] for number in misread], replace(config, context=False),
                            catalogue=catalogue, keys=[keys[number] for number in misread],
                            repeats=None if repeats is None else [repeats[number] for number in misread],
                            site_share=None if site_share is None else [site_share[number] for number in misread])
        for number, found in zip(misread, again):
            verdicts[number] = found
    return verdicts


def _misread(lines: _Lines, verdicts: Sequence[str | None]) -> bool:
    """A page judged on weak evidence that the context pass nearly empties while the rules barely touch it."""
    if not lines.templated or lines.evidence >= STRONG_EVIDENCE or not verdicts:
        return False
    by_context = sum(verdict == CONTEXT for verdict in verdicts)
    by_rules = sum(verdict is not None for verdict in verdicts) - by_context
    return by_context > CONTEXT_MAX_SHARE * len(verdicts) and by_rules < RULES_MIN_SHARE * len(verdicts)


@dataclass
class _Lines:
    """The lines a round of passes looks at, with what each line says alone.

    Read once per page (headline and body shape, the context pass's
    :class:`~dedupe.context.LineStats`); later rounds take the kept lines'
    share instead of reading every line again. What kind of document the
    page is (:meth:`read_kind`) is read in the first round, after the
    catalogue, and holds for the later ones.
    """

    text: Sequence[str]
    keys: Sequence[str]
    headline: list[bool]
    body: list[bool]
    repeats: np.ndarray | None
    site_share: np.ndarray | None
    stats: LineStats | None
    site_pages: int
    #: per line: it may wrap onto the next (long, open-ended), and it starts in lower case
    wraps: np.ndarray
    lower: np.ndarray
    #: characters per line
    lengths: np.ndarray
    #: the batch's characters and this page's first line in them, until the
    #: context pass reads the page's stats (only pages it judges need them)
    batch: tuple[PageChars, int] | None = None
    #: hard-wrapped text, not one block per line: the layout passes leave it alone
    wrapped: bool = False
    #: lines of the document's own structures (a licence's holder list, a table, a
    #: changelog's dated entry), put back after the catalogue: no pass removes them
    own: np.ndarray | None = None
    #: a record file (a Debian copyright file): no pass removes any of its lines
    records: bool = False
    #: written in Markdown or reStructuredText source, not rendered: no page either
    markup: bool = False
    #: shows enough of a website's template (catalogue chrome or lines shared with
    #: the site's pages), and how much: a page laid out one block per line is then
    #: judged by context, and text written as text is a page's all the same
    templated: bool = False
    evidence: int = 0

    @classmethod
    def of(cls, text: Sequence[str], keys: Sequence[str], config: StripConfig,
           repeats: np.ndarray | None, site_share: np.ndarray | None, site_pages: int = 0) -> _Lines:
        return cls.of_pages([text], [keys], config, [repeats], [site_share], [site_pages])[0]

    @classmethod
    def of_pages(cls, pages: Sequence[Sequence[str]], keys: Sequence[Sequence[str]], config: StripConfig,
                 repeats: Sequence[np.ndarray | None], site_share: Sequence[np.ndarray | None],
                 site_pages: Sequence[int]) -> list[_Lines]:
        """:meth:`of` for each page of a batch, reading the batch's lines at once.

        What a line says alone does not depend on its page (the key numbers
        of :class:`~dedupe.context.LineStats` are counted per page), so the
        batch is read as one run of lines and cut into pages: numpy's cost
        per call, paid a few dozen times per page, was most of the
        stripper's time on pages of a few dozen lines.
        """
        flat = [line for text in pages for line in text]
        lengths = [len(text) for text in pages]
        bounds = [0, *itertools.accumulate(lengths)]
        chars = PageChars(flat)
        _, lower = chars.first_letter_lower()
        wraps = ((chars.lengths >= WRAP_MIN_CHARS) & (chars.lengths <= WRAP_MAX_CHARS)
                 & (chars.words >= WRAP_MIN_WORDS) & ~chars.ends_with(UNHEADED))
        headline = headline_flags(chars, config.max_headline_words).tolist()
        body = body_flags(chars).tolist()
        return [cls(text, page_keys, headline[start:stop], body[start:stop], page_repeats, page_share, None,
                    pages_of_site, wraps[start:stop], lower[start:stop], chars.lengths[start:stop],
                    batch=(chars, start))
                for text, page_keys, page_repeats, page_share, pages_of_site, start, stop
                in zip(pages, keys, repeats, site_share, site_pages, bounds, bounds[1:])]

    def take(self, index: list[int]) -> _Lines:
        def subset(values: np.ndarray | None) -> np.ndarray | None:
            return None if values is None else np.asarray(values)[index]

        return _Lines([self.text[i] for i in index], [self.keys[i] for i in index],
                      [self.headline[i] for i in index], [self.body[i] for i in index],
                      subset(self.repeats), subset(self.site_share),
                      None if self.stats is None else self.stats.take(index), self.site_pages,
                      self.wraps[index], self.lower[index], self.lengths[index], wrapped=self.wrapped,
                      own=subset(self.own), records=self.records, markup=self.markup, templated=self.templated,
                      evidence=self.evidence)

    @property
    def laid_out(self) -> bool:
        """A page rendered one block per line: the layout passes (related-link runs, context) apply."""
        return not (self.wrapped or self.records or self.markup)

    def read_kind(self, verdicts: Sequence[str | None], catalogue: Catalogue, markup: bool = True) -> None:
        """Whether the page is hard-wrapped text, and whether it shows a website's template.

        Read on the catalogue's verdicts of the first round. Wrapping and
        markup are read on the lines the catalogue keeps, which are the lines
        a second stripping of the output starts from, so the answers (and with
        them what the layout passes do) are the same there. The template's
        evidence is the lines the catalogue removes, which a second stripping
        no longer finds, and the lines the site's other pages share: a page
        not judged the first time has no more evidence the second.
        """
        kept = np.array([verdict is None for verdict in verdicts], dtype=bool)
        wraps, lower = self.wraps[kept], self.lower[kept]
        long_lines = int((self.lengths[kept] > WRAP_MAX_CHARS).sum())
        pairs = int((wraps[:-1] & lower[1:]).sum())
        count = int(kept.sum())
        self.wrapped = (count > 1 and pairs >= WRAPPED_SHARE * (count - 1)
                        and long_lines < WRAPPED_LONG_SHARE * count)
        # counted on every line first: most documents have none, and need no list of the kept ones
        self.markup = (markup and _markup_lines(self.text) >= MARKUP_MIN_LINES
                       and _markup_lines([line for line, keep in zip(self.text, kept) if keep]) >= MARKUP_MIN_LINES)
        # in text written as text, a piece of a wrapped sentence is no widget, whatever its words
        pieces = set() if self.laid_out else set(_sentence_pieces(self, verdicts))
        signals = [index for index, verdict in enumerate(verdicts)
                   if verdict is not None and catalogue.families.get(verdict) in TEMPLATE_FAMILIES
                   and index not in pieces]
        if self.site_share is not None:
            signals.extend(np.flatnonzero(np.asarray(self.site_share) > 0).tolist())
        self.evidence = _template_evidence(signals, self.keys)
        self.templated = self.evidence >= max(TEMPLATE_MIN_EVIDENCE, -(-len(self.text) // LINES_PER_EVIDENCE))


def _template_evidence(signals: Sequence[int], keys: Sequence[str]) -> int:
    """How much of a website's template the lines at ``signals`` show.

    Each distinct line (by match key) counts once, twice within
    :data:`EDGE_LINES` of the top or the bottom of the page, where a site
    puts its menus and footers; the same menu item twice is one signal.

    >>> keys = ["home"] + [f"line {n}" for n in range(40)] + ["share"]
    >>> _template_evidence([0, 41], keys), _template_evidence([20], keys), _template_evidence([0, 0], keys)
    (4, 1, 2)
    """
    weight: dict[str, int] = {}
    for index in signals:
        edge = index < EDGE_LINES or index >= len(keys) - EDGE_LINES
        key = keys[index]
        weight[key] = max(weight.get(key, 0), 2 if edge else 1)
    return sum(weight.values())


def _markup_lines(paragraphs: Sequence[str]) -> int:
    """Lines written in Markdown or reStructuredText source (links, fences, directives).

    >>> _markup_lines(["See [the docs](https://example.org/docs).", "```python", ".. note::", "Home"])
    3
    """
    joined = "\n" + "\n".join(paragraphs)
    if not any(mark in joined for mark in _MARKUP_MARKS):
        return 0  # most documents, in a few passes over one string
    search = _MARKUP.search
    return sum(1 for line in paragraphs
               if ("](" in line or "`_" in line or line.startswith(_MARKUP_STARTS)) and search(line))


def _is_record_file(paragraphs: Sequence[str]) -> bool:
    """A Debian machine-readable copyright file: a ``Files:`` field and another of its fields.

    >>> _is_record_file(["Files: *", "Copyright: 2004 Robert Love", "License: GPL-2"])
    True
    >>> _is_record_file(["License: MIT", "Copyright: 2020 Ann"]), _is_record_file(["Files: a.c, b.c"])
    (False, False)
    """
    if RECORD_STANZA not in "\n".join(paragraphs):  # most documents, in one pass over one string
        return False
    stanza = field = False
    for line in paragraphs:
        if line.startswith(RECORD_STANZA):
            stanza = True
        elif line.startswith(RECORD_FIELDS):
            field = True
        if stanza and field:
            return True
    return False


def _strip_round(pages: list[_Lines], config: StripConfig, catalogue: Catalogue,
                 rules: bool = True, scorer: ContextScorer | None = None) -> list[list[str | None]]:
    """One round of every pass over each page; the context pass scores the pages together."""
    disabled = set(config.disabled_rules)
    out = []
    # Most batches hold no record file and no markup source: one look at the
    # whole batch's text spares every page its own.
    text = "\n" + "\n".join(line for lines in pages for line in lines.text) if rules else ""
    records, markup = RECORD_STANZA in text, any(mark in text for mark in _MARKUP_MARKS)
    del text
    for lines in pages:
        verdicts: list[str | None] = [None] * len(lines.text)
        if rules:
            lines.records = records and _is_record_file(lines.text)
            if lines.records:  # nothing in a record file is page chrome
                out.append(verdicts)
                continue
            verdicts = catalogue.match_lines(lines.text, lines.keys, config.max_rule_chars)
            if disabled:
                verdicts = [None if rule in disabled else rule for rule in verdicts]
            # a document's own structures, which the layout passes must not break up either
            kept = (_keep_holder_lists(lines.text, verdicts) + _keep_entry_dates(lines.text, verdicts)
                    + _keep_tables(lines.text, verdicts))
            lines.read_kind(verdicts, catalogue, markup)
            if not lines.laid_out and not lines.templated:
                kept += _keep_written_text(lines, verdicts, catalogue)
            lines.own = np.zeros(len(lines.text), dtype=bool)
            lines.own[kept] = True
        if rules and config.comments == "drop" and COMMENT not in disabled:
            _mark_comments(lines, verdicts)
        if RELATED_LINKS not in disabled and lines.laid_out:
            _mark_related_runs(lines, verdicts, config, catalogue)
        out.append(verdicts)
    if config.context and CONTEXT not in disabled:
        _mark_context(pages, out, config, scorer or _scorer())
    for lines, verdicts in zip(pages, out):
        if lines.own is not None:
            for index in np.flatnonzero(lines.own).tolist():
                verdicts[index] = None
    return out


def _keep_holder_lists(paragraphs: Sequence[str], verdicts: list[str | None]) -> list[int]:
    """Put back runs of copyright notices: a licence's list of holders, not a page footer.

    A footer carries one notice ("© 2019 Example Inc."); a licence or a
    package's copyright file lists its holders one a line, each with a year.
    A run of at least :data:`HOLDER_LIST_MIN` such lines is the document's
    own text. Returns the lines put back, which the layout passes then keep,
    so the run is the same in the output and stripping again keeps it.

    >>> verdicts = ["copyright"] * 3 + [None, "copyright"]
    >>> _keep_holder_lists(["Copyright 1998 A", "Copyright 2001 B", "(c) 2004 C", "text", "© 2020 Site"], verdicts)
    [0, 1, 2]
    >>> verdicts
    [None, None, None, None, 'copyright']
    """
    kept: list[int] = []
    run: list[int] = []
    for index in range(len(paragraphs) + 1):
        if index < len(paragraphs) and verdicts[index] == COPYRIGHT_RULE and _YEAR.search(paragraphs[index]):
            run.append(index)
            continue
        if len(run) >= HOLDER_LIST_MIN:
            for member in run:
                verdicts[member] = None
            kept.extend(run)
        run = []
    return kept


def _keep_entry_dates(paragraphs: Sequence[str], verdicts: list[str | None]) -> list[int]:
    """Put back dates that head a changelog's entries: a date alone, followed by a list item.

    On a page a date alone is a dateline; in a changelog or a NEWS file
    ("2000-05-30", then "* Fixed a crash in the parser.") it is the heading
    of the entry below it. A page rendered as text shows no list markers.
    Returns each date put back and the item under it, which the layout
    passes then keep.

    >>> verdicts = ["byline", None, "byline", None, "byline"]
    >>> _keep_entry_dates(["2000-05-30", "* Fixed a crash.", "July 22, 1999", "- First release.", "May 3, 2021"],
    ...                   verdicts)
    [0, 1, 2, 3]
    >>> verdicts
    [None, None, None, None, 'byline']
    """
    kept: list[int] = []
    for index in range(len(paragraphs) - 1):
        line = paragraphs[index]
        if (verdicts[index] == BYLINE_RULE and verdicts[index + 1] is None
                and paragraphs[index + 1].startswith(_LIST_MARKERS) and ":" not in line and _YEAR.search(line)
                and len(_LETTER_WORD.findall(line)) <= 2):
            verdicts[index] = None
            kept.extend((index, index + 1))
    return kept


def _keep_written_text(lines: _Lines, verdicts: list[str | None], catalogue: Catalogue) -> list[int]:
    """Put back what a document written as text says of itself: it is no page, so only a template is chrome.

    Called for hard-wrapped text and markup source that show no website's
    template (a licence, a changelog, a README, a mail). They carry dates and
    bylines, "Source:" and credit lines, copyright notices and "All rights
    reserved." as their own text: a licence opens with its notice, a
    changelog's entries with a date or a sign-off. Only the template
    families (:data:`TEMPLATE_FAMILIES`: menus, comment widgets, share bars,
    cookie notices, ...) still go there. And no rule removes a piece of a
    wrapped sentence: a line the line before wraps onto, or that wraps onto
    the next ("by default]", "accepts cookies using control codes ... When
    cookies"); a widget label stands alone. A blog page whose text is
    hard-wrapped shows its template (comment counters, archive menus), and
    keeps none of this. Read on the catalogue's verdicts, so a second
    stripping of the output puts back the same lines. Returns the lines put
    back.

    >>> text = ["Copyright (C) 2021 Free Software Foundation, Inc.",
    ...         "The tool keeps a log of each change and answers all of the", "comments", "Comments"]
    >>> lines = _Lines.of(text, [match_key(line) for line in text], StripConfig(context=False), None, None)
    >>> verdicts = ["copyright", None, "comment-count", "comment-count"]
    >>> _keep_written_text(lines, verdicts, load_catalogue()), verdicts
    ([0, 2], [None, None, None, 'comment-count'])
    """
    kept: list[int] = []
    for index, verdict in enumerate(verdicts):
        if verdict is not None and catalogue.families.get(verdict) not in TEMPLATE_FAMILIES:
            verdicts[index] = None
            kept.append(index)
    pieces = _sentence_pieces(lines, verdicts)
    for index in pieces:
        verdicts[index] = None
    return sorted(kept + pieces)


def _sentence_pieces(lines: _Lines, verdicts: Sequence[str | None]) -> list[int]:
    """Lines a rule hit that a wrapped sentence runs into or out of: the neighbour is kept and wraps onto them.

    Neighbours are taken as the verdicts leave them, so that the output, where
    they still are, reads the same.

    >>> text = ["The tool keeps a log of each change and answers all of the", "comments", "Comments"]
    >>> lines = _Lines.of(text, [match_key(line) for line in text], StripConfig(context=False), None, None)
    >>> _sentence_pieces(lines, [None, "comment-count", "comment-count"])
    [1]
    """
    wraps, lower = lines.wraps.tolist(), lines.lower.tolist()
    pieces = []
    for index, verdict in enumerate(verdicts):
        if verdict is None:
            continue
        continues = index > 0 and verdicts[index - 1] is None and wraps[index - 1] and lower[index]
        goes_on = index + 1 < len(verdicts) and verdicts[index + 1] is None and wraps[index] and lower[index + 1]
        if continues or goes_on:
            pieces.append(index)
    return pieces


def _keep_tables(paragraphs: Sequence[str], verdicts: list[str | None]) -> list[int]:
    """Put back the rows of a table written in plain text, which read like menus.

    A table is a run of lines with ``|`` in them that contains a rule line
    (``----|----``), or :data:`TABLE_MIN_ROWS` rows in a row whose bars
    line up (two or more each). A menu's separators do not line up with the
    next line's. Returns the table's lines, which the layout passes then keep.

    >>> rows = ["uid   | name    | description", "63434 | netplan | netplan", "64000 | ftn     | fidogate"]
    >>> verdicts = ["navigation"] * 3
    >>> _keep_tables(rows, verdicts)
    [0, 1, 2]
    >>> verdicts
    [None, None, None]
    >>> verdicts = ["navigation", None, "navigation", "navigation"]
    >>> _keep_tables(["uid | name | description", "----+------+---", "6 | ftn | fidogate", "Home | News | Sport"],
    ...              verdicts)
    [0, 1, 2, 3]
    >>> verdicts
    [None, None, None, None]
    """
    kept: list[int] = []
    start = 0
    # a row, or a rule line drawn with "+"
    in_table = ["|" in line or ("---" in line and _TABLE_RULE.fullmatch(line) is not None) for line in paragraphs]
    if not any(in_table):
        return kept
    while start < len(paragraphs):
        if not in_table[start]:
            start += 1
            continue
        end = start
        while end < len(paragraphs) and in_table[end]:
            end += 1
        block = range(start, end)
        if any(_TABLE_RULE.fullmatch(paragraphs[i]) for i in block):
            for i in block:
                verdicts[i] = None
            kept.extend(block)
        else:
            bars = [tuple(at for at, char in enumerate(paragraphs[i]) if char == "|") for i in block]
            run = 1
            for offset in range(1, len(bars) + 1):
                if offset < len(bars) and len(bars[offset]) >= 2 and bars[offset] == bars[offset - 1]:
                    run += 1
                    continue
                if run >= TABLE_MIN_ROWS:
                    for i in range(start + offset - run, start + offset):
                        verdicts[i] = None
                        kept.append(i)
                run = 1
        start = end
    return kept


def _mark_context(pages: list[_Lines], verdicts: list[list[str | None]], config: StripConfig,
                  scorer: ContextScorer) -> None:
    # too little page to judge a line by its neighbours, or not a page of a website
    judged = [number for number, lines in enumerate(pages)
              if len(lines.text) >= CONTEXT_MIN_LINES and lines.templated and lines.laid_out]
    if not judged:
        return
    threshold = scorer.threshold if config.context_threshold is None else config.context_threshold
    for chunk in _by_lines(judged, [len(pages[number].text) for number in judged], CONTEXT_BATCH_LINES):
        _read_stats([pages[number] for number in chunk])
        scores = scorer.score_pages([(verdicts[number], cast("LineStats", pages[number].stats),
                                      pages[number].repeats, pages[number].site_share) for number in chunk])
        for number, page_scores in zip(chunk, scores):
            _cut(verdicts[number], page_scores, threshold, _site_keeps(pages[number], config))


def _read_stats(pages: Sequence[_Lines]) -> None:
    """Read the context pass's :class:`~dedupe.context.LineStats` of the pages that have none yet.

    Read when the pass first judges a page, for the pages it judges only (a
    README or a licence is never judged), from the characters their batch
    already read; later rounds take the kept lines' share.
    """
    from .context import LineStats

    unread = [lines for lines in pages if lines.stats is None and lines.batch is not None]
    for chars in {id(lines.batch[0]): lines.batch[0] for lines in unread if lines.batch is not None}.values():
        these = sorted((lines for lines in unread if lines.batch is not None and lines.batch[0] is chars),
                       key=lambda lines: cast("tuple[PageChars, int]", lines.batch)[1])  # in the batch's order
        keep = np.zeros(chars.lengths.shape[0], dtype=bool)
        for lines in these:
            start = cast("tuple[PageChars, int]", lines.batch)[1]
            keep[start:start + len(lines.text)] = True
        stats = LineStats.of([line for lines in these for line in lines.text],
                             [key for lines in these for key in lines.keys], chars.select(keep),
                             [len(lines.text) for lines in these])
        at = 0
        for lines in these:
            lines.stats, lines.batch = stats.slice(at, at + len(lines.text)), None
            at += len(lines.text)


def _by_lines(items: list[int], lengths: list[int], budget: int) -> Iterator[list[int]]:
    """``items`` in order, in runs of at most ``budget`` lines (a longer item alone).

    >>> list(_by_lines([0, 1, 2, 3], [5, 5, 12, 1], 10))
    [[0, 1], [2], [3]]
    """
    run: list[int] = []
    lines = 0
    for item, length in zip(items, lengths):
        if run and lines + length > budget:
            yield run
            run, lines = [], 0
        run.append(item)
        lines += length
    if run:
        yield run


def _site_keeps(lines: _Lines, config: StripConfig) -> np.ndarray | None:
    """Lines the site's own pages vouch for, which the context pass keeps whatever they score.

    On a page whose site the corpus holds at least ``config.site_pages``
    other pages of, the site shows what its template is: a line none of
    those pages carries is this page's own. A headline-shaped line that
    recurs is left to the resolver too: it is either the site's template
    (which the resolver's site-template rule removes) or a title that other
    pages list (the resolver keeps it on its own page and drops the listed
    copies). ``None`` when the corpus holds too few of the site's pages to say.
    """
    if not config.site_pages or lines.site_pages < config.site_pages or lines.site_share is None:
        return None
    return (np.asarray(lines.site_share) == 0) | np.asarray(lines.headline, dtype=bool)


def _cut(page: list[str | None], page_scores: np.ndarray, threshold: float, keeps: np.ndarray | None = None) -> None:
    """Mark the page's lines that score under ``threshold`` as ``context`` (except those ``keeps`` marks)."""
    candidates = [i for i, v in enumerate(page) if v is None]
    if not candidates:
        return
    best = float(page_scores[candidates].max())
    if best < threshold:
        # No line clears the bar (an unusual page, a language the model knows
        # little of): keep the lines that score close to the best one rather
        # than empty the page.
        threshold = best * RELATIVE_KEEP
    for index in candidates:
        if page_scores[index] < threshold and (keeps is None or not keeps[index]):
            page[index] = CONTEXT


@functools.lru_cache(maxsize=1)
def _scorer() -> ContextScorer:
    # imported here: the context pass can be turned off, and it pulls in its model file
    from .context import ContextScorer

    return ContextScorer()


def _main_block_end(lines: _Lines, verdicts: Sequence[str | None]) -> int | None:
    """Last line of the page's main text: the run of body-like lines with the most words.

    A run tolerates one kept line that is not body (a subheading, a
    caption); two in a row end it. Chrome lines are skipped (a share bar
    does not split an article), except comment counters, which count as a
    line that is not body: with the author line under them they end a run,
    so comments, short bodies between author lines, do not extend the
    article's run, and an article's text outweighs any one of them.
    """
    best, best_start, best_words = None, None, 0
    start, words, gap = None, 0, 0
    for index, line in enumerate(lines.text):
        if verdicts[index] is not None and verdicts[index] != COMMENT_HEADER_RULE:
            continue
        if verdicts[index] is None and lines.body[index]:
            if start is None:
                start, words = index, 0
            words += len(line.split())
            gap = 0
            if words > best_words:
                best_start, best_words = start, words
            if best_start == start:  # the best run so far grows: move its end
                best = index
        elif start is not None:
            gap += 1
            if gap > 1:
                start, gap = None, 0
    return best


def _mark_comments(lines: _Lines, verdicts: list[str | None]) -> None:
    """Mark a comment section's remaining lines ``comment``.

    The section opens at the first comment counter ("12 comments:") or
    "N Responses to …" line after the end of the page's main text block
    (a counter under the headline or in a share bar comes before it), and runs to
    the last comment form after it ("Post a Comment", "Leave a Reply"), or
    to the end of the page. Every "N Responses to …" line goes, opening a
    section or not, and counters are chrome anyway, so no header is left for
    a second stripping to open a section at: stripping again removes nothing.
    """
    paragraphs = lines.text
    main = _main_block_end(lines, verdicts)
    headers = [verdict == COMMENT_HEADER_RULE for verdict in verdicts]
    title = comment_title()
    for index, line in enumerate(paragraphs):
        if verdicts[index] is None and len(line.split()) <= COMMENT_TITLE_MAX_WORDS and title.match(line.strip()):
            verdicts[index] = COMMENT  # all of them, before any section opens
            headers[index] = True
    for index in range(len(paragraphs)):
        if headers[index] and main is not None and index > main:
            forms = [i for i in range(index + 1, len(paragraphs)) if verdicts[i] == COMMENT_FORM_RULE]
            for member in range(index + 1, forms[-1] if forms else len(paragraphs)):
                if verdicts[member] is None:
                    verdicts[member] = COMMENT
            return


def _mark_related_runs(lines: _Lines, verdicts: list[str | None], config: StripConfig, catalogue: Catalogue) -> None:
    paragraphs, headline = lines.text, lines.headline
    # After a "related posts" header: the headlines that follow, however few.
    for index, verdict in enumerate(verdicts):
        if verdict is None or catalogue.families.get(verdict) != RELATED_HEADER_FAMILY:
            continue
        for follower in range(index + 1, len(paragraphs)):
            if verdicts[follower] is not None:
                continue  # other chrome (dates under each link) does not end the list
            if not headline[follower]:
                break
            verdicts[follower] = RELATED_LINKS
    # After the article body: runs of headlines are link lists. Before the last
    # body line a lone headline is more likely a title or subheading, so the
    # middle of the page is left alone.
    # Lines already removed by a rule (a long cookie notice) are not body, so
    # that stripping the output again finds the same tail: idempotence.
    last_body = max((i for i, body in enumerate(lines.body) if body and verdicts[i] is None), default=None)
    if last_body is None:
        return
    # A run counts as a link list when page furniture frames it: chrome
    # between the article and the run, or chrome inside or right after it. A
    # run with article text or nothing after it is the article's own list (a
    # memo's header lines, a race calendar, a recipe's steps).
    run: list[int] = []
    chrome_before = chrome_in_run = False
    for index in range(last_body + 1, len(paragraphs) + 1):
        at_end = index == len(paragraphs)
        if not at_end:
            if verdicts[index] is not None:
                # chrome inside a run does not break it (dates under each link)
                frames = verdicts[index] not in UNFRAMING_RULES
                if run:
                    chrome_in_run = chrome_in_run or frames
                else:
                    chrome_before = chrome_before or frames
                continue
            if headline[index]:
                run.append(index)
                continue
        if len(run) >= config.min_related_run and (chrome_before or chrome_in_run):
            for member in run:
                verdicts[member] = RELATED_LINKS
        chrome_before = chrome_before or chrome_in_run
        chrome_in_run = False
        run = []
