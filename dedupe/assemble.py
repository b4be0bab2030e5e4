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


def assemble(rec: Record, prep: Prepared | None, plan: Plan | None, stats: Stats, config: ReadConfig) -> DocResult:
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
        start, stop = plan.row_start[rec.index], plan.row_start[rec.index + 1]
        rows = {int(p): start + offset for offset, p in enumerate(plan.table.para[start:stop])}
    for number, (text, verdict) in enumerate(zip(prep.paragraphs, prep.verdicts)):
        row = rows.get(number)
        if verdict is not None and (row is None or plan is None or plan.resolution.status[row] == Status.STRIPPED):
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
    return DocResult(rec, output_fields(rec, text, config), text, removals, prep.paragraphs)
