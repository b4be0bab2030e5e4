"""Candidate pairs and the edges between rows: equal exact hashes, shared bands, one typo apart."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..config import DedupConfig
from ..schema import ParagraphTable
from .groups import count_bits, group_pairs, group_starts, sorted_group_pairs

#: Told the resolver's current step and how far into it (for progress lines).
StepCallback = Callable[[str, str], None]
#: Candidate pairs verified per step: bounds the per-pair temporaries.
VERIFY_PAIRS = 1 << 22


def exact_edges(table: ParagraphTable) -> tuple[np.ndarray, np.ndarray]:
    """Edges between rows with equal exact hashes (each once, as (later row, earlier row)).

    Rows are paired inside each group of equal exact hashes, and again
    inside each group of equal exact hash and text: inside one page only the
    very same text is a copy, so a line repeated on a page whose group's
    first row and its own predecessor are other texts of that page would be
    left out by the first pairing alone (and joined once a clean output no
    longer held them).

    >>> t = ParagraphTable.build(doc=[0, 1, 1, 1], para=[0, 0, 1, 2], exact=[7, 7, 7, 7], length=[80] * 4,
    ...                          text_hash=[1, 2, 3, 2])
    >>> sorted(zip(*[side.tolist() for side in exact_edges(t)]))
    [(1, 0), (2, 0), (3, 0), (3, 1)]
    """
    n = table.size
    rows = np.arange(n, dtype=np.int64)
    order = np.argsort(table.exact, kind="stable")
    starts = group_starts(table.exact[order])
    a, b = sorted_group_pairs(starts, order)
    if n > 1:
        # Every pair is (row, an earlier row), and a row's partners in the first
        # pairing are its group's first row and its predecessor: pairs of the
        # second one with another partner are new, so every edge comes once.
        first_of = np.empty(n, dtype=np.int64)
        first_of[order] = order[np.maximum.accumulate(np.where(starts, np.arange(n), 0))]
        pred_of = np.full(n, -1, dtype=np.int64)
        pred_of[order[1:]] = np.where(starts[1:], -1, order[:-1])
        by_text = np.lexsort((rows, table.text_hash, table.exact))
        runs = group_starts(table.exact[by_text]) | group_starts(table.text_hash[by_text])
        more_a, more_b = sorted_group_pairs(runs, by_text)
        fresh = (more_b != first_of[more_a]) & (more_b != pred_of[more_a])
        a, b = np.concatenate([a, more_a[fresh]]), np.concatenate([b, more_b[fresh]])
    keep = across_documents(table, a, b)
    return a[keep], b[keep]


def band_edges(
    table: ParagraphTable, a: np.ndarray, b: np.ndarray, threshold: float,
    short_length: int = 0, short_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The band candidates ``(a[i], b[i])`` that are edges: different text, similar signatures.

    Pairs with equal exact hashes are left to :func:`exact_edges`; pairs inside
    one page must be the very same text (see ``across_documents``), and both
    rows must have the same identifiers (``ParagraphTable.ident``). The rule
    looks at one pair at a time, so any split of the candidates into parts
    gives the same edges.

    >>> from dedupe.store import SignatureStore
    >>> sigs = SignatureStore.of(np.array([[1, 2, 3, 4], [1, 2, 3, 5]], np.uint32), rows=2)  # 3 of 4 slots equal
    >>> t = ParagraphTable.build(doc=[0, 1], para=[0, 0], exact=[1, 2], length=[80, 80], sig_row=[0, 1],
    ...                          signatures=sigs)
    >>> [side.tolist() for side in band_edges(t, np.array([1]), np.array([0]), threshold=0.7)]
    [[1], [0]]
    >>> band_edges(t, np.array([1]), np.array([0]), threshold=0.8)[0].size
    0
    """
    keep = (table.exact[a] != table.exact[b]) & same_identifiers(table, a, b) & across_documents(table, a, b)
    a, b = a[keep], b[keep]
    store, sig_of = table.signatures, table.sig_row
    verified = np.zeros(a.shape[0], dtype=bool)
    for start in range(0, a.shape[0], VERIFY_PAIRS):
        pa, pb = a[start : start + VERIFY_PAIRS], b[start : start + VERIFY_PAIRS]
        similar = store.similarity(sig_of[pa], sig_of[pb])
        # a short line needs more evidence: one changed word is a fifth of it
        short = np.minimum(table.length[pa], table.length[pb]) < short_length
        verified[start : start + pa.shape[0]] = similar >= np.where(
            short, max(threshold, short_threshold), threshold)
    return a[verified], b[verified]


