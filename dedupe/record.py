"""The removal record and run statistics.

Every paragraph or document that a run removes becomes one :class:`Removal`;
written as JSONL it is the *removal record*, the trace that makes the run
auditable: documents in = documents kept + documents dropped, and every removed
paragraph has a line saying why.

>>> r = Removal("doc-2", 3, "Share this:", "chrome", "share")
>>> r.to_dict()["reason"], r.to_dict()["kept_doc_id"]
('chrome', None)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Reasons: what kind of removal; the rule says which rule or setting fired.
CHROME = "chrome"
BOILERPLATE = "boilerplate"
DUPLICATE = "duplicate"
DUPLICATE_DOCUMENT = "duplicate-document"
EMPTY = "empty"
BAD_INPUT = "bad-input"


@dataclass(frozen=True, slots=True)
class Removal:
    """One line of the removal record.

    ``paragraph`` is the 0-based index among the document's non-blank lines, or
    ``None`` when the whole document is dropped (``text`` is then the whole
    document). Duplicates name the copy that was kept and the estimated
    Jaccard similarity to it.
    """

    doc_id: str
    paragraph: int | None
    text: str
    reason: str
    rule: str
    kept_doc_id: str | None = None
    kept_paragraph: int | None = None
    similarity: float | None = None
    detail: str | None = None
    #: bad input only: ``text`` is the input's bytes as ``utf-8`` text, or
    #: ``base64``, or ``json`` (a Parquet row or an in-memory object)
    text_encoding: str | None = None
    #: bad input only: how much of the piece was read and is kept in ``text``
    #: (``bytes_read``, ``bytes_kept``, ``compressed_bytes_unread``, ``rows_lost``, ``rows_in_file``)
    salvage: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "doc_id": self.doc_id,
            "paragraph": self.paragraph,
            "text": self.text,
            "reason": self.reason,
            "rule": self.rule,
            "kept_doc_id": self.kept_doc_id,
            "kept_paragraph": self.kept_paragraph,
            "similarity": None if self.similarity is None else round(self.similarity, 4),
        }
        if self.detail is not None:
            out["detail"] = self.detail
        if self.text_encoding is not None:
            out["text_encoding"] = self.text_encoding
        if self.salvage is not None:
            out["salvage"] = self.salvage
        return out


@dataclass
class Stats:
    """Counts and timings of one run (``--stats`` writes :meth:`to_dict` as JSON)."""

    documents_in: int = 0
    documents_kept: int = 0
    documents_dropped: Counter[str] = field(default_factory=Counter)
    paragraphs_in: int = 0
    paragraphs_kept: int = 0
    #: paragraphs no rule removed, gone because their whole document was dropped
    paragraphs_in_dropped_documents: int = 0
    paragraphs_removed: Counter[str] = field(default_factory=Counter)
    rules: Counter[str] = field(default_factory=Counter)
    clusters: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)
    bytes_in: int = 0
    #: signatures that went to disk past ``--memory-limit`` (0: all fitted in RAM)
    signatures_spilled: int = 0
    #: rows read from an index of earlier runs (--index)
    index_rows: int = 0

    def add_removal(self, removal: Removal) -> None:
        if removal.paragraph is None:
            self.documents_dropped[removal.reason] += 1
        else:
            self.paragraphs_removed[removal.reason] += 1
        self.rules[f"{removal.reason}/{removal.rule}"] += 1

    def check(self) -> list[str]:
        """Accounting violations (empty when the books balance)."""
        problems = []
        dropped = sum(self.documents_dropped.values())
        if self.documents_in != self.documents_kept + dropped:
            problems.append(
                f"documents in ({self.documents_in}) != kept ({self.documents_kept}) "
                f"+ dropped ({dropped})"
            )
        removed = sum(self.paragraphs_removed.values())
        accounted = self.paragraphs_kept + removed + self.paragraphs_in_dropped_documents
        if self.paragraphs_in != accounted:
            problems.append(
                f"paragraphs in ({self.paragraphs_in}) != kept ({self.paragraphs_kept}) + removed "
                f"({removed}) + in dropped documents ({self.paragraphs_in_dropped_documents})"
            )
        return problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "documents": {
                "in": self.documents_in,
                "kept": self.documents_kept,
                "dropped": sum(self.documents_dropped.values()),
                "dropped_by_reason": dict(sorted(self.documents_dropped.items())),
            },
            "paragraphs": {
                "in": self.paragraphs_in,
                "kept": self.paragraphs_kept,
                "removed": sum(self.paragraphs_removed.values()),
                "removed_by_reason": dict(sorted(self.paragraphs_removed.items())),
                "in_dropped_documents": self.paragraphs_in_dropped_documents,
            },
            "removals_by_rule": dict(sorted(self.rules.items())),
            "clusters": dict(sorted(self.clusters.items())),
            "bytes_in": self.bytes_in,
            "signatures_spilled": self.signatures_spilled,
            "index_rows": self.index_rows,
            "seconds": {k: round(v, 3) for k, v in sorted(self.seconds.items())},
        }

    def summary(self) -> str:
        """A short plain-text table for the end of a CLI run."""
        lines = [
            f"documents  in {self.documents_in:>9}  kept {self.documents_kept:>9}  "
            f"dropped {sum(self.documents_dropped.values()):>9}",
            f"paragraphs in {self.paragraphs_in:>9}  kept {self.paragraphs_kept:>9}  "
            f"removed {sum(self.paragraphs_removed.values()):>9}",
        ]
        for reason, count in sorted(self.paragraphs_removed.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  paragraphs {reason:<20} {count:>9}")
        for reason, count in sorted(self.documents_dropped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  documents  {reason:<20} {count:>9}")
        total = sum(v for k, v in self.seconds.items() if k != "total")
        lines.append(f"seconds {self.seconds.get('total', total):.2f}")
        return "\n".join(lines)
