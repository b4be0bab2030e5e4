"""The assemble stage: each document's removed lines taken out, its layout kept.

Pass 2 hands a batch of documents, prepared again (or read back from pass 1's
spill), to :func:`assemble_batch` with the resolver's :class:`Plan`: chrome the
stripper removed, duplicates and boilerplate the resolver found, and the
documents it dropped become the batch's removal columns; what is left is
the input text minus the removed lines (:func:`~dedupe.layout.take_out`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import record as R
from .config import ReadConfig
from .layout import take_out
from .prepare import Prepared
from .readers import Record
from .record import DocumentRemovals, Removal, RemovalColumns, Stats
from .resolve.resolution import MATCH_NAMES, RULE_NAMES, Resolution, Status
from .schema import ParagraphTable
from .writers import output_fields


@dataclass(slots=True)
class DocResult:
    """What happened to one input document.

    ``output`` is the cleaned document (input fields, cleaned text) or ``None``
    when the document was dropped; ``removals`` lists every removed paragraph,
    after the document itself when it was dropped (made from ``removed``, the
    batch's columns, when first asked for). ``paragraphs`` are the document's
    paragraphs as numbered in the record.
    """

    record: Record
    output: dict[str, Any] | None
    text: str | None
    removed: DocumentRemovals
    paragraphs: list[str] = field(default_factory=list)
    _removals: list[Removal] | None = field(default=None, repr=False, compare=False)

    @property
    def kept(self) -> bool:
        return self.output is not None

    @property
    def removals(self) -> list[Removal]:
        if self._removals is None:
            self._removals = self.removed.removals()
        return self._removals


@dataclass(slots=True)
class Plan:
    """The resolver's decisions, as assembly reads them."""

    doc_ids: list[str]
    table: ParagraphTable
    resolution: Resolution
    row_start: np.ndarray  # int64[D + 1]: the first row of every document of this run, and the end
    n_input: int  # documents of this run; doc_ids continues with an index's earlier documents
    spill: str | None = None  # the folder pass 1 spilled its prepared batches to

    def shard(self, first: int, stop: int) -> ShardPlan:
        """The decisions on documents ``[first, stop)`` alone, for a task assembling them: numbers,
        and the ids of the documents their duplicates name."""
        rows = slice(int(self.row_start[first]), int(self.row_start[stop]))
        res = self.resolution
        canonical = res.canonical[rows]
        copy = (res.status[rows] == Status.DUPLICATE) & (canonical >= 0)
        kept_docs = np.where(copy, self.table.doc[np.where(copy, canonical, 0)], -1)
        named, kept_ref = np.unique(kept_docs[copy], return_inverse=True)
        ref = np.full(canonical.shape[0], -1, dtype=np.int64)
        ref[copy] = kept_ref
        dropped = res.doc_dropped[first:stop]
        holders = res.doc_kept_ref[first:stop]
        return ShardPlan(
            first=first, row_start=self.row_start[first:stop + 1] - self.row_start[first],
            para=self.table.para[rows], status=res.status[rows], rule=res.rule[rows], match=res.match[rows],
            similarity=res.similarity[rows], kept_ref=ref,
            kept_para=np.where(copy, self.table.para[np.where(copy, canonical, 0)], -1),
            kept_ids=[self.doc_ids[int(d)] for d in named], doc_dropped=dropped,
            doc_holder=[self.doc_ids[int(h)] if d and h >= 0 else None for d, h in zip(dropped, holders)],
        )


@dataclass(slots=True)
class ShardPlan:
    """:class:`Plan`'s decisions on a run of consecutive documents (from ``first``), as a task
    assembling them gets them: rows renumbered from 0, kept copies named by document id."""

    first: int
    row_start: np.ndarray
    para: np.ndarray
    status: np.ndarray
    rule: np.ndarray
    match: np.ndarray
    similarity: np.ndarray
    kept_ref: np.ndarray  # per row: the kept copy's document in kept_ids, or -1
    kept_para: np.ndarray
    kept_ids: list[str]
    doc_dropped: np.ndarray
    doc_holder: list[str | None]

    def shard(self, first: int, stop: int) -> ShardPlan:
        """The decisions on documents ``[first, stop)`` of these, as :meth:`Plan.shard` cuts them."""
        local, end = first - self.first, stop - self.first
        rows = slice(int(self.row_start[local]), int(self.row_start[end]))
        return ShardPlan(
            first=first, row_start=self.row_start[local:end + 1] - self.row_start[local], para=self.para[rows],
            status=self.status[rows], rule=self.rule[rows], match=self.match[rows],
            similarity=self.similarity[rows], kept_ref=self.kept_ref[rows], kept_para=self.kept_para[rows],
            kept_ids=self.kept_ids, doc_dropped=self.doc_dropped[local:end], doc_holder=self.doc_holder[local:end])


#: Removal kinds of a paragraph, as :func:`assemble_batch` codes them (0: kept).
_CHROME, _BOILERPLATE, _DUPLICATE = 1, 2, 3
_REASONS = np.array([None, R.CHROME, R.BOILERPLATE, R.DUPLICATE], dtype=object)
_RULE_NAMES = np.array([RULE_NAMES.get(code) for code in range(max(RULE_NAMES) + 1)], dtype=object)
_MATCH_NAMES = np.array([MATCH_NAMES.get(code) for code in range(max(MATCH_NAMES) + 1)], dtype=object)


def assemble_batch(records: Sequence[Record], prepared: Iterable[Prepared], plan: Plan | ShardPlan | None,
                   stats: Stats, config: ReadConfig) -> list[DocResult]:
    """The results of consecutive input documents: their cleaned outputs and removals, counted in ``stats``.

    ``prepared`` holds one :class:`~dedupe.prepare.Prepared` per readable record
    (a record with an error is ``bad-input``); ``plan`` is None when nothing
    was resolved (``dedupe strip``, or deduplication off), and only the
    stripper's verdicts count. Every paragraph's fate is read for the batch
    at once, from the verdicts and the resolver's arrays: a paragraph the
    stripper removed and the resolver did not confirm is chrome, else it is
    boilerplate or a duplicate as resolved; the removals come out as one
    :class:`~dedupe.record.RemovalColumns` for the batch.

    >>> from dedupe.prepare import prepare
    >>> rec = Record(0, "a", "Storm hits coast.\\nShare this:", "a:1")
    >>> [r.rule for r in assemble_batch([rec], [prepare(rec.text)], None, Stats(), ReadConfig())[0].removals]
    ['share']
    """
    if not records:
        return []
    given = iter(prepared)
    preps = [None if rec.error is not None else next(given) for rec in records]
    counts = np.array([0 if p is None else len(p.paragraphs) for p in preps], dtype=np.int64)
    starts = np.zeros(len(preps) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    readable = [p for p in preps if p is not None]
    verdicts = np.array([v for p in readable for v in p.verdicts] or [None], dtype=object)[:int(starts[-1])]
    kind = np.zeros(int(starts[-1]), dtype=np.int8)
    view = None
    if plan is not None:
        first = records[0].index
        if records[-1].index - first + 1 != len(records):
            raise ValueError("assemble_batch takes consecutive documents")
        view = plan.shard(first, first + len(records))
        # each resolved row's place among the batch's paragraphs
        place = starts[np.repeat(np.arange(len(records)), np.diff(view.row_start))] + view.para
        row = np.full(kind.shape[0], -1, dtype=np.int64)
        row[place] = np.arange(place.shape[0])
        status = np.full(kind.shape[0], Status.KEPT, dtype=np.int8)
        status[place] = view.status
        kind[status == Status.BOILERPLATE] = _BOILERPLATE
        kind[status == Status.DUPLICATE] = _DUPLICATE
        # the stripper's verdict stands where the resolver has no row or confirmed it
        kind[(verdicts != None) & ((row < 0) | (status == Status.STRIPPED))] = _CHROME  # noqa: E711
    else:
        kind[verdicts != None] = _CHROME  # noqa: E711
    where = np.flatnonzero(kind)
    doc_of = np.searchsorted(starts, where, side="right") - 1
    bounds = np.zeros(len(preps) + 1, dtype=np.int64)
    np.cumsum(np.bincount(doc_of, minlength=len(preps)), out=bounds[1:])
    columns = _removal_columns(where, kind[where], starts[doc_of], verdicts, readable, view,
                               None if view is None else row[where])
    stats.add_removals(columns)
    kept_counts = (counts - np.diff(bounds)).tolist()
    results = []
    for number, (rec, prep) in enumerate(zip(records, preps)):
        stats.documents_in += 1
        if prep is None:
            removal = Removal(rec.doc_id, None, rec.text, R.BAD_INPUT, rec.error_rule or "bad-input",
                              detail=f"{rec.location}: {rec.error}", text_encoding=rec.text_encoding,
                              salvage=rec.salvage)
            stats.add_removal(removal)
            results.append(DocResult(rec, None, None, DocumentRemovals(rec.doc_id, removal)))
            continue
        stats.paragraphs_in += len(prep.paragraphs)
        kept = kept_counts[number]
        low, high = int(bounds[number]), int(bounds[number + 1])
        # a dropped document's record carries its repaired text: the paragraph
        # numbers of its other lines in the record index into that text
        dropped: Removal | None = None
        if not prep.paragraphs:
            dropped = Removal(rec.doc_id, None, prep.text, R.EMPTY, "empty-document")
        elif view is not None and view.doc_dropped[number]:
            dropped = Removal(rec.doc_id, None, prep.text, R.DUPLICATE_DOCUMENT, "min-kept",
                              kept_doc_id=view.doc_holder[number])
        elif not kept:
            dropped = Removal(rec.doc_id, None, prep.text, R.EMPTY, "nothing-left")
        removed = DocumentRemovals(rec.doc_id, dropped, columns, low, high)
        if dropped is not None:
            stats.add_removal(dropped)
            stats.paragraphs_in_dropped_documents += kept
            results.append(DocResult(rec, None, None, removed, prep.paragraphs))
            continue
        stats.documents_kept += 1
        stats.paragraphs_kept += kept
        text = take_out(prep.text, columns.paragraph[low:high]) if high > low else prep.text
        results.append(DocResult(rec, output_fields(rec, text, config), text, removed, prep.paragraphs))
    return results


def _removal_columns(where: np.ndarray, kinds: np.ndarray, doc_starts: np.ndarray, verdicts: np.ndarray,
                     readable: list[Prepared], view: ShardPlan | None, rows: np.ndarray | None) -> RemovalColumns:
    """The removed paragraphs (``where``, among the batch's) of each ``kinds`` as record columns."""
    texts = [line for p in readable for line in p.paragraphs]
    count = where.shape[0]
    rule = verdicts[where]
    kept_doc_id = np.full(count, None, dtype=object)
    kept_paragraph = np.full(count, None, dtype=object)
    similarity = np.full(count, None, dtype=object)
    if view is not None and rows is not None:
        boilerplate = kinds == _BOILERPLATE
        rule[boilerplate] = _RULE_NAMES[view.rule[rows[boilerplate]]]
        copy = kinds == _DUPLICATE
        copies = rows[copy]
        rule[copy] = _MATCH_NAMES[view.match[copies]]
        named: list[str | None] = [*view.kept_ids] or [None]
        names = np.array(named, dtype=object)
        kept_doc_id[copy] = names[view.kept_ref[copies]]
        kept_paragraph[copy] = view.kept_para[copies].tolist()
        similarity[copy] = view.similarity[copies].tolist()
    return RemovalColumns(
        paragraph=(where - doc_starts).tolist(), text=[texts[at] for at in where.tolist()],
        reason=_REASONS[kinds].tolist(), rule=rule.tolist(), kept_doc_id=kept_doc_id.tolist(),
        kept_paragraph=kept_paragraph.tolist(), similarity=similarity.tolist())
