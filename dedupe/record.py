"""The removal record and run statistics.

Every paragraph or document that a run removes becomes one :class:`Removal`;
written as JSONL it is the *removal record*, the trace that makes the run
auditable: documents in = documents kept + documents dropped, and every removed
paragraph has a line saying why.

Each removed text is written once (:func:`record_entries`): a dropped
document's line carries its whole text, and the lines of its paragraphs carry
none — :func:`read_record` gives them their text back from it.

>>> r = Removal("doc-2", 3, "Share this:", "chrome", "share")
>>> r.to_dict()["reason"], r.to_dict()["kept_doc_id"]
('chrome', None)
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

from .errors import ConfigError, InputError
from .layout import segment
from .writers import dumps_json

_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]

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

    ``paragraph`` is the 0-based index among the non-blank lines of the
    repaired document, or ``None`` when the whole document is dropped
    (``text`` is then the whole repaired document; for bad input, the raw
    record). Duplicates name the copy that was kept and the estimated Jaccard
    similarity to it.
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


#: Record modes: ``full`` writes every removed text once; ``ids`` writes no
#: text at all (ids, paragraph numbers, reasons, rules, kept copies and
#: similarities), for runs whose input is kept anyway.
RecordMode = Literal["full", "ids"]
RECORD_FULL: RecordMode = "full"
RECORD_IDS: RecordMode = "ids"
RECORD_MODES: tuple[str, ...] = get_args(RecordMode)


def record_entries(removals: Sequence[Removal], mode: str = RECORD_FULL) -> list[dict[str, Any]]:
    """The removal-record lines of one document's removals (``DocResult.removals``).

    In ``full`` mode a dropped document's line carries the whole (repaired)
    text and the lines of its paragraphs carry ``"text": null``: the text is
    in the record once. In ``ids`` mode no line carries text.

    >>> removals = [Removal("d", None, "Intro\\nShare this:", "empty", "nothing-left"),
    ...             Removal("d", 1, "Share this:", "chrome", "share")]
    >>> [e["text"] for e in record_entries(removals)]
    ['Intro\\nShare this:', None]
    >>> [e["text"] for e in record_entries(removals, "ids")]
    [None, None]
    """
    if mode not in RECORD_MODES:
        raise ConfigError(f"record mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
    dropped = any(r.paragraph is None for r in removals)
    entries = []
    for removal in removals:
        entry = removal.to_dict()
        if mode == RECORD_IDS or (dropped and removal.paragraph is not None):
            entry["text"] = None
        entries.append(entry)
    return entries


def dumps_entry(entry: dict[str, Any]) -> bytes:
    """One record line: compact JSON, UTF-8, keys in the given order.

    >>> dumps_entry({"doc_id": "a", "paragraph": 0})
    b'{"doc_id":"a","paragraph":0}\\n'
    """
    return (dumps_json(entry, compact=True) + "\n").encode("utf-8")


@dataclass(slots=True)
class RemovalColumns:
    """The removed paragraphs of a batch of documents, one list per :class:`Removal` field.

    Assembling a batch builds these lists at once; :class:`DocumentRemovals`
    reads a document's stretch of them, and makes :class:`Removal` objects
    only when asked (the removal record is written from the columns).
    Paragraph rows carry no ``detail``, ``text_encoding`` or ``salvage``.
    """

    paragraph: list[int]
    text: list[str]
    reason: list[str]
    rule: list[str]
    kept_doc_id: list[str | None]
    kept_paragraph: list[int | None]
    similarity: list[float | None]
    # per row, the record line after its text (from "reason" on), made once per batch
    _tails: list[str] | None = None

    def tails(self) -> list[str]:
        if self._tails is None:
            pairs = list(zip(self.reason, self.rule))
            # a row without a kept copy has its reason and rule's tail: a few per batch
            same = {pair: _tail(*pair, None, None, None) for pair in set(pairs)}
            tails = list(map(same.__getitem__, pairs))
            names: dict[str, str] = {}  # kept documents' ids as JSON strings
            heads: dict[tuple[str, str], str] = {}  # a reason and rule's tail up to the kept copy
            copies = [row for row, named in enumerate(zip(self.kept_doc_id, self.kept_paragraph, self.similarity))
                      if named != (None, None, None)]  # rows naming a kept copy
            for row in copies:
                kept_doc_id, kept_paragraph, similarity = (
                    self.kept_doc_id[row], self.kept_paragraph[row], self.similarity[row])
                if type(kept_doc_id) is str and type(kept_paragraph) is int and type(similarity) is float:
                    # a duplicate, the common case, written here without a call per field
                    key = names.get(kept_doc_id)
                    if key is None:
                        key = names[kept_doc_id] = _json_string(kept_doc_id)
                    head = heads.get(pairs[row])
                    if head is None:
                        head = heads[pairs[row]] = tails[row].partition(',"kept_doc_id"')[0]
                    similarity = round(similarity, 4)
                    written = repr(similarity) if math.isfinite(similarity) else "null"
                    tails[row] = (f'{head},"kept_doc_id":{key},"kept_paragraph":{kept_paragraph!r},'
                                  f'"similarity":{written}}}\n')
                else:
                    tails[row] = _tail(self.reason[row], self.rule[row], kept_doc_id, kept_paragraph, similarity)
            self._tails = tails
        return self._tails


def _json_string(value: Any) -> str:
    # what dumps_json writes for the value: json's own string encoder for a str
    return _encode_string(value) if type(value) is str else dumps_json(value, compact=True)


def _tail(reason: str, rule: str, kept_doc_id: str | None, kept_paragraph: int | None,
          similarity: float | None) -> str:
    """A record line from ``"reason"`` on, as :func:`dumps_entry` writes :meth:`Removal.to_dict`'s."""
    return "".join((
        ',"reason":', _json_string(reason), ',"rule":', _json_string(rule),
        ',"kept_doc_id":', "null" if kept_doc_id is None else _json_string(kept_doc_id),
        ',"kept_paragraph":', "null" if kept_paragraph is None else _json_number(kept_paragraph),
        ',"similarity":', "null" if similarity is None else _json_number(round(similarity, 4)), "}\n"))