def candidate_edges(
    table: ParagraphTable, threshold: float, short_length: int = 0, short_threshold: float = 0.0,
    threads: int = 1, progress: StepCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Verified edges between rows: equal exact hashes, or a shared band and similar signatures.

    Each edge appears once, as (smaller row, larger row), in sorted order.
    ``threads`` bands are grouped and verified at once: numpy's sorts and
    comparisons release the GIL, and the edges are a set, so the result does
    not depend on the order bands finish in. Once the signatures have spilled
    to disk, bands go one at a time: each band's verification maps up to the
    memory limit of signature pages, and two at once took a million-document
    run from 7.8 to 10.3 GB. ``progress`` hears of each band done.
    """
    n = table.size
    edges = _EdgeSet(n)
    edges.add(*exact_edges(table))
    minhashed = np.flatnonzero(table.sig_row >= 0)
    sig_of = table.sig_row[minhashed]
    store = table.signatures

    def one_band(band: int) -> tuple[np.ndarray, np.ndarray]:
        # Verified band by band: the distinct candidates of all bands together
        # are several per row and would all be held at once; the verified
        # edges are fewer, and each is kept once (compacted).
        a, b = group_pairs(store.band(band)[sig_of], minhashed)
        return band_edges(table, a, b, threshold, short_length, short_threshold)

    def done(band: int) -> None:
        if progress is not None:
            progress("grouping candidates", f"band {band + 1} of {store.bands}")

    if store.bands:
        edges.add(*one_band(0))  # the first band joins the store's parts; the others only read
        done(0)
    if threads > 1 and store.bands > 2 and not store.spilled:
        with ThreadPoolExecutor(threads, thread_name_prefix="dedupe-band") as pool:
            for band, found in enumerate(pool.map(one_band, range(1, store.bands)), start=1):
                edges.add(*found)
                done(band)
    else:
        for band in range(1, store.bands):
            edges.add(*one_band(band))
            done(band)
    return edges.pairs()


@dataclass(slots=True)
class Clusters:
    """The cluster of every row: the unit of work from here on, not a verdict."""

    labels: np.ndarray  # int64[n], numbered by each cluster's smallest row
    sizes: np.ndarray  # int64[clusters] rows

    @classmethod
    def of(cls, labels: np.ndarray) -> Clusters:
        return cls(labels, np.bincount(labels, minlength=int(labels.max()) + 1))

    @property
    def count(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def multi(self) -> np.ndarray:
        """Rows in a cluster of two rows or more (bool[n])."""
        return self.sizes[self.labels] > 1


def join_typo_copies(table: ParagraphTable, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Clusters joined by one-typo edges (:func:`typo_edges`), and how many such edges there were."""
    typo_a, typo_b = typo_edges(table)
    if typo_a.shape[0]:
        # labels are numbered by smallest row, so components over them keep that numbering
        merged = component_labels(int(labels.max()) + 1, labels[typo_a], labels[typo_b])
        labels = merged[labels]
    return labels, int(typo_a.shape[0])


#: A clustering step: (table, config) -> (cluster label of every row, verified edges).
Clusterer = Callable[[ParagraphTable, DedupConfig], tuple[np.ndarray, int]]


def cluster_labels(
    table: ParagraphTable, config: DedupConfig, threads: int = 1, progress: StepCallback | None = None
) -> tuple[np.ndarray, int]:
    """Cluster of every row (connected components of the verified edges) and the edge count.

    The local clustering step; the Dask engine brings its own with the same result.
    """
    src, dst = candidate_edges(table, config.threshold, config.short_chars, config.short_threshold, threads,
                               progress)
    return component_labels(table.size, src, dst), int(src.shape[0])


def component_labels(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes, numbered in order of their smallest node.

    >>> component_labels(4, np.array([3]), np.array([1])).tolist()
    [0, 1, 2, 1]
    """
    # scipy takes 0.15-0.2 s to import: only runs that resolve pay for it
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(src.shape[0], dtype=np.int8), (src, dst)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


class _EdgeSet:
    """Edges as sorted unique ``small * n + large`` keys, compacted as they come.

    A copy shares most of its bands with its source, so without compaction the
    same edge would be held once per band: up to 32 times the memory.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.keys = np.empty(0, dtype=np.int64)
        self.pending: list[np.ndarray] = []
        self.waiting = 0

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        self.pending.append(np.minimum(a, b) * self.n + np.maximum(a, b))
        self.waiting += a.shape[0]
        if self.waiting > max(1 << 20, self.keys.shape[0]):
            self._compact()

    def _compact(self) -> None:
        if self.pending:
            self.keys = np.unique(np.concatenate([self.keys, *self.pending]))
            self.pending, self.waiting = [], 0

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        self._compact()
        return self.keys // self.n, self.keys % self.n


def typo_edges(table: ParagraphTable) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of short rows in different documents whose words are equal but one, a typo apart.

    Rows sharing a typo key have the same words but one, at the same place;
    the two differing words are a typo apart when their lengths differ by at
    most one and their letter sets by at most two letters (a changed, added,
    dropped or swapped letter). Rows of one page are left alone, as for
    every other edge.

    >>> from dedupe.features import typo_keys
    >>> keys = [typo_keys(k, 6) for k in ("storm hits coast", "storm hits caost", "storm hits ghost")]
    >>> rows = [r for r, ks in enumerate(keys) for _ in ks]
    >>> flat = [k for ks in keys for k in ks]
    >>> t = ParagraphTable.build(doc=[0, 1, 2], para=[0, 0, 0], exact=[0, 1, 2], length=[16] * 3, typo_row=rows,
    ...                          typo_hash=[k[0] for k in flat], typo_letters=[k[1] for k in flat],
    ...                          typo_len=[k[2] for k in flat])
    >>> [side.tolist() for side in typo_edges(t)]
    [[0], [1]]
    """
    empty = np.empty(0, dtype=np.int64)
    if table.typo_row.shape[0] < 2:
        return empty, empty
    at = np.arange(table.typo_row.shape[0], dtype=np.int64)
    first, second = group_pairs(table.typo_hash, at)
    if first.shape[0] == 0:
        return empty, empty
    a, b = table.typo_row[first], table.typo_row[second]
    differ = count_bits(table.typo_letters[first] ^ table.typo_letters[second])
    close = (np.abs(table.typo_len[first].astype(np.int64) - table.typo_len[second]) <= 1) & (differ <= 2)
    keep = close & (table.exact[a] != table.exact[b]) & same_identifiers(table, a, b) & across_documents(table, a, b)
    edges = _EdgeSet(table.size)
    edges.add(a[keep], b[keep])
    return edges.pairs()


def same_identifiers(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs whose identifiers are equal: a CVE id, a version or a date apart is another line."""
    return table.ident[a] == table.ident[b]


def across_documents(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs allowed to merge: in different documents, or the very same text.

    Inside one page, lines that differ only in numbers or a word are its own
    structure (list items, table rows, race stages), not copies.
    """
    return (table.doc[a] != table.doc[b]) | (table.text_hash[a] == table.text_hash[b])
