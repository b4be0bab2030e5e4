"""The fingerprint stage's per-paragraph features: the numbers the resolver compares.

Besides the exact hash and MinHash signature (:mod:`dedupe.fingerprint`),
each paragraph that survives stripping gets an identifier and a template
hash (:func:`exact_key`), the hashes of its sentences
(:func:`sentence_hashes`), one-typo keys when it is short
(:func:`typo_keys`), its shape (:func:`paragraph_shapes`) and, for a line
of a link list the stripper removed, that list's number
(:func:`link_list_runs`). :func:`fingerprint_documents` computes them all
for a batch of prepared documents, as columns of the paragraph table
(:mod:`dedupe.schema`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import DedupConfig
from .fingerprint import Fingerprinter, exact_hash
from .keys import match_keys, paused_collector
from .normalize import match_key, value_keys
from .prepare import Prepared
from .schema import BODY, HEADLINE, Paragraphs
from .strip import RELATED_HEADER_FAMILY, RELATED_LINKS, is_body_like, is_headline_like

#: Lines of fewer words keep their digits in the exact hash.
SHORT_KEY_WORDS = 8
#: Paragraphs of at least this many words match whatever their identifiers:
#: an identifier there is one token among many, and reposts edit them (a
#: console's "PS5" for "PS4", a dateline's time). On syndication_dev
#: holding identifiers equal in every line left duplicate residue 0.0179,
#: from 30 words up 0.0156; the lines the rule is for (a CVE or bug closure,
#: a sign-off, a release line) are far shorter.
IDENTIFIER_MAX_WORDS = 30
#: Words shorter than this are not matched as typos ("man" / "men", "Part I" / "Part II").
TYPO_MIN_LETTERS = 4
#: Longest word (UTF-8 bytes) kept for the typo check; a longer one gets no typo key.
TYPO_MAX_BYTES = 32


def one_edit_apart(a: str, b: str) -> bool:
    """Whether two different words are one edit apart: a letter changed, added or dropped, or two
    neighbours swapped (Damerau–Levenshtein distance 1).

    >>> [one_edit_apart(a, b) for a, b in (("harbour", "harbor"), ("bike", "bkie"), ("paris", "parsi"))]
    [True, True, True]
    >>> [one_edit_apart(a, b) for a, b in (("support", "output"), ("pelletier", "pélissier"), ("that", "match"))]
    [False, False, False]
    """
    if a == b:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one letter added
        return a[i:] == b[i + 1:]
    return a[i + 1:] == b[i + 1:] or (a[i : i + 2] == b[i : i + 2][::-1] and a[i + 2:] == b[i + 2:])


def typo_keys(key: str, max_words: int) -> list[tuple[int, int, int, bytes]]:
    """(hash of the other words, letters of this word, its length, the word) for each typo-able word.

    A short line with one word mistyped is a copy the MinHash misses (a
    changed letter is a fifth of a short line's shingles). Two lines of the
    same words but one share the hash of the others (with the gap's position);
    the resolver then asks whether the two differing words are a typo apart:
    a cheap look at their lengths and letters (a 64-bit set, ``ord % 64``)
    first, then :func:`one_edit_apart` on the words themselves (UTF-8, up to
    :data:`TYPO_MAX_BYTES`). Only lines of 2 to ``max_words`` words, and
    words of 4+ letters with no digit (a changed number is a different fact)
    take part.

    >>> [(length, word) for _, _, length, word in typo_keys("storm hits coast", 6)]
    [(5, b'storm'), (4, b'hits'), (5, b'coast')]
    >>> typo_keys("stage 9 in paris", 6)[-1][0] == typo_keys("stage 9 in parsi", 6)[-1][0]
    True
    >>> typo_keys("a very long line of more than six words here", 6)
    []
    """
    if not 2 <= key.count(" ") + 1 <= max_words:  # most lines: counted without making their words
        return []
    words = key.split(" ")
    out = []
    start = 0  # where the word starts in the key
    for word in words:
        end = start + len(word)
        if len(word) >= TYPO_MIN_LETTERS and word.isalpha() and len(encoded := word.encode()) <= TYPO_MAX_BYTES:
            letters = 0
            for char in set(word):
                letters |= 1 << (ord(char) % 64)
            # the key with the word as a gap: the other words, space-joined around it
            out.append((exact_hash(f"{key[:start]}\x00{key[end:]}"), letters, len(word), encoded))
        start = end + 1
    return out


_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
#: Sentences shorter than this (in words) are merged into the next one: they
#: are abbreviations ("Mr.", "U.S.") or too short to identify a copy.
MIN_SENTENCE_WORDS = 4


def sentence_hashes(text: str) -> list[tuple[int, int]]:
    """(hash of match key, characters) of each sentence of a paragraph.

    >>> [n for _, n in sentence_hashes("Mr. Smith went to Washington on Monday. He met the press there.")]
    [39, 23]
    """
    return sentence_hashes_many([text])[0]


def sentence_hashes_many(texts: Sequence[str]) -> list[list[tuple[int, int]]]:
    """:func:`sentence_hashes` of each paragraph, the match keys of all their sentences computed at once.

    >>> found = sentence_hashes_many(["Short.", "It rained all day in the city. Then the storm stopped at noon."])
    >>> [[n for _, n in one] for one in found]
    [[], [30, 31]]
    """
    split = [_sentences(text) for text in texts]
    sentences = [sentence for pieces in split for sentence in pieces]
    keys = match_keys(sentences)
    words = [key.count(" ") + 1 for key in keys]
    # as for whole lines: a short sentence's numbers are part of it, a long one keeps its identifiers
    # (folding changes only digits: a key without a folded one is its own unfolded key)
    short = [n for n, count in enumerate(words) if MIN_SENTENCE_WORDS <= count < SHORT_KEY_WORDS and "0" in keys[n]]
    for n, unfolded in zip(short, match_keys([sentences[n] for n in short], fold_digits=False)):
        keys[n] = unfolded
    hashes: list[tuple[int, int] | None] = []
    for sentence, key, count in zip(sentences, keys, words):
        if count < MIN_SENTENCE_WORDS:
            hashes.append(None)
            continue
        # digits to look at (links and addresses hold no identifier)
        hashed = exact_key(sentence, key, template=False)[0] if count >= SHORT_KEY_WORDS and "0" in key else key
        hashes.append((exact_hash(hashed), len(sentence)))
    out, at = [], 0
    for pieces in split:
        out.append([h for h in hashes[at : at + len(pieces)] if h is not None])
        at += len(pieces)
    return out


def _sentences(text: str) -> list[str]:
    """A paragraph's sentences, those under :data:`MIN_SENTENCE_WORDS` words merged into the next."""
    pieces = [p for p in _SENTENCE_BREAK.split(text) if p]
    if len(pieces) < 2:
        return pieces
    # every piece holds a word (it ends at a break's full stop or starts after its white space),
    # so pieces joined by a space hold the sum of their words: each piece is counted once, no
    # further than the count needs (a sentence may be megabytes long)
    merged: list[str] = []
    carry: list[str] = []
    words = 0
    for piece in pieces:
        carry.append(piece)
        words += len(piece.split(None, MIN_SENTENCE_WORDS))
        if words >= MIN_SENTENCE_WORDS:
            merged.append(" ".join(carry))
            carry, words = [], 0
    if carry:  # fewer words than a sentence: the last one's end
        if merged:
            merged[-1] = " ".join([merged[-1], *carry])
        else:
            merged.append(" ".join(carry))
    return merged


def exact_key(text: str, key: str, template: bool = True, unfolded: str | None = None) -> tuple[str, str, str | None]:
    """(exact key, identifier key, template key) of a line whose match key is ``key``.

    A line of fewer than :data:`SHORT_KEY_WORDS` words keeps its digits in
    the exact key ("For sale: $600,000" is not "$599,900"); a longer one folds
    plain numbers, a typical repost edit, but keeps its identifiers
    (:func:`~dedupe.normalize.value_keys`): two lines that differ in a CVE id,
    a bug number, a version or a date are different lines, up to
    :data:`IDENTIFIER_MAX_WORDS` words. ``template=False``
    leaves the template key out (None). ``unfolded`` is the line's match
    key with its digits kept, when the caller has it (:func:`needs_unfolded`).

    >>> exact_key("For sale: $600,000", "for sale 0 0")[:2]
    ('for sale 600 000\\x00600.000', '600.000')
    >>> a = "Fixed a crash in the parser when reading empty files (Closes: #1038603)"
    >>> b = a.replace("1038603", "995223")
    >>> exact_key(a, match_key(a))[0] == exact_key(b, match_key(b))[0]
    False
    >>> exact_key(a, match_key(a))[2] == exact_key(b, match_key(b))[2]
    True
    """
    words = key.count(" ") + 1
    short = words < SHORT_KEY_WORDS
    identifiers, template_key = value_keys(text, every_number=short, template=template)
    if words >= IDENTIFIER_MAX_WORDS:
        identifiers = ""
    exact = key
    if needs_unfolded(key):
        exact = match_key(text, fold_digits=False) if unfolded is None else unfolded
    return (f"{exact}\x00{identifiers}" if identifiers else exact), identifiers, template_key


def needs_unfolded(key: str) -> bool:
    """Whether :func:`exact_key` of a line with match key ``key`` needs the key with its digits kept.

    >>> needs_unfolded("for sale 0 0"), needs_unfolded("for sale"), needs_unfolded("a b c d e f g h 0")
    (True, False, False)
    """
    # folding changes only digits: a key without a folded digit is its own unfolded key
    return key.count(" ") + 1 < SHORT_KEY_WORDS and "0" in key


def paragraph_shapes(paragraphs: list[str]) -> list[int]:
    """:data:`~dedupe.schema.HEADLINE` and :data:`~dedupe.schema.BODY` bits of each paragraph.

    The resolver decides placement from them (:func:`~dedupe.resolve.policy.placement`)
    once it knows which rows are boilerplate.

    >>> paragraph_shapes(["Storm Hits Coast", "The storm reached the coast on Monday night, flooding streets "
    ...                   "across the whole town.", "ok"])
    [1, 2, 0]
    """
    return [(HEADLINE if is_headline_like(p, questions=True) else 0) | (BODY if is_body_like(p) else 0)
            for p in paragraphs]


def link_list_runs(verdicts: list[str | None], families: Mapping[str, str]) -> tuple[list[int], list[bool]]:
    """Per line: the number of the link list it belongs to (-1: none), and whether a header leads it.

    Lines the stripper removed as ``related-links`` are grouped into runs of
    adjacent lines: any other line ends a run, as an article's closing list
    and the template's link list below it are two lists. A run is *headed*
    when a "related" header stands above it with only chrome between. The
    resolver may keep an unheaded run as the article's own list; headed runs
    stay removed and only tell it whether the corpus holds the site's link
    targets (see ``dedup.related_evidence``).

    >>> v = [None, "related-links", "related-links", "share", "related-links", None, "related-header", "related-links"]
    >>> link_list_runs(v, {"related-header": "related-header"})
    ([-1, 0, 0, -1, 1, -1, -1, 2], [False, False, False, False, False, False, False, True])
    """
    runs = [-1] * len(verdicts)
    headed = [False] * len(verdicts)
    count = 0
    current = -1  # run being extended, -1 = none
    header = False  # a related header since the last kept line
    for number, verdict in enumerate(verdicts):
        if verdict is None:
            current, header = -1, False
        elif families.get(verdict) == RELATED_HEADER_FAMILY:
            header = True
        elif verdict == RELATED_LINKS:
            if current < 0:
                current, count = count, count + 1
            runs[number], headed[number] = current, header
            continue
        current = -1
    return runs, headed


@dataclass(slots=True)
class Fingerprinted:
    """What the fingerprint stage keeps of a batch of documents: numbers only.

    ``paragraphs``' sentences and typo keys point at its own rows, and its
    ``sig_row`` at ``signatures``; :func:`~dedupe.schema.concat` joins batches.
    """

    paragraphs: Paragraphs
    signatures: np.ndarray  # uint32[m, num_perm]: one per row with sig_row >= 0, in row order
    documents: np.ndarray  # int64[d] the documents' input numbers
    chars: np.ndarray  # int64[d] characters each keeps after stripping
    seconds: dict[str, float] = field(default_factory=dict)


def fingerprint_documents(
    documents: Sequence[tuple[int, Prepared]], fingerprinter: Fingerprinter, config: DedupConfig,
    families: Mapping[str, str],
) -> Fingerprinted:
    """Every feature of the paragraphs the stripper kept, and of the lines of its link lists.

    ``documents`` are (input number, prepared document); ``families`` the
    catalogue's rule families, or nothing when link lists are not to be
    weighed (``dedup.related_evidence`` 0). A link list's lines are matched
    by their exact keys only: mostly short titles, copied verbatim. With
    MinHash signatures (and band candidates) and sentences they took the
    100k-document benchmark from 1.86 to 2.53 GB; typo keys cost it 4 s and
    found 3 more copies on syndication dev.

    >>> from dedupe.prepare import prepare
    >>> fp = Fingerprinter(num_perm=16)
    >>> done = fingerprint_documents([(0, prepare("A first line of the page, long enough to shingle.\\nShare this:"))],
    ...                              fp, DedupConfig(), {})
    >>> done.paragraphs.size, done.chars.tolist(), done.paragraphs.sig_row.tolist(), done.signatures.shape
    (1, [49], [0], (1, 16))
    """
    with paused_collector():
        return _fingerprint_documents(documents, fingerprinter, config, families)


def _fingerprint_documents(
    documents: Sequence[tuple[int, Prepared]], fingerprinter: Fingerprinter, config: DedupConfig,
    families: Mapping[str, str],
) -> Fingerprinted:
    # the rows, a column at a time
    docs: list[int] = []
    paras: list[int] = []
    texts: list[str] = []
    keys: list[str] = []
    shapes: list[int] = []
    runs: list[int] = []  # link list number (-1: not in one)
    headed: list[bool] = []
    chars = []
    for index, prep in documents:
        if families:
            doc_runs, doc_headed = link_list_runs(prep.verdicts, families)
            # link lists get rows too: the resolver may find an unheaded one to be the article's;
            # a list's line without words stays stripped: no row can bring it back
            rowed = [n for n, v in enumerate(prep.verdicts)
                     if v is None or (doc_runs[n] >= 0 and prep.keys[n])]
        else:
            doc_runs, doc_headed = [], []
            rowed = [n for n, v in enumerate(prep.verdicts) if v is None]
        chars.append(sum(len(prep.paragraphs[n]) for n in rowed))
        keyed = [n for n in rowed if prep.keys[n]]
        docs.extend([index] * len(keyed))
        paras.extend(keyed)
        texts.extend([prep.paragraphs[n] for n in keyed])
        keys.extend([prep.keys[n] for n in keyed])
        if families:
            runs.extend([doc_runs[n] for n in keyed])
            headed.extend([doc_headed[n] for n in keyed])
        else:
            runs.extend([-1] * len(keyed))
            headed.extend([False] * len(keyed))
    shapes = paragraph_shapes(texts)
    listed = [run >= 0 for run in runs]
    # the keys each stage needs, for the whole batch at once (dedupe.keys)
    words = [key.count(" ") + 1 for key in keys]
    unfolding = [row for row, key in enumerate(keys) if needs_unfolded(key)]
    words_keys = list(keys)  # the exact key's words: the match key, digits kept in a short line
    for row, unfolded in zip(unfolding, match_keys([texts[row] for row in unfolding], fold_digits=False)):
        words_keys[row] = unfolded
    exact_keys: list[str] = []
    identifiers: list[str] = []
    template_keys: list[str | None] = []
    for text, count, words_key in zip(texts, words, words_keys):  # as exact_key() makes them
        found, template = value_keys(text, every_number=count < SHORT_KEY_WORDS)
        if count >= IDENTIFIER_MAX_WORDS:
            found = ""
        exact_keys.append(f"{words_key}\x00{found}" if found else words_key)
        identifiers.append(found)
        template_keys.append(template)
    prints = fingerprinter.fingerprint([("" if in_list else key) for key, in_list in zip(keys, listed)],
                                       exact_keys, with_bands=False)
    typos: list[tuple[int, int, int, int, bytes]] = []
    if config.typo_words:
        for row, words_key in enumerate(words_keys):
            if not listed[row] and len(words_key) < config.short_chars:
                typos.extend((row, *typo) for typo in typo_keys(words_key, config.typo_words))
    sentences = _row_sentences(texts, keys, words, words_keys, exact_keys, prints.exact, listed)
    valued = np.array([template is not None for template in template_keys], dtype=bool)
    templates = np.fromiter((0 if template is None else exact_hash(template) for template in template_keys),
                            dtype=np.uint64, count=len(template_keys))
    # a line without values is a template of its own: its exact hash
    template_hash = np.where(valued, templates, prints.exact)
    sig_row = np.full(prints.exact.shape[0], -1, dtype=np.int64)
    sig_row[prints.minhashed] = np.arange(int(prints.minhashed.sum()))
    rows = len(texts)
    columns = {
        "doc": docs, "para": paras, "length": np.fromiter(map(len, texts), dtype=np.int64, count=rows),
        "shape": shapes, "text_hash": np.fromiter(map(exact_hash, texts), dtype=np.uint64, count=rows),
        "ident": np.fromiter((exact_hash(found) if found else 0 for found in identifiers), dtype=np.uint64,
                             count=rows),
        "related": runs, "related_headed": headed,
        **_columns(_SENTENCE_COLUMNS, sentences), **_columns(_TYPO_COLUMNS, typos),
    }
    return Fingerprinted(
        paragraphs=Paragraphs.build(**columns, exact=prints.exact, template=template_hash, sig_row=sig_row),
        signatures=prints.signatures,
        documents=np.array([index for index, _ in documents], dtype=np.int64),
        chars=np.array(chars, dtype=np.int64),
    )


def _row_sentences(texts: list[str], keys: list[str], words: list[int], words_keys: list[str],
                   exact_keys: list[str], exact: np.ndarray, listed: list[bool]) -> list[tuple[int, int, int]]:
    """(row, hash, characters) of each sentence of the rows not in a link list, as :func:`sentence_hashes_many`
    makes them.

    A paragraph of one sentence (most are) is its own sentence, and what
    the row already has gives the sentence's hash: its match key is the
    row's, with digits kept in a short one (as the exact key's words); a
    longer one with digits is hashed as its exact key without a template
    key, which has the row's identifiers unless the line holds a link or an
    address (the template key masks those first:
    :func:`~dedupe.normalize.value_keys`).
    """
    out: list[tuple[int, int, int]] = []
    several: list[int] = []  # rows of more than one sentence, hashed as sentence_hashes_many does
    for row, (text, key, count) in enumerate(zip(texts, keys, words)):
        if listed[row]:
            continue
        if _SENTENCE_BREAK.search(text) is not None:
            several.append(row)
            out.append((row, 0, -1))  # a place holder, replaced below
        elif count < MIN_SENTENCE_WORDS:
            continue
        elif count < SHORT_KEY_WORDS:
            out.append((row, exact_hash(words_keys[row]), len(text)))
        elif "0" not in key:
            out.append((row, exact_hash(key), len(text)))
        elif _holds_references(text):
            out.append((row, exact_hash(exact_key(text, key, template=False)[0]), len(text)))
        else:
            out.append((row, int(exact[row]), len(text)))
    if not several:
        return out
    hashed = iter(sentence_hashes_many([texts[row] for row in several]))
    whole: list[tuple[int, int, int]] = []
    for row, sentence, length in out:
        if length >= 0:
            whole.append((row, sentence, length))
        else:
            whole.extend((row, *found) for found in next(hashed))
    return whole


def _holds_references(text: str) -> bool:
    """Whether :func:`~dedupe.normalize.value_keys` sees a link or an address in ``text``."""
    folded = text.lower() if text.isascii() else unicodedata.normalize("NFKC", text).casefold()
    return "@" in folded or "://" in folded or "www." in folded


#: The columns (:mod:`dedupe.schema`) of the tuples fingerprint_documents collects.
_SENTENCE_COLUMNS = ("sent_row", "sent_hash", "sent_len")
_TYPO_COLUMNS = ("typo_row", "typo_hash", "typo_letters", "typo_len", "typo_word")


def _columns(names: tuple[str, ...], values: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    """Tuples of values, one per row, as columns by name (none when there is no row)."""
    return dict(zip(names, zip(*values)))
