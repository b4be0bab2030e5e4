"""The paragraph table: every column the fingerprint stage hands the resolver, defined once.

One row per fingerprinted paragraph, in input order, and three tables beside
the rows: the rows' sentences, the short rows' one-typo keys, and what earlier
runs decided about the table's last rows when they come from an index (empty
otherwise). Every column is declared below, once, with its dtype, its meaning,
the value a row that does not set it takes, what its values point at (rows or
signatures, shifted when tables are joined) and its name in an index's batch
files.
Everything that builds, joins, cuts or stores tables works from these
declarations: :meth:`Paragraphs.build`, :func:`concat`,
:meth:`Paragraphs.take`, :func:`to_arrow` and :func:`from_arrow`.

>>> part = Paragraphs.build(doc=np.array([0, 0]), para=np.array([0, 1]), exact=np.array([7, 9]),
...                         length=np.array([40, 60]), sent_row=np.array([1]), sent_hash=np.array([5]),
...                         sent_len=np.array([60]))
>>> joined = concat([part, part])
>>> joined.size, joined.sent_row.tolist(), joined.text_hash.tolist()
(4, [1, 3], [7, 9, 7, 9])
>>> joined.take(np.array([3])).sent_row.tolist()
[0]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Self

import numpy as np

from .store import SignatureStore

#: The tables of a paragraph table: one row per paragraph, per sentence, per typo key, and per
#: row of an earlier run (the last rows: a run's own rows come first, an index's after them).
ROW, SENTENCE, TYPO, EARLIER = "row", "sentence", "typo", "earlier"
#: What a column's values point at (-1: nothing), for :func:`concat` to shift them.
ROWS, SIGNATURES = "rows", "signatures"

#: Where a headline-like paragraph stands (``placement``), best first: as an
#: article's title (leading into body text), elsewhere, or as an entry of a list of links.
TITLE, ELSEWHERE, LISTED = 0, 1, 2
#: Shape bits of a paragraph (``shape``).
HEADLINE, BODY = 1, 2


class Earlier(IntEnum):
    """What an earlier run decided about a row of an index (``earlier_status``), already published."""

    KEPT = 1
    BOILERPLATE = 2
    TEMPLATE = 3  # boilerplate by the site-template rule


@dataclass(frozen=True, slots=True)
class Column:
    """How one column is declared: see the module docstring."""

    table: str
    dtype: np.dtype[Any]
    meaning: str
    fill: int | str = 0  # the value where a table does not set it; a column's name: a copy of that column
    points_at: str | None = None  # ROWS or SIGNATURES
    stored: str | None = None  # its name in an index's batch files; None: not stored


def column(table: str, dtype: Any, meaning: str, *, fill: int | str = 0, points_at: str | None = None,
           stored: str | None = None) -> dict[str, Column]:
    """The metadata that declares a field of :class:`Paragraphs` a :class:`Column`."""
    return {"column": Column(table, np.dtype(dtype), meaning, fill, points_at, stored)}


@dataclass(slots=True)
class Paragraphs:
    """Fingerprinted paragraphs: a batch's, an index's, or the whole corpus's.

    Build one with :meth:`build`, which fills every column not given.
    """

    # -- one per row; the stored ones in the order of an index's batch files --
    doc: np.ndarray = field(metadata=column(ROW, np.int64, "document number, in input order"))
    para: np.ndarray = field(metadata=column(ROW, np.int32, "paragraph number in its document", stored="para"))
    exact: np.ndarray = field(metadata=column(ROW, np.uint64, "hash of the exact key (features.exact_key)",
                                              stored="exact"))
    ident: np.ndarray = field(metadata=column(
        ROW, np.uint64, "hash of the identifiers (0: none), which every copy must share: lines that differ in "
        "an id, a version or a date are different lines", stored="ident"))
    text_hash: np.ndarray = field(metadata=column(
        ROW, np.uint64, "hash of the repaired text itself: inside one page only the very same text is a copy",
        fill="exact", stored="text_hash"))
    length: np.ndarray = field(metadata=column(ROW, np.int64, "characters", stored="length"))
    # -- one per row of an earlier run: the table's last rows --
    earlier_placement: np.ndarray = field(metadata=column(
        EARLIER, np.int8, "TITLE, ELSEWHERE or LISTED, as it was decided", stored="listed"))
    earlier_status: np.ndarray = field(metadata=column(EARLIER, np.int8, "an Earlier code", stored="status"))
    earlier_docs: np.ndarray = field(metadata=column(
        EARLIER, np.int64, "documents the row's cluster spanned", stored="docs"))
    earlier_sites: np.ndarray = field(metadata=column(
        EARLIER, np.int64, "sites the row's cluster spanned", stored="sites"))
    earlier_site_copies: np.ndarray = field(metadata=column(
        EARLIER, np.int64, "pages of its own site in its cluster", stored="site_copies"))
    # -- one per row, not stored --
    sig_row: np.ndarray = field(metadata=column(
        ROW, np.int64, "row of its MinHash signature (-1: exact hash only)", fill=-1, points_at=SIGNATURES))
    shape: np.ndarray = field(metadata=column(
        ROW, np.int8, "HEADLINE | BODY bits of the text, from which the resolver decides placement once the "
        "boilerplate is known"))
    template: np.ndarray = field(metadata=column(
        ROW, np.uint64, "hash of the template key (values masked), or the exact hash for a line without "
        "values: the rows of a template family share it", fill="exact"))
    related: np.ndarray = field(metadata=column(
        ROW, np.int32, "for a line the stripper removed as a link list (features.link_list_runs), the "
        "list's number in its document; else -1", fill=-1))
    related_headed: np.ndarray = field(metadata=column(ROW, np.bool_, "a related header leads the row's link list"))
    # -- one per sentence of a row (features.sentence_hashes) --
    sent_row: np.ndarray = field(metadata=column(SENTENCE, np.int64, "its row", points_at=ROWS))
    sent_hash: np.ndarray = field(metadata=column(SENTENCE, np.uint64, "hash of the sentence's match key",
                                                  stored="sent_hash"))
    sent_len: np.ndarray = field(metadata=column(SENTENCE, np.int32, "characters", stored="sent_len"))
    # -- one per typo-able word of a short row (features.typo_keys) --
    typo_row: np.ndarray = field(metadata=column(TYPO, np.int64, "its row", points_at=ROWS))
    typo_hash: np.ndarray = field(metadata=column(TYPO, np.uint64, "hash of the row's other words"))
    typo_letters: np.ndarray = field(metadata=column(TYPO, np.uint64, "the word's letters, as a 64-bit set"))
    typo_len: np.ndarray = field(metadata=column(TYPO, np.int8, "the word's length"))
    typo_word: np.ndarray = field(metadata=column(TYPO, "S32", "the word (UTF-8), for the edit-distance check"))

    @classmethod
    def build(cls, **columns: Any) -> Self:
        """A table of the given columns, cast to their dtypes; the others filled.

        A table without the columns of a kind has none of that kind (no
        sentences, no earlier rows, say); a row column not given takes its ``fill``.
        """
        sizes = {ROW: 0, SENTENCE: 0, TYPO: 0, EARLIER: 0}
        for name, spec in _specs(cls):
            if name in columns:
                sizes[spec.table] = len(columns[name])
        values: dict[str, Any] = {}
        for name, spec in _specs(cls):
            if name in columns:
                # straight to the dtype: Python ints above 2**63 among smaller ones would
                # otherwise make a float64 array first, and a 64-bit hash lose its low bits
                values[name] = np.asarray(columns.pop(name), dtype=spec.dtype)
        for name, spec in _specs(cls):
            if name not in values:
                values[name] = (values[spec.fill].astype(spec.dtype) if isinstance(spec.fill, str)
                                else np.full(sizes[spec.table], spec.fill, dtype=spec.dtype))
        return cls(**values, **columns)

    @property
    def size(self) -> int:
        """Rows."""
        return int(self.doc.shape[0])

    @property
    def first_earlier(self) -> int:
        """The first row of an earlier run (:attr:`size` when there is none)."""
        return self.size - int(self.earlier_status.shape[0])

    @property
    def published(self) -> np.ndarray:
        """Rows an earlier run decided on (bool[n]): never a copy of this run's rows."""
        return np.arange(self.size) >= self.first_earlier

    def take(self, rows: np.ndarray) -> Paragraphs:
        """The rows ``rows`` (sorted), with their sentences and typo keys, renumbered."""
        renumber = np.full(self.size + 1, -1, dtype=np.int64)  # the last one: where -1 points
        renumber[rows] = np.arange(rows.shape[0])
        values: dict[str, np.ndarray] = {}
        for table, names in _by_table(Paragraphs).items():
            if table in (ROW, EARLIER):
                picked = rows if table == ROW else rows[rows >= self.first_earlier] - self.first_earlier
                for name in names:
                    values[name] = getattr(self, name)[picked]
                continue
            ref = next(n for n in names if _spec(n).points_at == ROWS)
            chosen = renumber[getattr(self, ref)] >= 0
            for name in names:
                kept = getattr(self, name)[chosen]
                values[name] = renumber[kept] if name == ref else kept
        return Paragraphs(**values)

    def replace(self, **columns: np.ndarray) -> Paragraphs:
        """This table with some columns replaced (cast to their dtypes)."""
        return dataclasses.replace(self, **{k: v.astype(_spec(k).dtype, copy=False) for k, v in columns.items()})

    def columns(self) -> dict[str, np.ndarray]:
        """Every column by name (for building a subclass's table from this one)."""
        return {name: getattr(self, name) for name, _ in _specs(Paragraphs)}


