"""Corpus-wide resolution: candidate pairs -> clusters -> boilerplate or keep policy.

This is the only step that sees the whole corpus, and it sees only numbers:
one row per fingerprinted paragraph (document, paragraph index, exact hash,
length, MinHash signature and band keys), in input order.

1. **Candidates**: rows with equal exact hashes, and rows sharing an LSH band
   key. Groups are found by sorting, never with per-paragraph Python objects.
   Inside a group each row is paired with the group's first row and with its
   predecessor, so a group of k rows costs O(k) pairs.
2. **Verification**: a band candidate is an edge only if its estimated Jaccard
   similarity (equal signature slots) reaches the threshold.
3. **Clusters**: connected components of the edges (scipy).
4. **Boilerplate or duplicates**: a cluster spanning ``boilerplate_docs``
   documents (``boilerplate_sites`` sites when every copy has a URL), or
   ``site_share`` of one site's pages, is boilerplate and every copy goes. Otherwise the canonical copy is chosen by
   the keep policy and the others are duplicates of it.
5. **Duplicate documents**: a document keeping less than ``min_kept`` of its
   non-boilerplate text is dropped, unless it keeps a paragraph of
   ``novel_chars`` or more that has no copy and shares no sentence with
   another document (text found nowhere else); clusters whose canonical copy was in a
   dropped document re-elect one in a kept document, so kept text never points
   at a copy that is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .config import RELATED_EVIDENCE_RUNS, DedupConfig
from .store import SignatureStore

#: Told the resolver's current step and how far into it (for progress lines).
StepCallback = Callable[[str, str], None]

#: Candidate pairs verified per step: bounds the per-pair temporaries.
_VERIFY_PAIRS = 1 << 22
#: Sentences scanned per step when looking for a few hashes among all of them.
_SCAN_SENTENCES = 1 << 22

KEPT = 0
DUPLICATE = 1
BOILERPLATE = 2
#: A row of an unheaded link list that the corpus confirmed as a link list:
#: it stays removed with the stripper's rule and counts toward no cluster.
STRIPPED = 3

#: ParagraphTable.earlier: rows of earlier runs, whose fate is already published.
EARLIER_KEPT = 1
EARLIER_BOILERPLATE = 2
EARLIER_TEMPLATE = 3

#: Boilerplate rule codes and the names the removal record shows.
RULE_NONE = 0
RULE_BOILERPLATE_DOCS = 1
RULE_SITE_TEMPLATE = 2
RULE_NAMES = {RULE_BOILERPLATE_DOCS: "boilerplate-docs", RULE_SITE_TEMPLATE: "site-template"}

#: How a duplicate was matched, and the rule names the removal record shows.
MATCH_EXACT = 1
MATCH_MINHASH = 2
MATCH_SENTENCES = 3
#: Where a headline-like paragraph stands, best first: as an article's title
#: (leading into body text), elsewhere, or as an entry of a list of links.
TITLE, ELSEWHERE, LISTED = 0, 1, 2
#: Shape bits of a paragraph (:attr:`ParagraphTable.shape`).
HEADLINE, BODY = 1, 2
#: A short line matched through a one-typo edge to a line without a MinHash.
MATCH_TYPO = 4
MATCH_NAMES = {MATCH_EXACT: "exact", MATCH_MINHASH: "minhash", MATCH_SENTENCES: "sentences", MATCH_TYPO: "typo"}


@dataclass(slots=True)
class ParagraphTable:
    """Fingerprinted paragraphs of the whole corpus, one row each, in input order."""

    doc: np.ndarray  # int64[n] document index
    para: np.ndarray  # int32[n] paragraph index in its document
    exact: np.ndarray  # uint64[n]
    length: np.ndarray  # int64[n] characters
    sig_row: np.ndarray  # int64[n] row in signatures, -1 when exact-only
    signatures: np.ndarray | SignatureStore  # uint32[m, num_perm], in RAM or spilled
    rows: int  # rows per LSH band; band keys are computed from the signatures band by band
    listed: np.ndarray | None = None  # int8[n] placement: 0 title, 1 elsewhere, 2 in a list of links
    # int8[n] HEADLINE | BODY bits of the row's text; with it, placement is decided
    # (into ``listed``) once boilerplate rows are known, for this run's rows
    shape: np.ndarray | None = None
    text_hash: np.ndarray | None = None  # uint64[n] hash of the repaired text itself
    # sentences of the rows: row index, hash of the sentence's match key, characters
    sent_row: np.ndarray | None = None  # int64[s]
    sent_hash: np.ndarray | None = None  # uint64[s]
    sent_len: np.ndarray | None = None  # int64[s]
    # one-typo keys of short rows (see pipeline.typo_keys): row, hash of the
    # other words, the typo-able word's letters (64-bit set) and length
    typo_row: np.ndarray | None = None  # int64[t]
    typo_hash: np.ndarray | None = None  # uint64[t]
    typo_letters: np.ndarray | None = None  # uint64[t]
    typo_len: np.ndarray | None = None  # int8[t]
    # int32[n] for a line the stripper removed as a link list (pipeline.link_list_runs):
    # its list's number in the document, else -1; and whether a related header leads that list
    related: np.ndarray | None = None
    related_headed: np.ndarray | None = None  # bool[n]
    # Rows from an index of earlier runs (incremental cleaning): EARLIER_KEPT,
    # EARLIER_BOILERPLATE or EARLIER_TEMPLATE (0 for this run's rows), and how many documents
    # and sites the row's cluster spanned before this run.
    earlier: np.ndarray | None = None  # int8[n]
    earlier_docs: np.ndarray | None = None  # int64[n]
    earlier_sites: np.ndarray | None = None  # int64[n]
    earlier_site_copies: np.ndarray | None = None  # int64[n] pages of its own site in its cluster

    @property
    def size(self) -> int:
        return int(self.doc.shape[0])


@dataclass(slots=True)
class DocumentTable:
    """Per-document facts the resolver needs."""

    chars: np.ndarray  # int64[D] characters left after stripping
    site: np.ndarray  # int64[D] site index, -1 without a url
    date: np.ndarray  # float64[D] timestamp, +inf when unknown
    site_docs: np.ndarray  # int64[S] documents per site
    earlier: np.ndarray | None = None  # bool[D]: a document of an earlier run (from an index)


@dataclass(slots=True)
class Resolution:
    """What happens to every row and document."""

    status: np.ndarray  # int8[n]: KEPT, DUPLICATE, BOILERPLATE, STRIPPED
    canonical: np.ndarray  # int64[n]: kept row of a duplicate, else -1
    similarity: np.ndarray  # float32[n]
    rule: np.ndarray  # int8[n]: boilerplate rule code
    match: np.ndarray  # int8[n]: how a duplicate was found (MATCH_*)
    doc_dropped: np.ndarray  # bool[D]
    doc_kept_ref: np.ndarray  # int64[D]: for dropped docs, the doc holding most kept copies
    cluster_stats: dict[str, int] = field(default_factory=dict)
    labels: np.ndarray | None = None  # int64[n] cluster of every row
    label_docs: np.ndarray | None = None  # int64[clusters] documents a cluster spans (earlier runs included)
    label_sites: np.ndarray | None = None  # int64[clusters] sites a cluster spans (earlier runs included)
    site_copies: np.ndarray | None = None  # int64[n] pages of the row's own site in its cluster


def _group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    starts = np.ones(sorted_keys.shape[0], dtype=bool)
    if sorted_keys.shape[0] > 1:
        starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return starts


def _unique_rows(columns: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equal-length integer columns, and how often each occurs."""
    order = np.lexsort(columns[::-1])
    starts = np.zeros(order.shape[0], dtype=bool)
    if order.shape[0]:
        starts[0] = True
        for column in columns:
            ordered = column[order]
            starts[1:] |= ordered[1:] != ordered[:-1]
    positions = np.flatnonzero(starts)
    counts = np.diff(np.append(positions, order.shape[0]))
    return [column[order[positions]] for column in columns], counts


