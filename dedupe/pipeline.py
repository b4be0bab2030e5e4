"""The stages wired together: :func:`clean` for pipelines, :class:`Cleaner` for control.

Batch mode reads the input twice. Pass 1 normalises, segments, strips and
fingerprints every document (in worker processes when ``jobs > 1``) and keeps
only numbers; :func:`~dedupe.resolve.resolve` then decides corpus-wide what is
a duplicate or boilerplate; pass 2 re-reads the input, repeats the cheap
per-document stages and assembles the output. Nothing holds the corpus text in
memory, and results come back in input order whatever the number of workers.

>>> docs = [
...     {"id": "a", "text": "Storms hit the northern coast on Monday, cutting power to many homes.\\nShare this:"},
...     {"id": "b", "text": "Storms hit the northern coast on Monday, cutting power to many homes."},
...     {"id": "c", "text": "A different story about the local elections, held under heavy rain."},
... ]
>>> [(d["id"], d["text"]) for d in clean(docs)]  # doctest: +NORMALIZE_WHITESPACE
[('a', 'Storms hit the northern coast on Monday, cutting power to many homes.'),
 ('c', 'A different story about the local elections, held under heavy rain.')]
"""

from __future__ import annotations

import functools
import logging
import math
import os
import pickle
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from ftfy.fixes import fix_surrogates

from . import record as R
from .config import CleanConfig
from .errors import AccountingError, InputError
from .fingerprint import Fingerprinter, exact_hash
from .index import Index, extend_with_earlier, new_rows
from .io import IterableSource, Record, Source, bad_record, output_fields
from .layout import segment, split_lines_keepends, take_out
from .normalize import match_key, repair, repair_document, value_keys
from .progress import ProgressCallback, ProgressEvent
from .record import Removal, Stats
from .resolve import (
    BODY,
    BOILERPLATE,
    DUPLICATE,
    HEADLINE,
    MATCH_NAMES,
    RULE_NAMES,
    STRIPPED,
    DocumentTable,
    ParagraphTable,
    Resolution,
    cluster_labels,
    resolve,
)
from .scratch import make_scratch_dir
from .store import SignatureStore
from .strip import (
    RELATED_HEADER_FAMILY,
    RELATED_LINKS,
    Catalogue,
    is_body_like,
    is_headline_like,
    load_catalogue,
    strip_pages,
)
from .templates import TemplateBuilder, TemplateTable, line_hashes, site_of
from .workers import WorkerPool, worker_count

log = logging.getLogger(__name__)

#: Documents per unit of work handed to a worker process.
BATCH_DOCS = 256
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


def typo_keys(key: str, max_words: int) -> list[tuple[int, int, int]]:
    """(hash of the other words, letters of this word, its length) for each typo-able word.

    A short line with one word mistyped is a copy the MinHash misses (a
    changed letter is a fifth of a short line's shingles). Two lines of the
    same words but one share the hash of the others (with the gap's position);
    the resolver then asks whether the two differing words are a typo apart.
    Only lines of 2 to ``max_words`` words, and words of 4+ letters with no
    digit (a changed number is a different fact) take part; the letters are a
    64-bit set (``ord % 64``).

    >>> [length for _, _, length in typo_keys("storm hits coast", 6)]
    [5, 4, 5]
    >>> typo_keys("stage 9 in paris", 6)[-1][0] == typo_keys("stage 9 in parsi", 6)[-1][0]
    True
    >>> typo_keys("a very long line of more than six words here", 6)
    []
    """
    words = key.split(" ")
    if not 2 <= len(words) <= max_words:
        return []
    out = []
    for j, word in enumerate(words):
        if len(word) >= TYPO_MIN_LETTERS and word.isalpha():
            letters = 0
            for char in word:
                letters |= 1 << (ord(char) % 64)
            out.append((exact_hash(" ".join(words[:j] + ["\x00"] + words[j + 1:])), letters, len(word)))
    return out



@dataclass(frozen=True, slots=True)
class Prepared:
    """A document after the per-document stages.

    ``text`` is the repaired document, layout and all; ``paragraphs`` are its
    non-blank lines, stripped (index = paragraph number in the removal
    record), ``verdicts`` the strip rule removing each one (``None`` = kept),
    ``keys`` their match keys.
    """

    paragraphs: list[str]
    keys: list[str]
    verdicts: list[str | None]
    text: str


def prepare(
    text: str,
    config: CleanConfig = CleanConfig(),
    catalogue: Catalogue | None = None,
    seconds: dict[str, float] | None = None,
    templates: TemplateTable | None = None,
    site: str | None = None,
) -> Prepared:
    """Run normalise, segment and strip on one document.

    The whole document is repaired before it is split into paragraphs, so a
    line break that arrived as an HTML entity separates paragraphs as a real
    one does.

    >>> p = prepare("Caf\\u00c3\\u00a9 news, fresh from the morning papers today.&#10;No comments:")
    >>> p.paragraphs, p.verdicts
    (['Café news, fresh from the morning papers today.', 'No comments:'], [None, 'comment-count'])
    """
    return prepare_many([(text, site)], config, catalogue, seconds, templates)[0]


