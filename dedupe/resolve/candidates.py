"""Candidate pairs and the edges between rows: equal exact hashes, shared bands, one typo apart."""

from __future__ import annotations

import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..config import DedupConfig
from ..features import one_edit_apart
from ..schema import ParagraphTable
from .groups import count_bits, group_pairs_across, group_starts, sorted_group_pairs, text_representatives

#: Told the resolver's current step and how far into it (for progress lines).
StepCallback = Callable[[str, str], None]
#: Candidate pairs verified per step: bounds the per-pair temporaries.
VERIFY_PAIRS = 1 << 22
#: In a band (or typo) group holding three different texts or more, each text is paired with
#: this many of the group's next texts (:func:`~dedupe.resolve.groups.group_pairs_across`).
TEXT_WINDOW = 8


def exact_edges(table: ParagraphTable) -> tuple[np.ndarray, np.ndarray]:
    """Edges between rows with equal exact hashes (each once, as (later row, earlier row)).

    Every row of one exact hash joins one cluster, even two texts of one page
    (numbered versions of a line, say): a cluster is the unit of work, not a
    verdict, and the election still never takes one of them for a copy of
    the other (``across_documents``). Band candidates rely on it: one row per
    text and page stands for the rows of its exact hash there
    (:func:`~dedupe.resolve.groups.text_representatives`), so a page's other
    versions left out of the cluster met the near copy in another page only
    once a first clean had removed the version that stood for them.

    >>> t = ParagraphTable.build(doc=[0, 1, 1, 1], para=[0, 0, 1, 2], exact=[7, 7, 7, 7], length=[80] * 4,
    ...                          text_hash=[1, 2, 3, 2])
    >>> sorted(zip(*[side.tolist() for side in exact_edges(t)]))
    [(1, 0), (2, 0), (2, 1), (3, 0), (3, 2)]
    """
    order = np.argsort(table.exact, kind="stable")
    return sorted_group_pairs(group_starts(table.exact[order]), order)


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
    # one row per text stands for its copies (text_representatives), which exact edges join
    minhashed = np.flatnonzero(table.sig_row >= 0)
    minhashed = minhashed[text_representatives(table.exact[minhashed], table.doc[minhashed])]
    sig_of = table.sig_row[minhashed]
    texts, pages = table.exact[minhashed], table.doc[minhashed]
    store = table.signatures

    def one_band(band: int) -> tuple[np.ndarray, np.ndarray]:
        # Verified band by band: the distinct candidates of all bands together
        # are several per row and would all be held at once; the verified
        # edges are fewer, and each is kept once (compacted).
        a, b = group_pairs_across(store.band(band)[sig_of], minhashed, texts, pages, TEXT_WINDOW)
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
    the two differing words are a typo apart when they are one edit apart (a
    letter changed, added or dropped, or two neighbours swapped), checked on
    the words once their lengths (at most one apart) and letter sets (at
    most two letters apart) allow it. Rows of one page are left alone, as for
    every other edge.

    >>> from dedupe.features import typo_keys
    >>> keys = [typo_keys(k, 6) for k in ("storm hits coast", "storm hits caost", "storm hits ghost")]
    >>> rows = [r for r, ks in enumerate(keys) for _ in ks]
    >>> flat = [k for ks in keys for k in ks]
    >>> t = ParagraphTable.build(doc=[0, 1, 2], para=[0, 0, 0], exact=[0, 1, 2], length=[16] * 3, typo_row=rows,
    ...                          typo_hash=[k[0] for k in flat], typo_letters=[k[1] for k in flat],
    ...                          typo_len=[k[2] for k in flat], typo_word=[k[3] for k in flat])
    >>> [side.tolist() for side in typo_edges(t)]
    [[0], [1]]
    """
    empty = np.empty(0, dtype=np.int64)
    if table.typo_row.shape[0] < 2:
        return empty, empty
    at = np.arange(table.typo_row.shape[0], dtype=np.int64)
    _, word = np.unique(table.typo_word, return_inverse=True)
    first, second = group_pairs_across(table.typo_hash, at, word.ravel(), table.doc[table.typo_row], TEXT_WINDOW)
    if first.shape[0] == 0:
        return empty, empty
    a, b = table.typo_row[first], table.typo_row[second]
    differ = count_bits(table.typo_letters[first] ^ table.typo_letters[second])
    close = (np.abs(table.typo_len[first].astype(np.int64) - table.typo_len[second]) <= 1) & (differ <= 2)
    keep = close & (table.exact[a] != table.exact[b]) & same_identifiers(table, a, b) & across_documents(table, a, b)
    at_keep = np.flatnonzero(keep)
    keep[at_keep] = words_one_edit_apart(table.typo_word[first[at_keep]], table.typo_word[second[at_keep]])
    edges = _EdgeSet(table.size)
    edges.add(a[keep], b[keep])
    return edges.pairs()


def words_one_edit_apart(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Whether each pair of typo words (UTF-8) is one edit apart (:func:`~dedupe.features.one_edit_apart`).

    Called on the pairs the letter sets and lengths let through only: few.

    >>> words_one_edit_apart(np.array([b"harbour", b"support"]), np.array([b"harbor", b"output"])).tolist()
    [True, False]
    """
    return np.fromiter((_one_edit(x, y) for x, y in zip(first.tolist(), second.tolist())), dtype=bool,
                       count=first.shape[0])


#: Word pairs whose edit check is remembered: headlines repeat across reposts.
ONE_EDIT_CACHED = 1 << 16


@functools.lru_cache(maxsize=ONE_EDIT_CACHED)
def _one_edit(first: bytes, second: bytes) -> bool:
    return one_edit_apart(first.decode(), second.decode())


def same_identifiers(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs whose identifiers are equal: a CVE id, a version or a date apart is another line."""
    return table.ident[a] == table.ident[b]


def across_documents(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs allowed to merge: in different documents, or the very same text.

    Inside one page, lines that differ only in numbers or a word are its own
    structure (list items, table rows, race stages), not copies.
    """
    return (table.doc[a] != table.doc[b]) | (table.text_hash[a] == table.text_hash[b])