def _json_number(value: Any) -> str:
    # json writes an int or a float as its repr; a non-finite float is null (dumps_json)
    if type(value) is int:
        return repr(value)
    if type(value) is float:
        return repr(value) if math.isfinite(value) else "null"
    return _json_string(value)


@dataclass(slots=True)
class DocumentRemovals:
    """One document's removals: ``whole`` (the document's own, first) and rows ``[start, stop)`` of ``columns``.

    >>> columns = RemovalColumns([1], ["Share this:"], ["chrome"], ["share"], [None], [None], [None])
    >>> removals = DocumentRemovals("d", None, columns, 0, 1)
    >>> removals.removals()[0].rule, removals.dumps() == dumps_entry(removals.removals()[0].to_dict())
    ('share', True)
    """

    doc_id: str
    whole: Removal | None = None
    columns: RemovalColumns | None = None
    start: int = 0
    stop: int = 0

    def __len__(self) -> int:
        return (self.whole is not None) + self.stop - self.start

    def removals(self) -> list[Removal]:
        """The removals as :class:`Removal` objects, the document's own first."""
        out = [] if self.whole is None else [self.whole]
        c = self.columns
        if c is not None:
            rows = slice(self.start, self.stop)
            out.extend(Removal(self.doc_id, *fields) for fields in zip(
                c.paragraph[rows], c.text[rows], c.reason[rows], c.rule[rows], c.kept_doc_id[rows],
                c.kept_paragraph[rows], c.similarity[rows]))
        return out

    def dumps(self, mode: str = RECORD_FULL) -> bytes:
        """The document's removal-record lines, as :func:`record_entries` and :func:`dumps_entry` write them."""
        if mode not in RECORD_MODES:
            raise ConfigError(f"record mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
        out = b"" if self.whole is None else dumps_entry(record_entries([self.whole], mode)[0])
        c = self.columns
        if c is None or self.start == self.stop:
            return out
        rows = slice(self.start, self.stop)
        prefix = '{"doc_id":' + _json_string(self.doc_id) + ',"paragraph":'
        texts: Iterable[str] = (itertools.repeat("null") if mode == RECORD_IDS or self.whole is not None
                                else map(_encode_string, c.text[rows]))  # json's own encoder, one C call each
        return out + "".join([f'{prefix}{paragraph},"text":{text}{tail}' for paragraph, text, tail in zip(
            c.paragraph[rows], texts, c.tails()[rows])]).encode("utf-8")


def read_record(path: str | Path, doc_id: str | None = None) -> Iterator[dict[str, Any]]:
    """Entries of a removal record, each with its text where the record has it.

    A paragraph of a dropped document gets its text back from the document's
    line. With ``doc_id``, only that document's entries: lines that cannot be
    its are skipped unparsed, and reading stops after its entries (a
    document's removals are written together, in input order). A malformed
    line is an error naming the line.

    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "removed.jsonl")
    >>> removals = [Removal("d", None, "Intro\\n\\nShare this:", "empty", "nothing-left"),
    ...             Removal("d", 1, "Share this:", "chrome", "share")]
    >>> with open(path, "wb") as out:
    ...     _ = out.write(b"".join(dumps_entry(e) for e in record_entries(removals)))
    >>> [(e["paragraph"], e["text"]) for e in read_record(path, "d")]
    [(None, 'Intro\\n\\nShare this:'), (1, 'Share this:')]
    """
    paragraphs: list[str] | None = None  # of the dropped document just read
    owner: str | None = None
    needles = _needles(doc_id) if doc_id is not None else ()
    found = False
    with open(path, "rb") as handle:
        # the first line is always parsed: a file that is no record is an error
        scan = _Scan(handle, needles)
        for number, raw in scan.lines() if needles else enumerate(handle, start=1):
            if found and not any(needle in raw for needle in needles):
                return  # the first line after the document's
            if not raw.strip():
                continue
            entry = _parse(raw, path, number)
            entry_id = str(entry.get("doc_id"))
            if doc_id is not None and entry_id != doc_id:
                if found:
                    return
                continue
            found = scan.follow = doc_id is not None
            if entry.get("paragraph") is None:
                text = entry.get("text")
                paragraphs, owner = (segment(text), entry_id) if isinstance(text, str) else (None, None)
            elif entry.get("text") is None and paragraphs is not None and owner == entry_id:
                number_in_doc = entry["paragraph"]
                if isinstance(number_in_doc, int) and 0 <= number_in_doc < len(paragraphs):
                    entry["text"] = paragraphs[number_in_doc]
            yield entry


#: Bytes read at a time while looking for the lines of one document.
SCAN_CHUNK_BYTES = 1 << 20


class _Scan:
    """Numbered lines of a record: the first one, then those that hold a needle,
    and once :attr:`follow` is set every line.

    The file is searched a megabyte at a time, and only blocks with a needle
    are split into lines (a needle holds no line break, so each occurrence
    lies within one line).
    """

    def __init__(self, handle: BinaryIO, needles: tuple[bytes, ...]) -> None:
        self.handle = handle
        self.needles = needles
        self.follow = False

    def _wanted(self, data: bytes) -> bool:
        return self.follow or any(needle in data for needle in self.needles)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        number = 1
        yield number, self.handle.readline()
        carry = b""
        while True:
            chunk = self.handle.read(SCAN_CHUNK_BYTES)
            buffer = carry + chunk
            cut = buffer.rfind(b"\n") + 1 if chunk else len(buffer)
            block, carry = buffer[:cut], buffer[cut:]
            if block and self._wanted(block):
                pieces = block.split(b"\n")
                if block.endswith(b"\n"):
                    pieces.pop()
                for piece in pieces:
                    number += 1
                    if self._wanted(piece):
                        yield number, piece + b"\n"
            else:
                number += block.count(b"\n")
            if not chunk:
                return


def _needles(doc_id: str) -> tuple[bytes, ...]:
    # the id as a JSON string, as written (and as an ASCII-escaping writer would write it)
    return tuple({json.dumps(doc_id, ensure_ascii=False).encode("utf-8"), json.dumps(doc_id).encode("ascii")})


#: The removal record's fields and the JSON types each may hold when present (None: null).
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "doc_id": (str, int), "paragraph": (int, type(None)), "text": (str, type(None)), "reason": (str,),
    "rule": (str, type(None)), "kept_doc_id": (str, int, type(None)), "kept_paragraph": (int, type(None)),
    "similarity": (int, float, type(None)), "detail": (str, type(None)), "text_encoding": (str, type(None)),
    "salvage": (dict, type(None)),
}
_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", dict: "an object", type(None): "null"}