def prepare_many(
    documents: Sequence[tuple[str, str | None]],
    config: CleanConfig = CleanConfig(),
    catalogue: Catalogue | None = None,
    seconds: dict[str, float] | None = None,
    templates: TemplateTable | None = None,
) -> list[Prepared]:
    """:func:`prepare` for a batch of (text, site) documents, stripped together.

    Each document comes out as :func:`prepare` makes it alone; the context
    pass scores the batch's pages in shared calls.

    >>> [p.verdicts for p in prepare_many([("No comments:", None), ("Post a Comment", None)])]
    [['comment-count'], ['comment-form']]
    """
    started = time.perf_counter()
    pages, keys, repeats, shares, texts = [], [], [], [], []
    for text, site in documents:
        repeat = share = None
        if templates is not None:
            # counted on the raw lines, as the counting pass saw them (it does not
            # repair): a paragraph takes the count of the input line it came from
            raw = split_lines_keepends(text)
            pieces = [repair(line) for line in raw] if config.normalize.repair else raw
            text = "".join(pieces)  # = repair_document(text)
            repeat, share = templates.lookup([line for line, piece in zip(raw, pieces) for _ in segment(piece)],
                                             site)
        else:
            text = _repaired(text, config)
        paragraphs = segment(text)
        texts.append(text)
        pages.append(paragraphs)
        keys.append([match_key(p) for p in paragraphs])
        repeats.append(repeat)
        shares.append(share)
    normalized = time.perf_counter()
    verdicts = strip_pages(pages, config.strip, catalogue=catalogue, keys=keys, repeats=repeats, site_share=shares)
    if seconds is not None:
        seconds["normalize"] = seconds.get("normalize", 0.0) + normalized - started
        seconds["strip"] = seconds.get("strip", 0.0) + time.perf_counter() - normalized
    return [Prepared(*parts) for parts in zip(pages, keys, verdicts, texts)]


def _repaired(text: str, config: CleanConfig) -> str:
    return repair_document(text) if config.normalize.repair else text


@dataclass(slots=True)
class _Pass1Batch:
    """Numbers pass 1 keeps for a batch of documents."""

    indices: np.ndarray
    chars: np.ndarray
    doc: np.ndarray
    para: np.ndarray
    exact: np.ndarray
    length: np.ndarray
    minhashed: np.ndarray
    shape: np.ndarray
    text_hash: np.ndarray
    ident: np.ndarray
    template: np.ndarray
    sent_row: np.ndarray
    sent_hash: np.ndarray
    sent_len: np.ndarray
    typo_row: np.ndarray
    typo_hash: np.ndarray
    typo_letters: np.ndarray
    typo_len: np.ndarray
    related: np.ndarray
    related_headed: np.ndarray
    signatures: np.ndarray
    paragraphs: int
    seconds: dict[str, float]


#: A unit of work: (the line counts, as a folder or a table; file to spill the
#: prepared documents to for pass 2; the documents as (index, text, site)).
Job = tuple["str | TemplateTable | None", str | None, list[tuple[int, str, str | None]]]

_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+")
#: Sentences shorter than this (in words) are merged into the next one: they
#: are abbreviations ("Mr.", "U.S.") or too short to identify a copy.
MIN_SENTENCE_WORDS = 4


def sentence_hashes(text: str) -> list[tuple[int, int]]:
    """(hash of match key, characters) of each sentence of a paragraph.

    >>> [n for _, n in sentence_hashes("Mr. Smith went to Washington on Monday. He met the press there.")]
    [39, 23]
    """
    pieces = [p for p in _SENTENCE_BREAK.split(text) if p]
    merged: list[str] = []
    carry = ""
    for piece in pieces:
        carry = f"{carry} {piece}" if carry else piece
        if len(carry.split()) >= MIN_SENTENCE_WORDS:
            merged.append(carry)
            carry = ""
    if carry:
        if merged and len(carry.split()) < MIN_SENTENCE_WORDS:
            merged[-1] = f"{merged[-1]} {carry}"
        else:
            merged.append(carry)
    out = []
    for sentence in merged:
        key = match_key(sentence)
        words = key.count(" ") + 1
        if words >= MIN_SENTENCE_WORDS:
            # as for whole lines: a short sentence's numbers are part of it, a long one keeps its identifiers
            if words < SHORT_KEY_WORDS:
                key = match_key(sentence, fold_digits=False)
            elif "0" in key:  # digits to look at (links and addresses hold no identifier)
                key = exact_key(sentence, key, template=False)[0]
            out.append((exact_hash(key), len(sentence)))
    return out