def _group_pairs(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row, first row of its key group) and (row, previous row of its group)."""
    order = np.argsort(keys, kind="stable")
    return sorted_group_pairs(_group_starts(keys[order]), rows[order])


def sorted_group_pairs(starts: np.ndarray, ordered_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of rows already sorted by group, then by row.

    ``starts[i]`` marks the first row of a group. Each row is paired with its
    group's first row and with its predecessor, so a group of k rows costs
    O(k) pairs while a chain of near copies stays connected.

    >>> a, b = sorted_group_pairs(np.array([True, False, False, True]), np.array([3, 5, 9, 4]))
    >>> sorted(zip(a.tolist(), b.tolist()))
    [(5, 3), (9, 3), (9, 5)]
    """
    if ordered_rows.shape[0] < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    first_pos = np.maximum.accumulate(np.where(starts, np.arange(ordered_rows.shape[0]), 0))
    member = ~starts
    positions = np.flatnonzero(member)
    to_first = (ordered_rows[positions], ordered_rows[first_pos[positions]])
    not_second = positions[first_pos[positions] != positions - 1]
    to_prev = (ordered_rows[not_second], ordered_rows[not_second - 1])
    return np.concatenate([to_first[0], to_prev[0]]), np.concatenate([to_first[1], to_prev[1]])


def _store(table: ParagraphTable) -> SignatureStore:
    if not isinstance(table.signatures, SignatureStore):
        table.signatures = SignatureStore.of(table.signatures, table.rows)
    return table.signatures