def parse_record_line(line: str, where: str) -> dict[str, Any] | None:
    """One removal record line as a dict (None for a blank line), checked field by field.

    A line that is not a removal record entry (not JSON, no ``reason``, a
    field of the wrong type) is an :class:`~dedupe.errors.InputError` naming
    ``where`` (``file:line``), so that a damaged record cannot crash a reader.

    >>> parse_record_line('{"doc_id": "a", "reason": "chrome", "similarity": null}', "r:1")["doc_id"]
    'a'
    >>> parse_record_line('{"doc_id": "a", "reason": "duplicate", "similarity": "high"}', "r:1")
    Traceback (most recent call last):
    ...
    dedupe.errors.InputError: r:1: not a removal record line: 'similarity' is a string, not a number or null
    """
    if not line.strip():
        return None
    try:
        entry = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"not a removal record line ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # numbers past Python's digit limit, deep nesting
        raise InputError(where, f"not a removal record line ({exc})") from None
    if not isinstance(entry, dict) or "reason" not in entry:
        raise InputError(where, "not a removal record line (no 'reason')")
    for name, allowed in RECORD_FIELDS.items():
        value = entry.get(name)
        if name in entry and (isinstance(value, bool) or not isinstance(value, allowed)):
            expected = " or ".join(_TYPE_NAMES[t] for t in allowed if t is not int or float not in allowed)
            raise InputError(where, f"not a removal record line: {name!r} is "
                                    f"{json_type(value)}, not {expected}")
    return entry


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, with its article, for messages.

    >>> json_type([1]), json_type(True), json_type(2.5)
    ('a list', 'a boolean', 'a number')
    """
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "a list"
    return _TYPE_NAMES.get(type(value), type(value).__name__)



def _parse(raw: bytes, path: str | Path, number: int) -> dict[str, Any]:
    entry = parse_record_line(raw.decode("utf-8", errors="replace"), f"{path}:{number}")
    if entry is None:  # pragma: no cover - blank lines are skipped before
        raise InputError(f"{path}:{number}", "not a removal record line (blank)")
    return entry


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
    seconds: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
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

    def add_removals(self, columns: RemovalColumns) -> None:
        """:meth:`add_removal` for every row of ``columns`` (removed paragraphs) at once."""
        for (reason, rule), count in Counter(zip(columns.reason, columns.rule)).items():
            self.paragraphs_removed[reason] += count
            self.rules[f"{reason}/{rule}"] += count

    def merge(self, other: Stats) -> None:
        """Add ``other``'s counts and seconds to these (a task's, assembling a shard).

        >>> a, b = Stats(documents_in=2), Stats(documents_in=3)
        >>> b.rules["chrome/share"] += 1
        >>> a.merge(b); a.documents_in, dict(a.rules)
        (5, {'chrome/share': 1})
        """
        for name in ("documents_in", "documents_kept", "paragraphs_in", "paragraphs_kept",
                     "paragraphs_in_dropped_documents", "bytes_in", "signatures_spilled", "index_rows"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for counter in ("documents_dropped", "paragraphs_removed", "rules", "clusters"):
            getattr(self, counter).update(getattr(other, counter))
        for stage, seconds in other.seconds.items():
            self.seconds[stage] += seconds

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
            (f"documents  in {self.documents_in:>9}  kept {self.documents_kept:>9}  "
            f"dropped {sum(self.documents_dropped.values()):>9}"),
            (f"paragraphs in {self.paragraphs_in:>9}  kept {self.paragraphs_kept:>9}  "
            f"removed {sum(self.paragraphs_removed.values()):>9}"),
        ]
        for reason, count in sorted(self.paragraphs_removed.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  paragraphs {reason:<20} {count:>9}")
        for reason, count in sorted(self.documents_dropped.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  documents  {reason:<20} {count:>9}")
        total = sum(v for k, v in self.seconds.items() if k != "total")
        lines.append(f"seconds {self.seconds.get('total', total):.2f}")
        return "\n".join(lines)