@dataclass(slots=True)
class EarlierFamilies:
    """Pages of template families in earlier runs, per (family, site), sorted by family."""

    template: np.ndarray  # uint64[f] template hash
    site: np.ndarray  # int64[f] site index (-1: pages without a url)
    pages: np.ndarray  # int64[f] pages of that site holding a line of the family
    rule: np.ndarray  # int8[f] boilerplate rule the family had (RULE_NONE if it had none)

    @classmethod
    def none(cls) -> EarlierFamilies:
        """No earlier run."""
        return cls(np.empty(0, np.uint64), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8))


@dataclass(slots=True)
class ParagraphTable(Paragraphs):
    """The whole corpus's paragraphs as the resolver takes them: with their signatures, and
    what earlier runs (an index) counted of template families."""

    signatures: SignatureStore = field(default_factory=lambda: SignatureStore(rows=1, limit=0, folder=None))
    earlier_families: EarlierFamilies = field(default_factory=EarlierFamilies.none)

    @classmethod
    def of(cls, paragraphs: Paragraphs, signatures: SignatureStore,
           earlier_families: EarlierFamilies | None = None) -> ParagraphTable:
        """``paragraphs`` with their signatures (and what earlier runs counted of template families)."""
        return cls(**paragraphs.columns(), signatures=signatures,
                   earlier_families=earlier_families or EarlierFamilies.none())