def exact_key(text: str, key: str, template: bool = True) -> tuple[str, str, str | None]:
    """(exact key, identifier key, template key) of a line whose match key is ``key``.

    A line of fewer than :data:`SHORT_KEY_WORDS` words keeps its digits in
    the exact key ("For sale: $600,000" is not "$599,900"); a longer one folds
    plain numbers, a typical repost edit, but keeps its identifiers
    (:func:`~dedupe.normalize.value_keys`): two lines that differ in a CVE id,
    a bug number, a version or a date are different lines, up to
    :data:`IDENTIFIER_MAX_WORDS` words. ``template=False``
    leaves the template key out (None).

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
    # folding changes only digits: a key without a folded digit is its own unfolded key
    exact = match_key(text, fold_digits=False) if short and "0" in key else key
    return (f"{exact}\x00{identifiers}" if identifiers else exact), identifiers, template_key


def paragraph_shapes(paragraphs: list[str]) -> list[int]:
    """:data:`~dedupe.resolve.HEADLINE` and :data:`~dedupe.resolve.BODY` bits of each paragraph.

    The resolver decides placement from them (:func:`~dedupe.resolve.placement`)
    once it knows which rows are boilerplate.

    >>> paragraph_shapes(["Storm Hits Coast", "The storm reached the coast on Monday night, flooding streets "
    ...                   "across the whole town.", "ok"])
    [1, 2, 0]
    """
    return [(HEADLINE if is_headline_like(p, questions=True) else 0) | (BODY if is_body_like(p) else 0)
            for p in paragraphs]


def link_list_runs(verdicts: list[str | None], families: dict[str, str]) -> tuple[list[int], list[bool]]:
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


class _Worker:
    """Per-process state: the compiled catalogue, the fingerprinter, the line counts."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        self.catalogue = load_catalogue()
        d = config.dedup
        self.fingerprinter = Fingerprinter(
            num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
            threshold=d.threshold, bands=d.bands, shingle=d.shingle, max_length=d.max_minhash_chars, scheme=d.scheme,
        )
        self.templates: TemplateTable | None = None
        self._templates_dir: str | None = None

    def _use_templates(self, source: str | TemplateTable | None) -> None:
        """Line counts for the context pass: a folder to memory-map, or the table itself
        (the Dask engine sends it through a cluster whose workers may not see the folder)."""
        if isinstance(source, TemplateTable):
            self.templates = source
        elif source is not None and source != self._templates_dir:
            self.templates = TemplateTable.load(Path(source))
            self._templates_dir = source

    def count_batch(self, job: Job) -> list[tuple[str | None, np.ndarray]]:
        return [(site, line_hashes(segment(text))) for _, text, site in job[2]]

    def prepare_batch(self, job: Job, seconds: dict[str, float] | None = None) -> list[Prepared]:
        self._use_templates(job[0])
        return prepare_many([(text, site) for _, text, site in job[2]], self.config, self.catalogue, seconds,
                            self.templates)

    def fingerprint_batch(self, job: Job) -> _Pass1Batch:
        seconds: dict[str, float] = {}
        batch = job[2]
        prepared = self.prepare_batch(job, seconds)
        if job[1] is not None:
            # pass 2 reads these back instead of repairing and stripping again; the
            # repaired text only where repair changed it (pass 2 has the input)
            with open(job[1], "wb") as spill:
                pickle.dump([(None if p.text == text else p.text, p.verdicts)
                             for (_, text, _), p in zip(batch, prepared)], spill,
                            protocol=pickle.HIGHEST_PROTOCOL)
        prepared_at = time.perf_counter()
        chars, doc, para, keys, exact_keys, length, shape, text_hash = [], [], [], [], [], [], [], []
        ident: list[int] = []
        templates: list[int] = []  # hash of the template key
        valued: list[bool] = []  # whether the line has values (numbers, links, mailboxes) to mask
        sent_row, sent_hash, sent_len = [], [], []
        typo_row, typo_hash, typo_letters, typo_len = [], [], [], []
        related, related_headed = [], []
        typo_words = self.config.dedup.typo_words
        families = self.catalogue.families if self.config.dedup.related_evidence else {}
        paragraphs = 0
        for (index, _, _), prep in zip(batch, prepared):
            paragraphs += len(prep.paragraphs)
            if families:
                runs, headed = link_list_runs(prep.verdicts, families)
            else:
                runs, headed = [-1] * len(prep.verdicts), [False] * len(prep.verdicts)
            # link lists get rows too: the resolver may find an unheaded one to be the article's
            rowed = [n for n, v in enumerate(prep.verdicts) if v is None or runs[n] >= 0]
            shapes = paragraph_shapes([prep.paragraphs[n] for n in rowed])
            total = 0
            for position, number in enumerate(rowed):
                text, key = prep.paragraphs[number], prep.keys[number]
                if runs[number] >= 0 and not key:
                    continue  # stays stripped: no row can bring it back
                total += len(text)
                if not key:
                    continue
                listed = runs[number] >= 0
                related.append(runs[number])
                related_headed.append(headed[number])
                # A link list's lines are matched by their exact keys only: mostly short
                # titles, copied verbatim. With MinHash signatures (and band candidates)
                # and sentences they took the 100k-document benchmark from 1.86 to 2.53 GB;
                # typo keys cost it 4 s and found 3 more copies on syndication dev.
                for sentence_hash, sentence_chars in () if listed else sentence_hashes(text):
                    sent_row.append(len(doc))
                    sent_hash.append(sentence_hash)
                    sent_len.append(sentence_chars)
                doc.append(index)
                para.append(number)
                keys.append("" if listed else key)
                line_key, identifiers, template = exact_key(text, key)
                exact_keys.append(line_key)
                ident.append(exact_hash(identifiers) if identifiers else 0)
                templates.append(0 if template is None else exact_hash(template))
                valued.append(template is not None)
                words_key = line_key.split("\x00", 1)[0]
                if typo_words and not listed and len(words_key) < self.config.dedup.short_chars:
                    for typo_key, letters, letters_count in typo_keys(words_key, typo_words):
                        typo_row.append(len(doc) - 1)
                        typo_hash.append(typo_key)
                        typo_letters.append(letters)
                        typo_len.append(letters_count)
                length.append(len(text))
                shape.append(shapes[position])
                text_hash.append(exact_hash(text))
            chars.append(total)
        prints = self.fingerprinter.fingerprint(keys, exact_keys, with_bands=False)
        # a line without values is a template of its own: its exact hash
        template_hash = np.where(np.array(valued, dtype=bool), np.array(templates, dtype=np.uint64), prints.exact)
        return _Pass1Batch(
            indices=np.array([index for index, _, _ in batch], dtype=np.int64),
            chars=np.array(chars, dtype=np.int64),
            doc=np.array(doc, dtype=np.int64),
            para=np.array(para, dtype=np.int32),
            exact=prints.exact,
            length=np.array(length, dtype=np.int64),
            minhashed=prints.minhashed,
            shape=np.array(shape, dtype=np.int8),
            text_hash=np.array(text_hash, dtype=np.uint64),
            ident=np.array(ident, dtype=np.uint64),
            template=template_hash.astype(np.uint64),
            sent_row=np.array(sent_row, dtype=np.int64),
            sent_hash=np.array(sent_hash, dtype=np.uint64),
            sent_len=np.array(sent_len, dtype=np.int64),
            typo_row=np.array(typo_row, dtype=np.int64),
            typo_hash=np.array(typo_hash, dtype=np.uint64),
            typo_letters=np.array(typo_letters, dtype=np.uint64),
            typo_len=np.array(typo_len, dtype=np.int8),
            related=np.array(related, dtype=np.int32),
            related_headed=np.array(related_headed, dtype=bool),
            signatures=prints.signatures,
            paragraphs=paragraphs,
            seconds={**seconds, "fingerprint": time.perf_counter() - prepared_at},
        )


