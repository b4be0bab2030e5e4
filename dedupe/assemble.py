"""The assemble stage: each document's removed lines taken out, its layout kept.

Pass 2 hands every document, prepared again (or read back from pass 1's
spill), to :func:`assemble` with the resolver's :class:`Plan`: chrome the
stripper removed, duplicates and boilerplate the resolver found, and the
documents it dropped become :class:`~dedupe.record.Removal` entries; what
is left is the input text minus the removed lines (:func:`~dedupe.layout.take_out`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import record as R
from .config import ReadConfig
from .layout import take_out
from .prepare import Prepared
from .readers import Record
from .record import Removal, Stats
from .resolve.resolution import MATCH_NAMES, RULE_NAMES, Resolution, Status
from .schema import ParagraphTable
from .writers import output_fields


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


@dataclass(slots=True)
class Plan:
    """The resolver's decisions, as assembly reads them document by document."""

    doc_ids: list[str]
    table: ParagraphTable
    resolution: Resolution
    row_start: np.ndarray  # int64[D + 1]: the first row of every document of this run, and the end
    n_input: int  # documents of this run; doc_ids continues with an index's earlier documents
    spill: str | None = None  # the folder pass 1 spilled its prepared batches to

    def removal_for(self, row: int, doc_id: str, number: int, text: str) -> Removal | None:
        status = self.resolution.status[row]
        if status == Status.BOILERPLATE:
            return Removal(doc_id, number, text, R.BOILERPLATE, RULE_NAMES[int(self.resolution.rule[row])])
        if status == Status.DUPLICATE:
            canon = int(self.resolution.canonical[row])
            return Removal(
                doc_id, number, text, R.DUPLICATE,
                MATCH_NAMES[int(self.resolution.match[row])],
                kept_doc_id=self.doc_ids[int(self.table.doc[canon])],
                kept_paragraph=int(self.table.para[canon]),
                similarity=float(self.resolution.similarity[row]),
            )
        return None

    def rows_of(self, index: int) -> dict[int, int]:
        """Paragraph number -> row, for document ``index``."""
        start, stop = self.row_start[index], self.row_start[index + 1]
        return {int(p): start + offset for offset, p in enumerate(self.table.para[start:stop])}

    def stripped(self, row: int) -> bool:
        return bool(self.resolution.status[row] == Status.STRIPPED)

    def dropped(self, index: int) -> tuple[bool, str | None]:
        """Whether document ``index`` is dropped, and the id of the document holding most of its copies."""
        if not self.resolution.doc_dropped[index]:
            return False, None
        ref = int(self.resolution.doc_kept_ref[index])
        return True, self.doc_ids[ref] if ref >= 0 else None

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

    def rows_of(self, index: int) -> dict[int, int]:
        local = index - self.first
        start, stop = self.row_start[local], self.row_start[local + 1]
        return {int(p): start + offset for offset, p in enumerate(self.para[start:stop])}

    def stripped(self, row: int) -> bool:
        return bool(self.status[row] == Status.STRIPPED)

    def dropped(self, index: int) -> tuple[bool, str | None]:
        local = index - self.first
        return bool(self.doc_dropped[local]), self.doc_holder[local]

    def removal_for(self, row: int, doc_id: str, number: int, text: str) -> Removal | None:
        status = self.status[row]
        if status == Status.BOILERPLATE:
            return Removal(doc_id, number, text, R.BOILERPLATE, RULE_NAMES[int(self.rule[row])])
        if status == Status.DUPLICATE:
            return Removal(doc_id, number, text, R.DUPLICATE, MATCH_NAMES[int(self.match[row])],
                           kept_doc_id=self.kept_ids[int(self.kept_ref[row])],
                           kept_paragraph=int(self.kept_para[row]), similarity=float(self.similarity[row]))
        return None


def assemble(rec: Record, prep: Prepared | None, plan: Plan | ShardPlan | None, stats: Stats,
             config: ReadConfig) -> DocResult:
    """One document's result: its cleaned output and its removals, counted in ``stats``.

    ``prep`` is None for a record that could not be read (``bad-input``);
    ``plan`` is None when nothing was resolved (``dedupe strip``, or
    deduplication off), and only the stripper's verdicts count.
    """
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
        rows = plan.rows_of(rec.index)
    for number, (text, verdict) in enumerate(zip(prep.paragraphs, prep.verdicts)):
        row = rows.get(number)
        if verdict is not None and (row is None or plan is None or plan.stripped(row)):
            removals.append(Removal(rec.doc_id, number, text, R.CHROME, verdict))
            continue
        found = None if row is None or plan is None else plan.removal_for(row, rec.doc_id, number, text)
        if found is None:
            kept += 1
        else:
            removals.append(found)
    # a dropped document's record carries its repaired text: the paragraph
    # numbers of its other lines in the record index into that text
    dropped: Removal | None = None
    if not prep.paragraphs:
        dropped = Removal(rec.doc_id, None, prep.text, R.EMPTY, "empty-document")
    elif plan is not None and plan.dropped(rec.index)[0]:
        dropped = Removal(rec.doc_id, None, prep.text, R.DUPLICATE_DOCUMENT, "min-kept",
                          kept_doc_id=plan.dropped(rec.index)[1])
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
    return DocResult(rec, output_fields(rec, text, config), text, removals, prep.paragraphs)