@dataclass(slots=True)
class DocumentTable:
    """Per-document facts the resolver needs."""

    chars: np.ndarray  # int64[D] characters left after stripping
    site: np.ndarray  # int64[D] site index, -1 without a url
    date: np.ndarray  # float64[D] timestamp, +inf when unknown
    site_docs: np.ndarray  # int64[S] documents per site
    earlier: np.ndarray  # bool[D]: a document of an earlier run (from an index)


def concat(parts: Sequence[Paragraphs]) -> Paragraphs:
    """The tables one after another: sentences, typo keys and signature rows renumbered.

    Each part's sentences and typo keys point at its own rows, and its
    ``sig_row`` at its own signatures (the parts' signatures joined in the
    same order). Rows of earlier runs stay last:

    >>> concat([Paragraphs.build(doc=[0], earlier_status=[1]), Paragraphs.build(doc=[1])])
    Traceback (most recent call last):
    ...
    ValueError: an earlier run's rows come last: no part may follow them with rows of its own
    """
    earlier = [int(p.earlier_status.shape[0]) for p in parts]
    if any(count and any(e != p.size for e, p in zip(earlier[at + 1:], parts[at + 1:]))
           for at, count in enumerate(earlier)):
        raise ValueError("an earlier run's rows come last: no part may follow them with rows of its own")
    rows = np.cumsum([0] + [p.size for p in parts[:-1]])
    signed = np.cumsum([0] + [int((p.sig_row >= 0).sum()) for p in parts[:-1]])
    values: dict[str, np.ndarray] = {}
    for name, spec in _specs(Paragraphs):
        arrays = [getattr(p, name) for p in parts]
        if spec.points_at == ROWS:
            arrays = [a + offset for a, offset in zip(arrays, rows)]
        elif spec.points_at == SIGNATURES:
            arrays = [np.where(a >= 0, a + offset, a) for a, offset in zip(arrays, signed)]
        values[name] = (np.concatenate(arrays).astype(spec.dtype, copy=False) if arrays
                        else np.empty(0, spec.dtype))
    return Paragraphs(**values)