_PROCESS_WORKER: _Worker | None = None


def _init_process(config: CleanConfig) -> None:
    global _PROCESS_WORKER
    _PROCESS_WORKER = _Worker(config)


def _worker() -> _Worker:
    if _PROCESS_WORKER is None:  # pragma: no cover - set by the pool initializer
        raise RuntimeError("worker not initialised")
    return _PROCESS_WORKER


def _process_count(job: Job) -> list[tuple[str | None, np.ndarray]]:
    return _worker().count_batch(job)


def _process_fingerprint(job: Job) -> _Pass1Batch:
    return _worker().fingerprint_batch(job)


def _process_prepare(job: Job) -> list[Prepared]:
    return _worker().prepare_batch(job)


@dataclass(slots=True)
class DocResult:
    """What happened to one input document.

    ``output`` is the cleaned document (input fields, cleaned text) or ``None``
    when the document was dropped; ``removals`` lists every removed paragraph,
    after the document itself when it was dropped. ``paragraphs`` are the
    document's paragraphs as numbered in the record.
    """

    record: Record
    output: dict[str, Any] | None
    text: str | None
    removals: list[Removal] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)

    @property
    def kept(self) -> bool:
        return self.output is not None


def _map(pool: Any, remote: Callable[[Job], Any], local: Callable[[Job], Any], jobs: Iterable[Job]) -> Iterator[Any]:
    """``remote`` over ``jobs`` in the pool's workers (``local`` here, when it has none or
    decides the input is too small for them), results in order."""
    return pool.imap(remote, jobs, local) if pool is not None else map(local, jobs)


def _size(chunk: list[Record]) -> tuple[int, int]:
    """Documents and characters of text in a batch, for progress."""
    return len(chunk), sum(len(r.text) for r in chunk if r.error is None and r.text)


def _add(done: list[int], size: tuple[int, int]) -> tuple[int, int]:
    done[0] += size[0]
    done[1] += size[1]
    return size