def estimate_similarity(
    signatures: np.ndarray | SignatureStore, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """Estimated Jaccard similarity of signature rows ``first[i]`` and ``second[i]``.

    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 0, 4]], dtype=np.uint32)
    >>> estimate_similarity(sigs, np.array([0]), np.array([1])).tolist()
    [0.75]
    """
    store = signatures if isinstance(signatures, SignatureStore) else SignatureStore.of(signatures, 1)
    return store.similarity(first, second)


def exact_edges(table: ParagraphTable) -> tuple[np.ndarray, np.ndarray]:
    """Edges between rows with equal exact hashes (each once, in either orientation).

    >>> t = ParagraphTable(doc=np.array([0, 1, 1]), para=np.array([0, 0, 1], np.int32),
    ...                    exact=np.array([7, 7, 9], np.uint64), length=np.array([80, 80, 80]),
    ...                    sig_row=np.array([-1, -1, -1]), signatures=np.zeros((0, 4), np.uint32), rows=2)
    >>> [side.tolist() for side in exact_edges(t)]
    [[1], [0]]
    """
    a, b = _group_pairs(table.exact, np.arange(table.size, dtype=np.int64))
    keep = _across_documents(table, a, b)
    return a[keep], b[keep]


def band_edges(
    table: ParagraphTable, a: np.ndarray, b: np.ndarray, threshold: float,
    short_length: int = 0, short_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The band candidates ``(a[i], b[i])`` that are edges: different text, similar signatures.

    Pairs with equal exact hashes are left to :func:`exact_edges`; pairs inside
    one page must be the very same text (see ``_across_documents``). The rule
    looks at one pair at a time, so any split of the candidates into parts
    gives the same edges.

    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 3, 5]], np.uint32)  # 3 of 4 slots equal
    >>> t = ParagraphTable(doc=np.array([0, 1]), para=np.array([0, 0], np.int32),
    ...                    exact=np.array([1, 2], np.uint64), length=np.array([80, 80]),
    ...                    sig_row=np.array([0, 1]), signatures=sigs, rows=2)
    >>> [side.tolist() for side in band_edges(t, np.array([1]), np.array([0]), threshold=0.7)]
    [[1], [0]]
    >>> band_edges(t, np.array([1]), np.array([0]), threshold=0.8)[0].size
    0
    """
    keep = (table.exact[a] != table.exact[b]) & _across_documents(table, a, b)
    a, b = a[keep], b[keep]
    store, sig_of = _store(table), table.sig_row
    verified = np.zeros(a.shape[0], dtype=bool)
    for start in range(0, a.shape[0], _VERIFY_PAIRS):
        pa, pb = a[start : start + _VERIFY_PAIRS], b[start : start + _VERIFY_PAIRS]
        similar = estimate_similarity(store, sig_of[pa], sig_of[pb])
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
    store = _store(table)

    def one_band(band: int) -> tuple[np.ndarray, np.ndarray]:
        # Verified band by band: the distinct candidates of all bands together
        # are several per row and would all be held at once; the verified
        # edges are fewer, and each is kept once (compacted).
        a, b = _group_pairs(store.band(band)[sig_of], minhashed)
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


def cluster_labels(
    table: ParagraphTable, config: DedupConfig, threads: int = 1, progress: StepCallback | None = None
) -> tuple[np.ndarray, int]:
    """Cluster of every row (connected components of the verified edges) and the edge count.

    The local clustering step; the Dask engine brings its own with the same result.
    """
    src, dst = candidate_edges(table, config.threshold, config.short_chars, config.short_threshold, threads,
                               progress)
    return component_labels(table.size, src, dst), int(src.shape[0])


def typo_edges(table: ParagraphTable) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of short rows in different documents whose words are equal but one, a typo apart.

    Rows sharing a typo key have the same words but one, at the same place;
    the two differing words are a typo apart when their lengths differ by at
    most one and their letter sets by at most two letters (a changed, added,
    dropped or swapped letter). Rows of one page are left alone, as for
    every other edge.

    >>> from dedupe.pipeline import typo_keys
    >>> keys = [typo_keys(k, 6) for k in ("storm hits coast", "storm hits caost", "storm hits ghost")]
    >>> rows = [r for r, ks in enumerate(keys) for _ in ks]
    >>> flat = [k for ks in keys for k in ks]
    >>> t = ParagraphTable(doc=np.arange(3), para=np.zeros(3, np.int32), exact=np.arange(3, dtype=np.uint64),
    ...                    length=np.full(3, 16), sig_row=np.full(3, -1), signatures=np.zeros((0, 4), np.uint32),
    ...                    rows=2, typo_row=np.array(rows), typo_hash=np.array([k[0] for k in flat], np.uint64),
    ...                    typo_letters=np.array([k[1] for k in flat], np.uint64),
    ...                    typo_len=np.array([k[2] for k in flat], np.int8))
    >>> [side.tolist() for side in typo_edges(t)]
    [[0], [1]]
    """
    empty = np.empty(0, dtype=np.int64)
    if table.typo_row is None or table.typo_row.shape[0] < 2:
        return empty, empty
    at = np.arange(table.typo_row.shape[0], dtype=np.int64)
    first, second = _group_pairs(table.typo_hash, at)
    if first.shape[0] == 0:
        return empty, empty
    a, b = table.typo_row[first], table.typo_row[second]
    letters = table.typo_letters[first] ^ table.typo_letters[second]
    differ = np.zeros(letters.shape[0], dtype=np.int64)
    for shift in range(0, 64, 8):  # popcount, a byte at a time (numpy < 2 has no bitwise_count)
        differ += _POPCOUNT[((letters >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
    close = (np.abs(table.typo_len[first].astype(np.int64) - table.typo_len[second]) <= 1) & (differ <= 2)
    keep = close & (table.exact[a] != table.exact[b]) & _across_documents(table, a, b)
    edges = _EdgeSet(table.size)
    edges.add(a[keep], b[keep])
    return edges.pairs()


_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.int64)


#: A chained cluster is split only while rows x seeds stays under this many
#: similarity estimates (bounds the work and the signature rows fetched, 64 MB,
#: on a pathological cluster).
SPLIT_MAX_PAIRS = 1 << 16
SPLIT_ROUNDS = 8


def split_chained(table: ParagraphTable, labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Split clusters that chain different paragraphs of one page; returns (labels, clusters split).

    Two different lines of one document are two paragraphs, never copies of
    each other (:func:`_across_documents` gives them no edge), yet a cluster
    can hold both through copies elsewhere: an article's similar list items
    ("1 Green, 1 Red", "1 Green, 1 Purple, 1 Red"), each reposted, chain
    through the reposts into one cluster, and all but one would be lost. Such
    a cluster is regrouped around the rows of its document with the most
    different lines in it: each row joins the one it is most similar to
    (equal text first, then estimated Jaccard; ties to the earlier row).
    Labels stay numbered by each cluster's smallest row. A regrouped cluster
    can still hold two lines of another page; rounds repeat until none does
    or a round splits nothing (a cluster left whole: see :func:`_regroup`).

    >>> sigs = np.array([[1, 2, 3, 4], [1, 2, 3, 9], [1, 2, 3, 4], [1, 2, 3, 9]], np.uint32)
    >>> t = ParagraphTable(doc=np.array([0, 0, 1, 1]), para=np.array([0, 1, 0, 1], np.int32),
    ...                    exact=np.array([1, 2, 1, 2], np.uint64), length=np.array([80] * 4),
    ...                    sig_row=np.arange(4), signatures=sigs, rows=2)
    >>> labels, split = split_chained(t, np.zeros(4, np.int64))
    >>> labels.tolist(), split
    ([0, 1, 0, 1], 1)
    """
    if table.size == 0:
        return labels, 0
    # Only rows of clusters with two or more members can conflict; later
    # rounds look only at the rows of clusters the round before regrouped.
    consider = np.flatnonzero(np.bincount(labels)[labels] > 1)
    labels = labels.copy()
    total, fresh = 0, int(labels.max()) + 1
    for _ in range(SPLIT_ROUNDS):
        consider, fresh, split = _split_round(table, labels, consider, fresh)
        total += split
        if not split:
            break
    if total:  # renumber by each cluster's smallest row
        present, first = np.unique(labels, return_index=True)
        rank = np.empty(present.shape[0], dtype=np.int64)
        rank[np.argsort(first)] = np.arange(present.shape[0])
        labels = rank[np.searchsorted(present, labels)]
    return labels, total


def _split_round(
    table: ParagraphTable, labels: np.ndarray, consider: np.ndarray, fresh: int
) -> tuple[np.ndarray, int, int]:
    """Regroup the conflicted clusters among rows ``consider`` (in place); returns
    (rows of the clusters regrouped, next unused label, clusters regrouped)."""
    key = table.text_hash if table.text_hash is not None else table.exact
    order = consider[np.lexsort([key[consider], table.doc[consider], labels[consider]])]
    lab, doc, text = labels[order], table.doc[order], key[order]
    new_page = np.ones(order.shape[0], dtype=bool)
    new_page[1:] = (lab[1:] != lab[:-1]) | (doc[1:] != doc[:-1])
    new_text = new_page.copy()
    new_text[1:] |= text[1:] != text[:-1]
    page = np.cumsum(new_page) - 1
    texts_on_page = np.bincount(page, weights=new_text)[page] if order.shape[0] else np.zeros(0)
    conflicted = np.unique(lab[texts_on_page >= 2])
    if conflicted.shape[0] == 0:
        return consider[:0], fresh, 0
    members = np.sort(order[np.isin(lab, conflicted)])  # each conflicted cluster's rows, in row order
    by_label = members[np.argsort(labels[members], kind="stable")]
    sorted_labels = labels[by_label]
    store, split, regrouped = _store(table), 0, []
    for lo, hi in zip(np.searchsorted(sorted_labels, conflicted), np.searchsorted(sorted_labels, conflicted, "right")):
        rows = by_label[lo:hi]
        groups = _regroup(table, store, key, rows)
        if groups is None:
            continue
        values, inverse = np.unique(groups, return_inverse=True)
        labels[rows] = fresh + inverse
        fresh += values.shape[0]
        regrouped.append(rows)
        split += 1
    rows_regrouped = np.sort(np.concatenate(regrouped)) if regrouped else consider[:0]
    return rows_regrouped, fresh, split


def _regroup(table: ParagraphTable, store: SignatureStore, key: np.ndarray, rows: np.ndarray) -> np.ndarray | None:
    """Smallest row of each member's new group, or None to leave the cluster whole."""
    docs, texts = table.doc[rows], key[rows]
    distinct = np.unique(np.stack([docs, texts.view(np.int64)]), axis=1)
    per_doc_docs, per_doc_counts = np.unique(distinct[0], return_counts=True)
    anchor = per_doc_docs[np.argmax(per_doc_counts)]  # most lines; ties to the smallest document
    on_anchor = rows[docs == anchor]
    _, firsts = np.unique(key[on_anchor], return_index=True)
    seeds = np.sort(on_anchor[firsts])
    if (table.sig_row[seeds] < 0).any() or rows.shape[0] * seeds.shape[0] > SPLIT_MAX_PAIRS:
        return None  # a seed matched by exact text only, or too big: leave it
    choice = np.full(rows.shape[0], -1, dtype=np.int64)
    same_text = texts[:, None] == key[seeds][None, :]
    has_twin = same_text.any(axis=1)
    choice[has_twin] = np.argmax(same_text[has_twin], axis=1)
    signed = ~has_twin & (table.sig_row[rows] >= 0)
    if signed.any():
        a = np.repeat(table.sig_row[rows[signed]], seeds.shape[0])
        b = np.tile(table.sig_row[seeds], int(signed.sum()))
        similar = estimate_similarity(store, a, b).reshape(-1, seeds.shape[0])
        choice[signed] = np.argmax(similar, axis=1)
    # rows matched by exact text only go where their text's first placed row went
    placed = choice >= 0
    for text in np.unique(texts[~placed]):
        same = texts == text
        choice[same & ~placed] = choice[same & placed][0] if (same & placed).any() else -2 - int(np.argmax(same))
    groups = np.empty(rows.shape[0], dtype=np.int64)
    for value in np.unique(choice):
        members = rows[choice == value]
        groups[choice == value] = members.min()
    return groups


#: Characters of a row that can anchor a link list to its article.
ANCHOR_CHARS = 100
#: Anchors per list: the article's last long paragraphs before it.
ANCHORS = 3
#: A list line in a cluster of more rows than this is found elsewhere when any other
#: page holds it, copies of its article included: its rows are not paired one by one
#: (bounds the work of a line found on thousands of pages).
_EVIDENCE_ROWS = 64


def confirm_link_lists(
    table: ParagraphTable, docs: DocumentTable, labels: np.ndarray, min_share: float
) -> tuple[np.ndarray, dict[str, int]]:
    """Rows of link lists that stay removed (bool[n]), and counts.

    The stripper removes a run of headline-like lines after an article as a
    related-links list; with no "related" header above it, page shape alone
    cannot tell it from the article's own closing list (specifications, job
    titles, sources). The corpus can: related links name *other* pages'
    titles, so a list line is *found elsewhere* when it occurs on a page that
    does not carry the article too (none of the list's anchors, the article's
    last paragraphs of ``ANCHOR_CHARS``+ characters, is in that page). A list
    with no line found elsewhere is kept as the article's when the corpus
    evidently holds its site's link targets: of the site's lists (all
    url-less documents count as one site; lists under a header count too)
    that either name another page's title (a headline-like row leading into
    that page's body text) or are found nowhere, at least ``min_share`` name
    a title, over at least :data:`~dedupe.config.RELATED_EVIDENCE_RUNS`
    lists. Menus and archive widgets repeat on many pages but name no title,
    so they are no evidence; a one-page corpus, or a crawl that missed the
    linked pages, keeps every list removed.

    Four pages end in a one-line list after a 200-character paragraph; the
    lists of three name the title of a fifth page, the fourth's is found
    nowhere else and is kept:

    >>> t = ParagraphTable(doc=np.repeat(np.arange(5), 2), para=np.array([0, 1] * 5, np.int32),
    ...                    exact=np.arange(10, dtype=np.uint64), length=np.array([200, 30] * 4 + [30, 200]),
    ...                    sig_row=np.full(10, -1), signatures=np.empty((0, 4), np.uint32), rows=1,
    ...                    shape=np.array([BODY, HEADLINE] * 4 + [HEADLINE, BODY], np.int8),
    ...                    related=np.array([-1, 0] * 4 + [-1, -1], np.int32))
    >>> d = DocumentTable(chars=np.full(5, 230), site=np.full(5, -1), date=np.zeros(5),
    ...                   site_docs=np.empty(0, np.int64))
    >>> stripped, counts = confirm_link_lists(t, d, np.array([0, 1, 2, 1, 4, 1, 6, 7, 1, 9]), 0.5)
    >>> stripped.nonzero()[0].tolist(), counts["link_lists_kept"]
    ([1, 3, 5], 1)
    """
    n = table.size
    stripped = np.zeros(n, dtype=bool)
    if table.related is None or not (table.related >= 0).any():
        return stripped, {}
    t_rows = np.flatnonzero(table.related >= 0)
    t_doc = table.doc[t_rows]
    run_key = t_doc * (int(table.related.max()) + 1) + table.related[t_rows]
    run_ids, run_first, run_of = np.unique(run_key, return_index=True, return_inverse=True)
    n_runs = run_ids.shape[0]
    counts = {"link_lists": int(n_runs), "link_lists_kept": 0, "link_list_lines_kept": 0}
    if min_share <= 0:
        stripped[t_rows] = True
        return stripped, counts
    run_doc = t_doc[run_first]
    run_headed = (table.related_headed[t_rows[run_first]] if table.related_headed is not None
                  else np.zeros(n_runs, dtype=bool))
    run_last = np.zeros(n_runs, dtype=np.int64)
    np.maximum.at(run_last, run_of, t_rows)

    # anchors: the article's nearest long rows before the list (after it, if none before)
    long_rows = np.flatnonzero((table.related < 0) & (table.length >= ANCHOR_CHARS))
    anchors = np.full((n_runs, ANCHORS), -1, dtype=np.int64)
    if long_rows.shape[0]:
        before = np.searchsorted(long_rows, t_rows[run_first])
        after = np.searchsorted(long_rows, run_last, side="right")
        has_before = (before > 0) & (table.doc[long_rows[np.maximum(before - 1, 0)]] == run_doc)
        for k in range(ANCHORS):
            at = np.where(has_before, before - 1 - k, after + k)
            inside = (at >= 0) & (at < long_rows.shape[0])
            row = long_rows[np.clip(at, 0, long_rows.shape[0] - 1)]
            ok = inside & (table.doc[row] == run_doc)
            anchors[ok, k] = labels[row[ok]]

    # titles: rows leading into body text in their own document (an earlier run's as it decided);
    # a list line whose cluster holds one names another page's title
    title = np.zeros(n, dtype=bool)
    if table.shape is not None:
        title = placement(table.doc, table.shape, table.related < 0) == TITLE
    if table.earlier is not None and table.listed is not None:
        title = np.where(table.earlier > 0, table.listed == TITLE, title)
    t_labels = labels[t_rows]

    # the other rows of each list line's cluster, only among clusters holding list lines
    members = np.flatnonzero(np.isin(labels, np.unique(t_labels)))
    order = members[np.argsort(labels[members], kind="stable")]
    sorted_labels = labels[order]
    start = np.searchsorted(sorted_labels, t_labels)
    size = np.searchsorted(sorted_labels, t_labels, side="right") - start
    n_labels = int(labels.max()) + 1
    n_docs = docs.chars.shape[0]
    # per cluster: documents in it, and documents where it is a title
    pairs = np.unique(labels[members] * n_docs + table.doc[members])
    label_docs = np.bincount(pairs // n_docs, minlength=n_labels)
    titled_pairs = np.unique(labels[members[title[members]]] * n_docs + table.doc[members[title[members]]])
    title_docs = np.bincount(titled_pairs // n_docs, minlength=n_labels)
    mine = t_labels * n_docs + t_doc
    own_title = np.zeros(t_rows.shape[0], dtype=bool)
    if titled_pairs.shape[0]:
        at = np.minimum(np.searchsorted(titled_pairs, mine), titled_pairs.shape[0] - 1)
        own_title = titled_pairs[at] == mine
    names_title = title_docs[t_labels] - own_title > 0  # a title on another page
    # Where the article is on no other page (its anchors are in no other document's rows),
    # every other page holding a line is evidence: counts decide. So they do for a line
    # whose cluster is too big to pair. Otherwise pages carrying an anchor are copies of
    # the article and are set aside pair by pair.
    label_rows = np.bincount(labels, minlength=n_labels)
    copied = ((anchors >= 0) & (label_rows[np.maximum(anchors, 0)] > 1)).any(axis=1)[run_of]
    big = size > _EVIDENCE_ROWS
    counted = ~copied | big
    run_found = np.zeros(n_runs, dtype=bool)
    run_found[run_of[counted & (label_docs[t_labels] > 1)]] = True
    run_titled = np.zeros(n_runs, dtype=bool)
    run_titled[run_of[counted & names_title]] = True
    # A page holding one of the list's anchors carries the article: a copy, not evidence.
    todo = np.flatnonzero(~counted & (size > 1))
    if todo.shape[0]:
        wanted = np.unique(anchors[np.unique(run_of[todo])].ravel())
        with_anchor = np.flatnonzero(np.isin(labels, wanted[wanted >= 0]))
        held = np.unique(table.doc[with_anchor] * n_labels + labels[with_anchor])

        def evidence(lines: np.ndarray, other: np.ndarray) -> np.ndarray:
            """Is ``other`` on a page that does not carry the article of list line ``lines``?"""
            sibling = table.doc[other] == t_doc[lines]
            if held.shape[0]:
                for k in range(ANCHORS):
                    anchor = anchors[run_of[lines], k]
                    key = table.doc[other] * n_labels + anchor
                    at = np.minimum(np.searchsorted(held, key), held.shape[0] - 1)
                    sibling |= (anchor >= 0) & (held[at] == key)
            return ~sibling

        def pair_all(lines: np.ndarray, rows: np.ndarray, first: np.ndarray, count: np.ndarray,
                     into: np.ndarray) -> None:
            """Set ``into[run]`` for lines with evidence among ``count`` of ``rows`` from ``first``."""
            step = max(_VERIFY_PAIRS // _EVIDENCE_ROWS, 1)  # bounds the pairs held at once
            for lo in range(0, lines.shape[0], step):
                part, reps = lines[lo : lo + step], count[lo : lo + step]
                which = np.repeat(part, reps)
                offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
                other = rows[np.repeat(first[lo : lo + step], reps) + offset]
                into[run_of[which[evidence(which, other)]]] = True

        # found: a cluster's first and last rows settle most lines (a related title sits on
        # many pages); only lists still unsettled are paired row by row
        for end in (start[todo], start[todo] + size[todo] - 1):
            hit = evidence(todo, order[end])
            run_found[run_of[todo[hit]]] = True
        rest = todo[~run_found[run_of[todo]]]
        pair_all(rest, order, start[rest], size[rest], run_found)
        # naming a title: paired with the title rows of the line's cluster only
        title_rows = order[title[order]]
        title_labels = labels[title_rows]
        t_start = np.searchsorted(title_labels, t_labels[todo])
        t_size = np.searchsorted(title_labels, t_labels[todo], side="right") - t_start
        named = t_size > 0
        pair_all(todo[named], title_rows, t_start[named], t_size[named], run_titled)

    # the site's evidence: lists naming another page's title versus lists found nowhere
    group = docs.site[run_doc] + 1  # 0: documents without a url, together
    n_groups = int(group.max()) + 1
    titled = np.bincount(group[run_titled], minlength=n_groups)
    alone = np.bincount(group[~run_found], minlength=n_groups)
    judged = titled + alone
    trusted = (judged >= RELATED_EVIDENCE_RUNS) & (titled >= min_share * np.maximum(judged, 1))
    kept_run = ~run_found & trusted[group] & ~run_headed
    stripped[t_rows[~kept_run[run_of]]] = True
    counts["link_lists_kept"] = int(kept_run.sum())
    counts["link_list_lines_kept"] = int(kept_run[run_of].sum())
    return stripped, counts


def component_labels(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` nodes, numbered in order of their smallest node.

    >>> component_labels(4, np.array([3]), np.array([1])).tolist()
    [0, 1, 2, 1]
    """
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


def _across_documents(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs allowed to merge: in different documents, or the very same text.

    Inside one page, lines that differ only in numbers or a word are its own
    structure (list items, table rows, race stages), not copies.
    """
    other = table.doc[a] != table.doc[b]
    if table.text_hash is None:
        return other | (table.exact[a] == table.exact[b])
    return other | (table.text_hash[a] == table.text_hash[b])


def placement(doc: np.ndarray, shape: np.ndarray, live: np.ndarray) -> np.ndarray:
    """:data:`TITLE`, :data:`ELSEWHERE` or :data:`LISTED` for rows in document order.

    Only ``live`` rows count as neighbours (the others — boilerplate, such as
    a site's name above every title — are skipped, and are ``ELSEWHERE``).
    A title is a headline-like row leading into body text, directly or, when
    no headline comes before it, over a one-line standfirst (a headline-like
    dek, then a row that is body and not headline-like), and not between two
    headline-like rows (a 12-18-word question is both body- and headline-like,
    so a list entry above one looked like a title). A listed row is
    headline-like, not a title, and next to another headline or after its
    document's last body row.

    >>> shape = np.array([HEADLINE, BODY, HEADLINE, HEADLINE], np.int8)
    >>> placement(np.zeros(4, np.int64), shape, np.ones(4, bool)).tolist()
    [0, 1, 2, 2]
    >>> placement(np.zeros(4, np.int64), np.array([HEADLINE, HEADLINE, HEADLINE, BODY], np.int8),
    ...           np.array([False, True, True, True])).tolist()
    [1, 0, 0, 1]
    """
    out = np.full(doc.shape[0], ELSEWHERE, dtype=np.int8)
    rows = np.flatnonzero(live)
    if rows.shape[0] == 0:
        return out
    d = doc[rows]
    head = (shape[rows] & HEADLINE) > 0
    body = (shape[rows] & BODY) > 0

    def ahead(values: np.ndarray, step: int) -> np.ndarray:
        shifted = np.zeros(values.shape[0], dtype=bool)
        if values.shape[0] > step:
            shifted[:-step] = values[step:] & (d[step:] == d[:-step])
        return shifted

    before = np.zeros(rows.shape[0], dtype=bool)
    before[1:] = head[:-1] & (d[1:] == d[:-1])
    after = ahead(head, 1)
    over_dek = ~before & after & ahead(body, 2) & ~ahead(head, 2)
    # a line between two headline-like lines is a list entry, whatever follows
    title = head & (ahead(body, 1) | over_dek) & ~(before & after)
    # each document's last body row (-1 without one), by position among live rows
    position = np.arange(rows.shape[0])
    last_of_row = _per_document(d, np.where(body, position, -1), np.maximum)
    listed = head & ~title & (before | after | ((position > last_of_row) & (last_of_row >= 0)))
    out[rows] = np.where(title, TITLE, np.where(listed, LISTED, ELSEWHERE))
    return out


def ahead_of_text(doc: np.ndarray, shape: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Live rows standing before their document's first body row (bool[n]; rows in document order).

    >>> ahead_of_text(np.array([0, 0, 0, 1]), np.array([HEADLINE, BODY, HEADLINE, HEADLINE], np.int8),
    ...               np.ones(4, bool)).tolist()
    [True, False, False, True]
    """
    out = np.zeros(doc.shape[0], dtype=bool)
    rows = np.flatnonzero(live)
    if rows.shape[0] == 0:
        return out
    body = (shape[rows] & BODY) > 0
    position = np.arange(rows.shape[0])
    out[rows] = position < _per_document(doc[rows], np.where(body, position, rows.shape[0]), np.minimum)
    return out


def _per_document(doc: np.ndarray, values: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """``reduce`` of ``values`` over each row's document (rows in document order), per row.

    >>> _per_document(np.array([0, 0, 1]), np.array([3, 5, 2]), np.maximum).tolist()
    [5, 5, 2]
    """
    starts = np.flatnonzero(np.concatenate([[True], doc[1:] != doc[:-1]]))
    return np.repeat(reduce.reduceat(values, starts), np.diff(np.append(starts, doc.shape[0])))


def _policy_order(
    table: ParagraphTable, docs: DocumentTable, keep: str, late: np.ndarray | None = None
) -> list[np.ndarray]:
    """Sort keys (least significant first, for lexsort) ranking rows within a cluster.

    Placement comes first: a headline that leads into an article's text wins
    over other copies, and one sitting in a list of links (a related-posts
    list the stripper did not catch) loses to any other: the article keeps
    its title and the list loses its link. Before placement, where a
    headline stands: above its page's first body row (where titles stand,
    whatever follows them: a tagline, a dek) it wins over a copy below the
    start of some page's text (``late``: a link to the article in a list or
    sidebar, however much it looks like a title there).
    """
    order = np.arange(table.size, dtype=np.int64)
    keys = [order]
    if keep == "earliest":
        keys.append(docs.date[table.doc])
    elif keep == "longest":
        keys.append(-table.length)
    if table.listed is not None:
        keys.append(table.listed)
    if late is not None:
        keys.append(late.astype(np.int8))
    if table.earlier is not None:
        keys.append((table.earlier == 0).astype(np.int8))  # earlier runs win: their copy is published
    return keys


def _first_per_label(labels: np.ndarray, rows: np.ndarray, keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """For each label among ``rows``: the best row by ``keys``; returns (labels, rows)."""
    if rows.shape[0] == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    order = np.lexsort([k[rows] for k in keys] + [labels[rows]])
    ranked = rows[order]
    starts = _group_starts(labels[ranked])
    return labels[ranked[starts]], ranked[starts]


#: A clustering step: (table, config) -> (cluster label of every row, verified edges).
Clusterer = Callable[[ParagraphTable, DedupConfig], tuple[np.ndarray, int]]


def resolve(
    table: ParagraphTable, docs: DocumentTable, config: DedupConfig, cluster: Clusterer | None = None,
    progress: StepCallback | None = None,
) -> Resolution:
    """Decide, for every fingerprinted paragraph, whether it is kept, a duplicate or boilerplate.

    ``cluster`` replaces the local clustering step (:func:`cluster_labels`);
    any replacement must number clusters the same way (by smallest row).
    ``progress`` is told each step as it begins.
    """
    step = progress or (lambda name, detail: None)
    n = table.size
    n_docs = docs.chars.shape[0]
    status = np.zeros(n, dtype=np.int8)
    canonical = np.full(n, -1, dtype=np.int64)
    similarity = np.ones(n, dtype=np.float32)
    rule = np.zeros(n, dtype=np.int8)
    if n == 0:
        return Resolution(status, canonical, similarity, rule, np.zeros(n, dtype=np.int8),
                          np.zeros(n_docs, dtype=bool), np.full(n_docs, -1, dtype=np.int64), {},
                          np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
                          np.empty(0, np.int64))

    step("grouping candidates", f"{n:,} paragraphs")
    labels, n_edges = (cluster or cluster_labels)(table, config)
    step("matching typos", "")
    typo_a, typo_b = typo_edges(table)
    if typo_a.shape[0]:
        # labels are numbered by smallest row, so components over them keep that numbering
        merged = component_labels(int(labels.max()) + 1, labels[typo_a], labels[typo_b])
        labels = merged[labels]
    step("splitting chains", "")
    labels, n_split = split_chained(table, labels)
    step("link lists", "")
    stripped, list_stats = confirm_link_lists(table, docs, labels, config.related_evidence)
    if stripped.any():
        # set apart: a link list's line counts toward no cluster's documents or sites
        labels = labels.copy()
        labels[stripped] = int(labels.max()) + 1 + np.arange(int(stripped.sum()))
        status[stripped] = STRIPPED
    n_labels = int(labels.max()) + 1
    step("boilerplate and keep policy", f"{n_labels:,} clusters")
    sizes = np.bincount(labels, minlength=n_labels)
    multi = sizes[labels] > 1

    # Distinct documents per cluster (a paragraph repeated inside one page counts once).
    doc_pairs = np.unique(labels[multi] * n_docs + table.doc[multi])
    docs_per_label = np.bincount(doc_pairs // n_docs, minlength=n_labels)
    site_of_row = docs.site[table.doc]
    # Where every copy has a site, count sites, not pages: a story syndicated
    # to many sites is content, while a site's own template is caught per site.
    unsited = np.bincount(labels[multi & (site_of_row < 0)], minlength=n_labels) > 0
    sited_pairs = np.unique(labels[multi & (site_of_row >= 0)] * max(docs.site_docs.shape[0], 1)
                            + site_of_row[multi & (site_of_row >= 0)])
    sites_per_label = np.bincount(sited_pairs // max(docs.site_docs.shape[0], 1), minlength=n_labels)
    lone = sizes == 1
    docs_per_label[lone] = 1
    sites_per_label[lone] = 1
    earlier_boiler = np.zeros(n_labels, dtype=bool)
    earlier_template = np.zeros(n_labels, dtype=bool)
    if table.earlier is not None:
        # counts carry across runs: an earlier row stands for its cluster's documents then
        past = table.earlier > 0
        docs_per_label += np.bincount(labels[past], weights=table.earlier_docs[past] - 1,
                                      minlength=n_labels).astype(np.int64)
        sites_per_label += np.bincount(labels[past], weights=table.earlier_sites[past] - 1,
                                       minlength=n_labels).astype(np.int64)
        earlier_boiler[labels[table.earlier == EARLIER_BOILERPLATE]] = True
        earlier_template[labels[table.earlier == EARLIER_TEMPLATE]] = True
    boiler_docs = np.where(unsited, docs_per_label >= config.boilerplate_docs,
                           sites_per_label >= config.boilerplate_sites) | earlier_boiler
    boiler_site = earlier_template.copy()
    with_site = multi & (site_of_row >= 0)
    site_copies = np.ones(n, dtype=np.int64)  # pages of the row's own site in its cluster
    if with_site.any() and docs.site_docs.shape[0]:
        (tri_label, tri_site, _), _ = _unique_rows(
            [labels[with_site], site_of_row[with_site], table.doc[with_site]]
        )
        (pair_label, pair_site), counts = _unique_rows([tri_label, tri_site])
        n_sites = docs.site_docs.shape[0]
        pair_key = pair_label * n_sites + pair_site  # sorted: _unique_rows sorts by label, then site
        if table.earlier is not None and table.earlier_site_copies is not None:
            past = np.flatnonzero((table.earlier > 0) & with_site)
            at = np.searchsorted(pair_key, labels[past] * n_sites + site_of_row[past])
            np.add.at(counts, at, table.earlier_site_copies[past] - 1)
        template = (counts >= config.site_min_docs) & (
            counts >= config.site_share * docs.site_docs[pair_site]
        )
        boiler_site[pair_label[template]] = True
        sited = np.flatnonzero(with_site)
        site_copies[sited] = counts[np.searchsorted(pair_key, labels[sited] * n_sites + site_of_row[sited])]
    boiler_label = (boiler_docs | boiler_site) & (sizes > 1)
    boiler_rows = boiler_label[labels]
    status[boiler_rows] = BOILERPLATE
    rule[boiler_rows & boiler_docs[labels]] = RULE_BOILERPLATE_DOCS
    rule[boiler_rows & ~boiler_docs[labels]] = RULE_SITE_TEMPLATE

    late = None
    if table.shape is not None:
        # placement once the corpus's boilerplate is known: a site's name above
        # every page's title no longer makes the title look like a list entry
        current = table.earlier == 0 if table.earlier is not None else np.ones(n, dtype=bool)
        live = current & (status != BOILERPLATE) & (status != STRIPPED)
        decided = placement(table.doc, table.shape, live)
        # a headline below the start of its page's text is a link to an article, not its title
        late = current & ((table.shape & HEADLINE) > 0) & ~ahead_of_text(table.doc, table.shape, live)
        table.listed = np.where(current, decided, table.listed if table.listed is not None else ELSEWHERE)
    keys = _policy_order(table, docs, config.keep, late)
    dup_rows = np.flatnonzero(multi & ~boiler_rows)
    label_ids, best = _first_per_label(labels, dup_rows, keys)
    canon_of_label = np.full(n_labels, -1, dtype=np.int64)
    canon_of_label[label_ids] = best
    canonical[dup_rows] = canon_of_label[labels[dup_rows]]
    is_dup = dup_rows[canonical[dup_rows] != dup_rows]
    status[is_dup] = DUPLICATE
    canonical[status != DUPLICATE] = -1

    # Paragraphs split, joined or spliced from earlier ones: every sentence seen before.
    step("sentences", "")
    coverage, pointer = _sentence_coverage(table, status, keys)
    sentence_rows = np.flatnonzero((status == KEPT) & (coverage >= config.sentence_coverage) & (pointer >= 0))
    status[sentence_rows] = DUPLICATE
    canonical[sentence_rows] = pointer[sentence_rows]

    # Duplicate documents: share of kept text among kept + duplicate text.
    step("duplicate documents", "")
    doc_dropped = _drop_documents(table, docs, status, config.min_kept)
    if config.novel_chars:
        doc_dropped &= ~_holds_novel_text(table, status, sizes[labels] == 1, config.novel_chars, doc_dropped)
    if docs.earlier is not None:
        doc_dropped &= ~docs.earlier  # published already
    # A paragraph kept out by its sentences stays if the copy it points at is gone.
    lost = sentence_rows[doc_dropped[table.doc[canonical[sentence_rows]]] & ~doc_dropped[table.doc[sentence_rows]]]
    status[lost] = KEPT
    canonical[lost] = -1
    sentence_rows = np.setdiff1d(sentence_rows, lost)

    # Re-elect canonical copies that sit in dropped documents.
    canon_rows = np.flatnonzero(canon_of_label >= 0)
    orphaned = canon_rows[doc_dropped[table.doc[canon_of_label[canon_rows]]]]
    if orphaned.shape[0]:
        affected = np.zeros(n_labels, dtype=bool)
        affected[orphaned] = True
        eligible = np.flatnonzero(affected[labels] & ~doc_dropped[table.doc] & (status != BOILERPLATE))
        new_labels, new_best = _first_per_label(labels, eligible, keys)
        canon_of_label[new_labels] = new_best
        members = np.flatnonzero(affected[labels] & (status != BOILERPLATE) & ~np.isin(np.arange(n), sentence_rows))
        canonical[members] = canon_of_label[labels[members]]
        status[members] = np.where(canonical[members] == members, KEPT, DUPLICATE)
        canonical[members[status[members] == KEPT]] = -1

    match = np.zeros(n, dtype=np.int8)
    dups = np.flatnonzero(status == DUPLICATE)
    similarity[:] = 1.0
    equal = table.exact[dups] == table.exact[canonical[dups]]
    match[dups] = np.where(equal, MATCH_EXACT, MATCH_MINHASH)
    match[sentence_rows] = MATCH_SENTENCES
    similarity[sentence_rows] = coverage[sentence_rows]
    # A copy joined to its kept copy by a one-typo edge (or, without a MinHash
    # on both sides, through one): one letter in the longer line's characters
    # is what it is known to differ by.
    unsigned = (table.sig_row[dups] < 0) | (table.sig_row[canonical[dups]] < 0)
    low, high = np.minimum(dups, canonical[dups]), np.maximum(dups, canonical[dups])
    direct = np.isin(low * n + high, typo_a * n + typo_b)
    typo = dups[~equal & (unsigned | direct) & (match[dups] == MATCH_MINHASH)]
    match[typo] = MATCH_TYPO
    similarity[typo] = 1.0 - 1.0 / np.maximum(np.maximum(table.length[typo], table.length[canonical[typo]]), 1)
    needs_estimate = dups[~equal & (match[dups] == MATCH_MINHASH)]
    if needs_estimate.shape[0]:
        similarity[needs_estimate] = estimate_similarity(
            _store(table), table.sig_row[needs_estimate], table.sig_row[canonical[needs_estimate]]
        )
    doc_kept_ref = _kept_reference(table, canonical, doc_dropped)

    stats = {
        "clusters": int((sizes > 1).sum()),
        "clusters_boilerplate": int(boiler_label.sum()),
        "clusters_duplicate": int(((sizes > 1) & ~boiler_label).sum()),
        "largest_cluster_paragraphs": int(sizes.max()),
        "largest_duplicate_cluster_paragraphs": int(sizes[(sizes > 1) & ~boiler_label].max(initial=0)),
        "candidate_edges": n_edges,
    }
    stats["duplicates_by_sentences"] = int(sentence_rows.shape[0])
    stats["clusters_split"] = n_split
    stats["typo_edges"] = int(typo_a.shape[0])
    stats.update(list_stats)
    return Resolution(status, canonical, similarity, rule, match, doc_dropped, doc_kept_ref, stats,
                      labels, docs_per_label, np.maximum(sites_per_label, 1), site_copies)


def _ranks(keys: list[np.ndarray]) -> np.ndarray:
    """Position of every row in keep-policy order (0 = preferred)."""
    order = np.lexsort(keys)
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    return rank


def _sentence_coverage(
    table: ParagraphTable, status: np.ndarray, keys: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """For every row: the share of its characters in sentences that a kept row
    ranked before it already has, and that row (the one covering most)."""
    n = table.size
    coverage = np.zeros(n, dtype=np.float32)
    pointer = np.full(n, -1, dtype=np.int64)
    if table.sent_row is None or table.sent_row.shape[0] == 0:
        return coverage, pointer
    rank = _ranks(keys)
    rows, hashes, lengths = table.sent_row, table.sent_hash, table.sent_len
    kept = status[rows] == KEPT
    # first kept holder of every sentence, by rank
    order = np.lexsort([rank[rows[kept]], hashes[kept]])
    k_hash, k_row = hashes[kept][order], rows[kept][order]
    starts = _group_starts(k_hash)
    first_hash, first_row = k_hash[starts], k_row[starts]
    pos = np.searchsorted(first_hash, hashes)
    pos = np.minimum(pos, max(first_hash.shape[0] - 1, 0))
    found = (first_hash.shape[0] > 0) & (first_hash[pos] == hashes) if first_hash.shape[0] else np.zeros(rows.shape[0], bool)
    holder = np.where(found, first_row[pos] if first_hash.shape[0] else -1, -1)
    covered = (holder >= 0) & (holder != rows) & (rank[np.maximum(holder, 0)] < rank[rows])
    covered &= table.doc[np.maximum(holder, 0)] != table.doc[rows]  # another document
    covered_chars = np.bincount(rows, weights=np.where(covered, lengths, 0), minlength=n)
    coverage[:] = np.minimum(covered_chars / np.maximum(table.length, 1), 1.0)
    if covered.any():
        (row_ids, holders), counts = _unique_rows([rows[covered], holder[covered]])
        weights = np.bincount(np.arange(row_ids.shape[0]), weights=counts)
        order = np.lexsort([holders, -weights, row_ids])
        firsts = _group_starts(row_ids[order])
        pointer[row_ids[order][firsts]] = holders[order][firsts]
    return coverage, pointer


def _drop_documents(table: ParagraphTable, docs: DocumentTable, status: np.ndarray, min_kept: float) -> np.ndarray:
    n_docs = docs.chars.shape[0]
    length = table.length.astype(np.float64)
    dup_chars = np.bincount(table.doc, weights=np.where(status == DUPLICATE, length, 0.0), minlength=n_docs)
    # link-list lines the corpus confirmed are chrome, out of the document's text like any other
    gone = (status == BOILERPLATE) | (status == STRIPPED)
    boiler_chars = np.bincount(table.doc, weights=np.where(gone, length, 0.0), minlength=n_docs)
    kept_chars = docs.chars - dup_chars - boiler_chars
    judged = kept_chars + dup_chars
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(judged > 0, kept_chars / np.where(judged > 0, judged, 1.0), 1.0)
    return (dup_chars > 0) & (share < min_kept)


def _holds_novel_text(
    table: ParagraphTable, status: np.ndarray, alone: np.ndarray, min_chars: int, doc_dropped: np.ndarray
) -> np.ndarray:
    """Per document: does it keep a paragraph of ``min_chars``+ found nowhere else?

    Found nowhere else: in no cluster (``alone``), and none of its sentences
    occurs in another document. A mostly-duplicate repost that adds a
    paragraph of its own (a blogger's introduction) is then not dropped, as
    that paragraph has no other copy; an edited copy that escaped matching
    almost always shares a sentence with its source, so it does not count.
    Only documents about to be dropped are asked, and the corpus's sentences
    are scanned in blocks for theirs: memory stays that of the few candidates.
    """
    novel = (status == KEPT) & alone & (table.length >= min_chars) & doc_dropped[table.doc]
    mine = novel[table.sent_row] if novel.any() and table.sent_row is not None else np.zeros(0, bool)
    if mine.any():
        wanted = np.unique(table.sent_hash[mine])
        # every (sentence, document) pair among the corpus's sentences with a wanted hash
        found_hash, found_doc = [], []
        for start in range(0, table.sent_hash.shape[0], _SCAN_SENTENCES):
            hashes = table.sent_hash[start : start + _SCAN_SENTENCES]
            at = np.minimum(np.searchsorted(wanted, hashes), wanted.shape[0] - 1)
            hit = wanted[at] == hashes
            found_hash.append(hashes[hit])
            found_doc.append(table.doc[table.sent_row[start : start + _SCAN_SENTENCES][hit]])
        pairs = np.unique(np.stack([np.concatenate(found_hash).view(np.int64), np.concatenate(found_doc)]), axis=1)
        hashes, docs_with = np.unique(pairs[0], return_counts=True)
        shared = hashes[docs_with >= 2].view(np.uint64)
        rows = table.sent_row[mine]
        novel[rows[np.isin(table.sent_hash[mine], shared)]] = False
    return np.bincount(table.doc[novel], minlength=doc_dropped.shape[0]) > 0


def _kept_reference(table: ParagraphTable, canonical: np.ndarray, doc_dropped: np.ndarray) -> np.ndarray:
    """For each dropped document, the document that holds most of its duplicates' kept copies."""
    n_docs = doc_dropped.shape[0]
    ref = np.full(n_docs, -1, dtype=np.int64)
    rows = np.flatnonzero((canonical >= 0) & doc_dropped[table.doc])
    if rows.shape[0] == 0:
        return ref
    pairs, counts = np.unique(table.doc[rows] * n_docs + table.doc[canonical[rows]], return_counts=True)
    doc, other = pairs // n_docs, pairs % n_docs
    order = np.lexsort([other, -counts, doc])
    starts = _group_starts(doc[order])
    ref[doc[order][starts]] = other[order][starts]
    return ref