def to_arrow(paragraphs: Paragraphs, pa: Any) -> dict[str, Any]:
    """The stored columns as Arrow arrays by stored name: a row's sentences as lists in its row.

    Stored rows are an earlier run's rows for the run that reads them (:func:`from_arrow`):

    >>> import pyarrow as pa
    >>> part = Paragraphs.build(doc=[0, 0], exact=[7, 9], sent_row=[1, 1], sent_hash=[3, 4], sent_len=[10, 12],
    ...                         earlier_status=[1, 2], earlier_placement=[1, 1], earlier_docs=[1, 5],
    ...                         earlier_sites=[1, 1], earlier_site_copies=[1, 1])
    >>> back = from_arrow(pa.table(to_arrow(part, pa)), doc=np.zeros(2))
    >>> back.sent_row.tolist(), back.earlier_docs.tolist(), back.first_earlier
    ([1, 1], [1, 5], 0)
    """
    out: dict[str, Any] = {}
    offsets = None
    for name, spec in _specs(Paragraphs):
        if spec.stored is None:
            continue
        values = getattr(paragraphs, name)
        if spec.table in (ROW, EARLIER):  # stored rows are all earlier rows for the runs that read them
            out[spec.stored] = pa.array(values, pa.from_numpy_dtype(spec.dtype))
            continue
        if offsets is None:
            owner = getattr(paragraphs, _row_pointer(spec.table))
            offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=paragraphs.size))])
        out[spec.stored] = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32), pa.int32()),
                                                    pa.array(values, pa.from_numpy_dtype(spec.dtype)))
    return out


def from_arrow(table: Any, **columns: np.ndarray) -> Paragraphs:
    """The stored columns of an Arrow table (as :func:`to_arrow` wrote them), with ``columns``."""
    values: dict[str, np.ndarray] = dict(columns)
    for name, spec in _specs(Paragraphs):
        if spec.stored is None:
            continue
        stored = table.column(spec.stored).combine_chunks()
        if spec.table in (ROW, EARLIER):
            values[name] = stored.to_numpy(zero_copy_only=False)
            continue
        pointer = _row_pointer(spec.table)
        if pointer not in values:
            counts = stored.value_lengths().to_numpy(zero_copy_only=False).astype(np.int64)
            values[pointer] = np.repeat(np.arange(table.num_rows, dtype=np.int64), counts)
        values[name] = stored.flatten().to_numpy(zero_copy_only=False)
    return Paragraphs.build(**values)


def _spec(name: str) -> Column:
    return _SPECS[name]


def _specs(cls: type) -> Iterator[tuple[str, Column]]:
    for f in dataclasses.fields(cls):
        if "column" in f.metadata:
            yield f.name, f.metadata["column"]


def _by_table(cls: type) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, spec in _specs(cls):
        out.setdefault(spec.table, []).append(name)
    return out


def _row_pointer(table: str) -> str:
    return next(name for name, spec in _specs(Paragraphs) if spec.table == table and spec.points_at == ROWS)


_SPECS = dict(_specs(Paragraphs))