def _batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _timestamp(value: Any) -> float:
    """Seconds since the epoch of a date field (``inf``: no readable date, ranks last).

    Numbers are taken as timestamps, strings as ISO 8601; dates and datetimes
    are what Parquet date and timestamp columns read as. Naive times are UTC.

    >>> from datetime import date
    >>> _timestamp("2024-01-02T00:00:00Z") == _timestamp(date(2024, 1, 2)) == 1704153600.0
    True
    >>> _timestamp("yesterday"), _timestamp(10 ** 400), _timestamp(True)
    (inf, inf, inf)
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return math.inf
        return number if math.isfinite(number) else math.inf
    elif isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return math.inf
    else:
        return math.inf
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):  # beyond what the platform's clock functions take
        return math.inf


class Cleaner:
    """Runs the whole pipeline over a source and yields a :class:`DocResult` per document.

    ``jobs`` worker processes (0: every core) do the per-document stages,
    capped at the cores available; an input too small to repay starting them
    runs in this process (:mod:`dedupe.workers`). No caller needs an
    ``if __name__ == "__main__":`` guard: workers never re-run the caller's script.

    >>> from dedupe.io import IterableSource
    >>> results = list(Cleaner().run(IterableSource(["Hello there, this is a document.", ""])))
    >>> [(r.kept, [x.reason for x in r.removals]) for r in results]
    [(True, []), (False, ['empty'])]
    """

    def __init__(
        self,
        config: CleanConfig = CleanConfig(),
        *,
        jobs: int = 1,
        progress: ProgressCallback | None = None,
        index: Index | None = None,
        engine: str = "local",
        scheduler: str | None = None,
    ) -> None:
        if jobs < 0:
            raise ValueError("jobs must be 0 (every core) or positive")
        if engine not in ("local", "dask"):
            raise ValueError("engine must be 'local' or 'dask'")
        self.config = config
        self.index = index
        self.engine = engine
        self.scheduler = scheduler
        # more processes than cores only cost memory (see dedupe.workers)
        self.jobs = worker_count(jobs)
        self.progress = progress
        self.stats = Stats()
        # (documents, characters) of the input, once a pass has read all of it
        self._totals: tuple[int, int] | None = None
        self.resolution: Resolution | None = None

    def _tick(self, stage: str, documents: int = 0, chars: int = 0, step: str = "", detail: str = "") -> None:
        if self.progress is not None:
            total_documents, total_chars = self._totals or (None, None)
            self.progress(ProgressEvent(stage, documents, chars, total_documents, total_chars, step, detail))

    def _resolve_step(self, step: str, detail: str = "") -> None:
        self._tick("resolve", step=step, detail=detail)

    def run(self, source: Source | Iterable[dict[str, Any] | str]) -> Iterator[DocResult]:
        """Clean every document of ``source``; results come in input order."""
        if not hasattr(source, "records"):
            source = IterableSource(source, self.config.read)  # type: ignore[arg-type]
        self.stats = Stats()
        self._totals = None
        started = time.perf_counter()
        pool: Any = None
        scratch = make_scratch_dir("run")  # also sweeps away the scratch of runs that were killed
        try:
            if self.engine == "dask":
                from .dask_engine import DaskPool

                pool = DaskPool(self.config, self.scheduler, self.jobs if self.jobs > 1 else 0)
            elif self.jobs > 1:
                pool = WorkerPool(self.jobs, _init_process, (self.config,))
            worker = _Worker(self.config)
            templates_dir = None
            strip_cfg = self.config.strip
            if strip_cfg.enabled and strip_cfg.context and strip_cfg.templates:
                worker.templates = self._count_lines(source, worker, pool)  # type: ignore[arg-type]
                if pool is not None:
                    # workers memory-map one copy of the counts
                    worker.templates.save(Path(scratch.name))
                    templates_dir = scratch.name
                    if hasattr(pool, "remember_templates"):  # a cluster's workers get this copy
                        pool.remember_templates(templates_dir, worker.templates)
            plan = None
            if self.config.dedup.enabled:
                plan = self._pass1(source, worker, pool, templates_dir, scratch.name)  # type: ignore[arg-type]
            yield from self._pass2(source, worker, pool, plan, templates_dir)  # type: ignore[arg-type]
            if pool is not None:
                pool.terminate()
                pool.join()
                pool = None
        finally:
            if pool is not None:  # stopped early: an error, SIGTERM, Ctrl-C, or the consumer went away
                _stop_now(pool)
            scratch.cleanup()
        self.stats.seconds["total"] = time.perf_counter() - started
        problems = self.stats.check()
        if problems:
            raise AccountingError("; ".join(problems))

    def _records(self, source: Source) -> Iterator[Record]:
        """The source's records, with lone surrogates in a text repaired or refused.

        A lone surrogate (a ``\\ud800`` escape in JSON, often an emoji cut in
        half) cannot be written as UTF-8. Repair replaces it with U+FFFD, as
        ftfy does; with repair off the text cannot be kept as read, so the
        record is bad input.
        """
        repair_text = self.config.normalize.repair
        for rec in source.records():
            if rec.error is None and rec.text_surrogates:
                if repair_text:
                    rec.text, rec.text_surrogates = fix_surrogates(rec.text), False
                else:
                    rec = bad_record(rec, "invalid-unicode",
                                     f"the {self.config.read.text_field!r} field holds a lone surrogate "
                                     "(\\ud800-\\udfff), which is not a character and cannot be written "
                                     "as UTF-8; clean without --no-repair to replace it with U+FFFD")
            yield rec

    def _site(self, record: Record) -> str | None:
        return site_of((record.fields or {}).get(self.config.read.url_field))

    # -- pass 0: line counts for site templates ---------------------------------

    def _count_lines(self, source: Source, worker: _Worker, pool: Any) -> TemplateTable:
        started = time.perf_counter()
        builder = TemplateBuilder()
        sizes: deque[tuple[int, int]] = deque()

        def jobs() -> Iterator[Job]:
            for chunk in _batches(self._records(source), BATCH_DOCS):
                for rec in chunk:
                    self._check_bad(rec)
                sizes.append(_size(chunk))
                yield None, None, [(r.index, r.text, self._site(r)) for r in chunk if r.error is None]

        done = [0, 0]
        self._tick("count lines")
        with _Guard(jobs()) as guarded:
            for batch in _map(pool, _process_count, worker.count_batch, guarded):
                for site, hashes in batch:
                    builder.add(site, hashes)
                self._tick("count lines", *_add(done, sizes.popleft()))
        self._totals = self._totals or (done[0], done[1])
        table = builder.finish()
        self.stats.seconds["count lines"] = time.perf_counter() - started
        return table

    # -- pass 1 ---------------------------------------------------------------

    def _check_bad(self, record: Record) -> None:
        if record.error is not None and not self.config.read.skip_bad:
            raise InputError(
                record.location, f"{record.error} (use --skip-bad to skip such records)"
            )

    def _pass1(
        self, source: Source, worker: _Worker, pool: Any, templates_dir: str | None, scratch: str
    ) -> _Plan:
        started = time.perf_counter()
        cfg = self.config.read
        doc_ids: list[str] = []
        sites: dict[str, int] = {}
        site_of_doc: list[int] = []
        dates: list[float] = []
        batches: list[_Pass1Batch] = []
        store = SignatureStore(worker.fingerprinter.rows, self.config.dedup.memory_limit, scratch)
        # pass 1 spills prepared documents for pass 2 only here: Dask workers
        # may not share this machine's disk, so with them pass 2 prepares again
        spill = scratch if self.engine == "local" else None
        sizes: deque[tuple[int, int]] = deque()

        def jobs() -> Iterator[Job]:
            for number, chunk in enumerate(_batches(self._records(source), BATCH_DOCS)):
                work = []
                for rec in chunk:
                    self._check_bad(rec)
                    doc_ids.append(rec.doc_id)
                    site = self._site(rec)
                    site_of_doc.append(-1 if site is None else sites.setdefault(site, len(sites)))
                    dates.append(_timestamp((rec.fields or {}).get(cfg.date_field)))
                    if rec.error is None:
                        work.append((rec.index, rec.text, site))
                        self.stats.bytes_in += len(rec.text)
                sizes.append(_size(chunk))
                yield templates_dir, (_spill_path(spill, number) if spill else None), work

        done = [0, 0]
        self._tick("fingerprint")
        with _Guard(jobs()) as guarded:
            for batch in _map(pool, _process_fingerprint, worker.fingerprint_batch, guarded):
                store.append(batch.signatures)
                batch.signatures = _NO_SIGNATURES
                batches.append(batch)
                self._tick("fingerprint", *_add(done, sizes.popleft()))
                for name, seconds in batch.seconds.items():
                    self.stats.seconds[name] += seconds
        self._totals = self._totals or (done[0], done[1])
        if spill is not None and isinstance(pool, WorkerPool):
            # pass 2 reads the spilled batches: the workers' memory serves resolve better
            pool.terminate()
        self.stats.seconds["pass1"] = time.perf_counter() - started

        resolve_started = time.perf_counter()
        self._resolve_step("building tables", f"{len(doc_ids):,} documents")
        if store.spilled:
            self.stats.signatures_spilled = store.size
            log.info("fingerprints passed --memory-limit: %d signatures spilled to disk", store.size)
        table, chars = _concatenate(batches, len(doc_ids), store)
        batches.clear()  # the table holds their numbers now; a second copy would double them
        site_arr = np.array(site_of_doc, dtype=np.int64)
        docs = DocumentTable(
            chars=chars,
            site=site_arr,
            date=np.array(dates, dtype=np.float64),
            site_docs=np.bincount(site_arr[site_arr >= 0], minlength=len(sites)).astype(np.int64),
        )
        duplicate_ids = len(doc_ids) - len(set(doc_ids))
        if duplicate_ids:
            log.warning("%d document id(s) occur more than once; removal records name documents by id, "
                        "so give every document a unique --id-field to tell them apart", duplicate_ids)
        if self.config.dedup.keep == "earliest":
            unknown = int(np.isinf(docs.date).sum())
            if unknown:
                log.warning("%d document(s) have no readable %r field; they rank last for keep=earliest",
                            unknown, cfg.date_field)
        n_input = len(doc_ids)
        earlier = None
        if self.index is not None:
            self._resolve_step("reading the index")
            earlier = self.index.load(store)  # signatures go straight into the (spilling) store
            table, docs = extend_with_earlier(table, docs, earlier, store, sites)
            doc_ids = doc_ids + earlier.doc_ids
            self.stats.index_rows = earlier.size
        # the Dask engine groups candidates and (past the memory budget) finds components on its
        # cluster; locally, --jobs threads share the bands (the worker processes are idle now)
        cluster = getattr(pool, "cluster", None) or functools.partial(
            cluster_labels, threads=self.jobs, progress=self._resolve_step)
        resolution = resolve(table, docs, self.config.dedup, cluster=cluster, progress=self._resolve_step)
        if self.index is not None:
            self._resolve_step("writing the index batch")
            # written now, while the signatures are at hand; joins the index at commit()
            self.index.stage(new_rows(table, resolution, store, doc_ids, list(sites), docs.site,
                                      n_input, earlier))
        store.close()
        self.resolution = resolution
        self.stats.clusters.update(resolution.cluster_stats)
        self.stats.seconds["resolve"] = time.perf_counter() - resolve_started
        row_start = np.searchsorted(table.doc, np.arange(n_input + 1))
        return _Plan(doc_ids, table, resolution, row_start, n_input, spill)

    # -- pass 2 ---------------------------------------------------------------

    def _pass2(
        self, source: Source, worker: _Worker, pool: Any, plan: _Plan | None, templates_dir: str | None
    ) -> Iterator[DocResult]:
        started = time.perf_counter()
        stage = "assemble" if plan is not None else "strip"
        pending: deque[list[Record]] = deque()

        def jobs() -> Iterator[Job]:
            for chunk in _batches(self._records(source), BATCH_DOCS):
                for rec in chunk:
                    if plan is None:
                        self._check_bad(rec)
                    elif rec.index >= plan.n_input or plan.doc_ids[rec.index] != rec.doc_id:
                        raise InputError(rec.location, "input changed between the two passes")
                pending.append(chunk)
                yield templates_dir, None, [(r.index, r.text, self._site(r)) for r in chunk if r.error is None]

        spill_dir = plan.spill if plan is not None else None

        def spilled(folder: str) -> Iterator[list[Prepared]]:
            for number, job in enumerate(jobs()):
                path = _spill_path(folder, number)
                with open(path, "rb") as handle:
                    batch = pickle.load(handle)
                os.unlink(path)
                prepared = []
                for (_, text, _), (repaired, verdicts) in zip(job[2], batch):
                    text = text if repaired is None else repaired
                    prepared.append(Prepared(segment(text), [], verdicts, text))
                yield prepared

        seen = 0
        self._tick(stage)
        with _Guard(jobs()) as guarded:
            if spill_dir is not None:
                results: Iterable[list[Prepared]] = spilled(spill_dir)
            else:
                results = _map(pool, _process_prepare, worker.prepare_batch, guarded)
            for prepared_batch in results:
                chunk = pending.popleft()
                prepared_iter = iter(prepared_batch)
                for rec in chunk:
                    result = self._assemble(rec, None if rec.error else next(prepared_iter), plan)
                    seen += 1
                    yield result
                self._tick(stage, *_size(chunk))
        if plan is not None and seen != plan.n_input:
            raise InputError("input", f"input changed between the two passes ({plan.n_input} then {seen} records)")
        self.stats.seconds["pass2"] = time.perf_counter() - started

    def _assemble(self, rec: Record, prep: Prepared | None, plan: _Plan | None) -> DocResult:
        stats = self.stats
        stats.documents_in += 1
        if prep is None:
            removal = Removal(rec.doc_id, None, rec.text, R.BAD_INPUT, rec.error_rule or "bad-input",
                              detail=f"{rec.location}: {rec.error}", text_encoding=rec.text_encoding,
                              salvage=rec.salvage)
            stats.add_removal(removal)
            return DocResult(rec, None, None, [removal])
        stats.paragraphs_in += len(prep.paragraphs)
        removals: list[Removal] = []
        kept = 0
        rows: dict[int, int] = {}
        if plan is not None:
            start, stop = plan.row_start[rec.index], plan.row_start[rec.index + 1]
            rows = {int(p): start + offset for offset, p in enumerate(plan.table.para[start:stop])}
        for number, (text, verdict) in enumerate(zip(prep.paragraphs, prep.verdicts)):
            row = rows.get(number)
            if verdict is not None and (row is None or plan is None or plan.resolution.status[row] == STRIPPED):
                removals.append(Removal(rec.doc_id, number, text, R.CHROME, verdict))
                continue
            removal = None if row is None or plan is None else plan.removal_for(row, rec.doc_id, number, text)
            if removal is None:
                kept += 1
            else:
                removals.append(removal)
        # a dropped document's record carries its repaired text: the paragraph
        # numbers of its other lines in the record index into that text
        dropped: Removal | None = None
        if not prep.paragraphs:
            dropped = Removal(rec.doc_id, None, prep.text, R.EMPTY, "empty-document")
        elif plan is not None and plan.resolution.doc_dropped[rec.index]:
            ref = int(plan.resolution.doc_kept_ref[rec.index])
            dropped = Removal(
                rec.doc_id, None, prep.text, R.DUPLICATE_DOCUMENT, "min-kept",
                kept_doc_id=plan.doc_ids[ref] if ref >= 0 else None,
            )
        elif not kept:
            dropped = Removal(rec.doc_id, None, prep.text, R.EMPTY, "nothing-left")
        for removal in removals:
            stats.add_removal(removal)
        if dropped is not None:
            stats.add_removal(dropped)
            stats.paragraphs_in_dropped_documents += kept
            # the verdict on the whole document first: readers of the record meet it first
            return DocResult(rec, None, None, [dropped] + removals, prep.paragraphs)
        stats.documents_kept += 1
        stats.paragraphs_kept += kept
        text = take_out(prep.text, {r.paragraph for r in removals if r.paragraph is not None})
        return DocResult(rec, output_fields(rec, text, self.config.read), text, removals, prep.paragraphs)


@dataclass(slots=True)
class _Plan:
    doc_ids: list[str]
    table: ParagraphTable
    resolution: Resolution
    row_start: np.ndarray
    n_input: int  # documents of this run; doc_ids continues with an index's earlier documents
    spill: str | None = None

    def removal_for(self, row: int, doc_id: str, number: int, text: str) -> Removal | None:
        status = self.resolution.status[row]
        if status == BOILERPLATE:
            return Removal(doc_id, number, text, R.BOILERPLATE, RULE_NAMES[int(self.resolution.rule[row])])
        if status == DUPLICATE:
            canon = int(self.resolution.canonical[row])
            return Removal(
                doc_id, number, text, R.DUPLICATE,
                MATCH_NAMES[int(self.resolution.match[row])],
                kept_doc_id=self.doc_ids[int(self.table.doc[canon])],
                kept_paragraph=int(self.table.para[canon]),
                similarity=float(self.resolution.similarity[row]),
            )
        return None


#: Seconds an interrupted run waits for its pool to stop.
STOP_TIMEOUT = 10.0


def _stop_now(pool: Any) -> None:
    """Stop a pool whose remaining results nobody will read.

    ``multiprocessing.Pool.terminate()`` (which the local engine used) could
    wait forever on a lock or a result a stopped worker held, and a cluster
    may not answer; so stopping runs in a daemon thread, and a run that is
    ending anyway does not wait for it longer than :data:`STOP_TIMEOUT`.
    """
    stopper = threading.Thread(target=pool.terminate, daemon=True, name="dedupe-pool-stop")
    stopper.start()
    stopper.join(STOP_TIMEOUT)
    if stopper.is_alive():
        log.warning("worker pool did not stop within %.0f s; leaving it behind", STOP_TIMEOUT)


class _Guard:
    """Feeds a job generator to ``Pool.imap`` without letting it raise there.

    An exception raised by the iterable inside ``Pool.imap`` kills the pool's
    task feeder and leaves ``imap`` waiting forever. The guard stops the jobs
    at the first exception instead, lets the submitted ones finish, and
    re-raises it when the ``with`` block ends.
    """

    def __init__(self, jobs: Iterator[Job]) -> None:
        self._jobs = jobs
        self.error: BaseException | None = None

    def __iter__(self) -> Iterator[Job]:
        try:
            yield from self._jobs
        except Exception as exc:  # re-raised by __exit__, in the caller's thread
            self.error = exc

    def __enter__(self) -> _Guard:
        return self

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        if self.error is not None and kind is None:
            raise self.error


def _spill_path(folder: str, number: int) -> str:
    return os.path.join(folder, f"prepared-{number:09d}.pkl")


_NO_SIGNATURES = np.empty((0, 0), np.uint32)


def _concatenate(
    batches: list[_Pass1Batch], n_docs: int, store: SignatureStore
) -> tuple[ParagraphTable, np.ndarray]:
    chars = np.zeros(n_docs, dtype=np.int64)
    for batch in batches:
        chars[batch.indices] = batch.chars

    def cat(name: str, dtype: Any) -> np.ndarray:
        parts = [getattr(b, name) for b in batches]
        return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)

    doc = cat("doc", np.int64)
    minhashed = cat("minhashed", bool)
    sig_row = np.full(doc.shape[0], -1, dtype=np.int64)
    sig_row[minhashed] = np.arange(int(minhashed.sum()))
    # sentence rows are batch-local: shift them by the rows before each batch
    offsets = np.cumsum([0] + [b.doc.shape[0] for b in batches[:-1]])
    sent_row = (np.concatenate([b.sent_row + off for b, off in zip(batches, offsets)])
                if batches else np.empty(0, np.int64))
    typo_row = (np.concatenate([b.typo_row + off for b, off in zip(batches, offsets)])
                if batches else np.empty(0, np.int64))
    table = ParagraphTable(
        doc=doc, para=cat("para", np.int32), exact=cat("exact", np.uint64),
        length=cat("length", np.int64), sig_row=sig_row, signatures=store, rows=store.rows,
        shape=cat("shape", np.int8), text_hash=cat("text_hash", np.uint64),
        ident=cat("ident", np.uint64), template=cat("template", np.uint64),
        sent_row=sent_row.astype(np.int64), sent_hash=cat("sent_hash", np.uint64),
        sent_len=cat("sent_len", np.int64),
        typo_row=typo_row.astype(np.int64), typo_hash=cat("typo_hash", np.uint64),
        typo_letters=cat("typo_letters", np.uint64), typo_len=cat("typo_len", np.int8),
        related=cat("related", np.int32), related_headed=cat("related_headed", bool),
    )
    return table, chars


def clean(
    docs: Iterable[dict[str, Any] | str],
    config: CleanConfig = CleanConfig(),
    *,
    jobs: int = 1,
    index: str | Path | None = None,
) -> Iterator[dict[str, Any]]:
    """Clean documents for a data pipeline: yields the kept documents, cleaned.

    ``docs`` are dicts (the text in ``config.read.text_field``, other fields
    preserved) or plain strings. With ``index`` (a folder), the documents are
    cleaned against every batch cleaned before with that index, and join it
    once the last document has been yielded. Use :class:`Cleaner` to see the
    removals too.

    >>> [d["text"] for d in clean([{"text": "Same words here, twice over."}] * 2)]
    ['Same words here, twice over.']
    """
    source = IterableSource(docs, config.read)
    opened = Index.open(index, config) if index is not None else None
    try:
        for result in Cleaner(config, jobs=jobs, index=opened).run(source):
            if result.output is not None:
                yield result.output
        if opened is not None:
            opened.commit()
    finally:
        if opened is not None:
            opened.close()
        source.close()
