"""Corpus-wide resolution: candidate pairs -> clusters -> boilerplate or keep policy.

This is the only step that sees the whole corpus, and it sees only numbers:
one row per fingerprinted paragraph (document, paragraph index, exact,
identifier and template hashes, length, MinHash signature and band keys), in
input order.

1. **Candidates**: rows with equal exact hashes, and rows sharing an LSH band
   key. Groups are found by sorting, never with per-paragraph Python objects.
   Inside a group each row is paired with the group's first row and with its
   predecessor, so a group of k rows costs O(k) pairs.
2. **Verification**: a band candidate is an edge only if its estimated Jaccard
   similarity (equal signature slots) reaches the threshold and both rows
   have the same identifiers.
3. **Clusters**: connected components of the edges (scipy): the unit of work,
   not a verdict. A chain of near copies A~B~C joins A and C however unlike.
4. **Boilerplate**: a cluster spanning ``boilerplate_docs`` documents
   (``boilerplate_sites`` sites when every copy has a URL), or ``site_share``
   of one site's pages, is boilerplate and every copy goes; so is a template
   family (lines equal but for their values) spanning as many.
5. **Kept copies**: in each cluster, rows are ranked by the keep policy and
   kept rows are elected in rounds (:func:`elect`): the best-ranked row not
   yet assigned is kept and every unassigned row directly similar to it (the
   edge rules, checked pair by pair against it) is its duplicate. A duplicate
   therefore always names a kept row it is itself similar to, with the
   similarity of that pair.
6. **Duplicate documents**: a document keeping less than ``min_kept`` of its
   non-boilerplate text is dropped, unless it keeps a paragraph of
   ``novel_chars`` or more that has no copy and shares no sentence with
   another document (text found nowhere else). Copies whose kept row was in a
   dropped document follow another kept row they are similar to, or are
   kept, so every named kept copy is in the output.
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

#: Boilerplate rule codes and the names the removal record shows: a paragraph
#: and its copies on many documents (sites) or much of one site, or a template
#: family (lines equal but for their values: numbers, ids, dates, names with
#: addresses) on as many.
RULE_NONE = 0
RULE_BOILERPLATE_DOCS = 1
RULE_SITE_TEMPLATE = 2
RULE_TEMPLATED_DOCS = 3
RULE_TEMPLATED_SITE = 4
RULE_NAMES = {RULE_BOILERPLATE_DOCS: "boilerplate-docs", RULE_SITE_TEMPLATE: "site-template",
              RULE_TEMPLATED_DOCS: "templated-docs", RULE_TEMPLATED_SITE: "templated-site"}

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
    # uint64[n] hash of the row's identifiers (0: none), which every copy must share
    # (pipeline.exact_key): lines that differ in an id, a version or a date are different lines
    ident: np.ndarray | None = None
    # uint64[n] hash of the row's template key (its values masked), or its exact hash
    # for a line without values: the rows of a template family share it
    template: np.ndarray | None = None
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
    earlier_families: EarlierFamilies | None = None  # template families' pages in earlier runs

    @property
    def size(self) -> int:
        return int(self.doc.shape[0])


@dataclass(slots=True)
class EarlierFamilies:
    """Pages of template families in earlier runs, per (family, site), sorted by family."""

    template: np.ndarray  # uint64[f] template hash
    site: np.ndarray  # int64[f] site index (-1: pages without a url)
    pages: np.ndarray  # int64[f] pages of that site holding a line of the family
    rule: np.ndarray  # int8[f] boilerplate rule the family had (RULE_NONE if it had none)


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
    # the group every row was counted in for boilerplate: its star, a paragraph and its direct copies
    labels: np.ndarray | None = None  # int64[n]
    label_docs: np.ndarray | None = None  # int64[groups] documents a group spans (earlier runs included)
    label_sites: np.ndarray | None = None  # int64[groups] sites a group spans (earlier runs included)
    site_copies: np.ndarray | None = None  # int64[n] pages of the row's own site in its group
    # int8[n] boilerplate rule of the row's template family (the row itself may be kept: see resolve)
    family_rule: np.ndarray | None = None


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
    """Edges between rows with equal exact hashes (each once, as (later row, earlier row)).

    Rows are paired inside each group of equal exact hashes, and again
    inside each group of equal exact hash and text: inside one page only the
    very same text is a copy, so a line repeated on a page whose group's
    first row and its own predecessor are other texts of that page would be
    left out by the first pairing alone (and joined once a clean output no
    longer held them).

    >>> t = ParagraphTable(doc=np.array([0, 1, 1, 1]), para=np.array([0, 0, 1, 2], np.int32),
    ...                    exact=np.array([7, 7, 7, 7], np.uint64), length=np.array([80, 80, 80, 80]),
    ...                    sig_row=np.full(4, -1), signatures=np.zeros((0, 4), np.uint32), rows=2,
    ...                    text_hash=np.array([1, 2, 3, 2], np.uint64))
    >>> sorted(zip(*[side.tolist() for side in exact_edges(t)]))
    [(1, 0), (2, 0), (3, 0), (3, 1)]
    """
    n = table.size
    rows = np.arange(n, dtype=np.int64)
    order = np.argsort(table.exact, kind="stable")
    starts = _group_starts(table.exact[order])
    a, b = sorted_group_pairs(starts, order)
    if table.text_hash is not None and n > 1:
        # Every pair is (row, an earlier row), and a row's partners in the first
        # pairing are its group's first row and its predecessor: pairs of the
        # second one with another partner are new, so every edge comes once.
        first_of = np.empty(n, dtype=np.int64)
        first_of[order] = order[np.maximum.accumulate(np.where(starts, np.arange(n), 0))]
        pred_of = np.full(n, -1, dtype=np.int64)
        pred_of[order[1:]] = np.where(starts[1:], -1, order[:-1])
        by_text = np.lexsort((rows, table.text_hash, table.exact))
        runs = _group_starts(table.exact[by_text]) | _group_starts(table.text_hash[by_text])
        more_a, more_b = sorted_group_pairs(runs, by_text)
        fresh = (more_b != first_of[more_a]) & (more_b != pred_of[more_a])
        a, b = np.concatenate([a, more_a[fresh]]), np.concatenate([b, more_b[fresh]])
    keep = _across_documents(table, a, b)
    return a[keep], b[keep]


def band_edges(
    table: ParagraphTable, a: np.ndarray, b: np.ndarray, threshold: float,
    short_length: int = 0, short_threshold: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The band candidates ``(a[i], b[i])`` that are edges: different text, similar signatures.

    Pairs with equal exact hashes are left to :func:`exact_edges`; pairs inside
    one page must be the very same text (see ``_across_documents``), and both
    rows must have the same identifiers (``ParagraphTable.ident``). The rule
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
    keep = (table.exact[a] != table.exact[b]) & _same_identifiers(table, a, b) & _across_documents(table, a, b)
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
    keep = close & (table.exact[a] != table.exact[b]) & _same_identifiers(table, a, b) & _across_documents(table, a, b)
    edges = _EdgeSet(table.size)
    edges.add(a[keep], b[keep])
    return edges.pairs()


_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.int64)


#: Leader rounds per component before the rows still unassigned are matched by
#: exact key only: bounds the work on a component of thousands of different
#: lines chained by near copies (each round elects one kept row per component).
ELECT_ROUNDS = 64
#: Leader rounds of that exact-key fallback (rows of one key differ only where
#: two lines of one page share it).
EXACT_ROUNDS = 8
#: Kept rows of its component a copy is checked against, best ranked first,
#: when the copy it was matched to is gone (its document was dropped, or it
#: was itself found to repeat other paragraphs' sentences).
REPAIR_LEADERS = 64


class _Matcher:
    """Whether row pairs are directly similar, how (``MATCH_*``) and how much.

    The rules of the candidate edges, applied to any pair: the same exact key,
    or an estimated Jaccard similarity at the threshold (the short threshold
    for a short line), or one typo apart; always with equal identifiers, and
    inside one page only for the very same text.
    """

    def __init__(self, table: ParagraphTable, config: DedupConfig) -> None:
        self.table = table
        self.threshold = config.threshold
        self.short_chars = config.short_chars
        self.short_threshold = max(config.threshold, config.short_threshold)
        self.checked = 0
        self.typo_count: np.ndarray | None = None
        if table.typo_row is not None and table.typo_row.shape[0]:
            order = np.argsort(table.typo_row, kind="stable")
            rows = table.typo_row[order]
            self.typo_hash = table.typo_hash[order]
            self.typo_letters = table.typo_letters[order]
            self.typo_len = table.typo_len[order].astype(np.int64)
            every = np.arange(table.size)
            self.typo_start = np.searchsorted(rows, every)
            self.typo_count = np.searchsorted(rows, every, side="right") - self.typo_start

    def match(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(MATCH_* or 0, similarity) of every pair ``(a[i], b[i])``."""
        t = self.table
        self.checked += a.shape[0]
        kind = np.zeros(a.shape[0], dtype=np.int8)
        similarity = np.zeros(a.shape[0], dtype=np.float32)
        allowed = _same_identifiers(t, a, b) & _across_documents(t, a, b)
        exact = allowed & (t.exact[a] == t.exact[b])
        kind[exact] = MATCH_EXACT
        similarity[exact] = 1.0
        signed = np.flatnonzero(allowed & ~exact & (t.sig_row[a] >= 0) & (t.sig_row[b] >= 0))
        if signed.shape[0]:
            pa, pb = a[signed], b[signed]
            estimate = estimate_similarity(_store(t), t.sig_row[pa], t.sig_row[pb])
            short = np.minimum(t.length[pa], t.length[pb]) < self.short_chars
            similar = estimate >= np.where(short, self.short_threshold, self.threshold)
            kind[signed[similar]] = MATCH_MINHASH
            similarity[signed[similar]] = estimate[similar]
        if self.typo_count is not None:
            rest = np.flatnonzero(allowed & (kind == 0) & (self.typo_count[a] > 0) & (self.typo_count[b] > 0))
            if rest.shape[0]:
                hit = rest[self._one_typo_apart(a[rest], b[rest])]
                kind[hit] = MATCH_TYPO
                # one letter in the longer line's characters is what they are known to differ by
                similarity[hit] = 1.0 - 1.0 / np.maximum(np.maximum(t.length[a[hit]], t.length[b[hit]]), 1)
        return kind, similarity

    def _one_typo_apart(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pairs sharing a typo key whose differing words are a typo apart (see :func:`typo_edges`)."""
        out = np.zeros(a.shape[0], dtype=bool)
        count_a, count_b = self.typo_count[a], self.typo_count[b]  # type: ignore[index]
        step = max(_VERIFY_PAIRS // 64, 1)
        for lo in range(0, a.shape[0], step):
            ca, cb = count_a[lo : lo + step], count_b[lo : lo + step]
            per = ca * cb
            pair = np.repeat(np.arange(ca.shape[0]), per)
            offset = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
            ka = self.typo_start[a[lo : lo + step]][pair] + offset // cb[pair]
            kb = self.typo_start[b[lo : lo + step]][pair] + offset % cb[pair]
            letters = self.typo_letters[ka] ^ self.typo_letters[kb]
            differ = np.zeros(letters.shape[0], dtype=np.int64)
            for shift in range(0, 64, 8):
                differ += _POPCOUNT[((letters >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
            close = ((self.typo_hash[ka] == self.typo_hash[kb]) & (differ <= 2)
                     & (np.abs(self.typo_len[ka] - self.typo_len[kb]) <= 1))
            out[lo + pair[close]] = True
        return out


@dataclass(slots=True)
class _Election:
    """Outcome of leader rounds over some rows: the kept row each follows (-1: kept), how, how much."""

    canonical: np.ndarray  # int64[m]
    match: np.ndarray  # int8[m]
    similarity: np.ndarray  # float32[m]
    rounds: int = 0
    unverified: int = 0  # rows kept after the rounds ran out, checked against their exact copies only


def elect(
    matcher: _Matcher, rows: np.ndarray, group: np.ndarray, rank: np.ndarray,
    can_lead: np.ndarray | None = None, never_follow: np.ndarray | None = None,
) -> _Election:
    """Keep the best-ranked row of each group; its direct copies follow it; repeat with the rest.

    ``group[i]`` is the component of ``rows[i]``. In a round, each group's
    best-ranked unassigned row that ``can_lead`` is kept, every other
    unassigned row of the group is checked against it directly (all groups'
    pairs in one vectorised call), and the rows that match become its
    duplicates. Kept rows of a group are therefore never similar to one
    another, and no row follows a kept row it is not itself similar to. Rows
    that ``never_follow`` (published by an earlier run) are only ever kept.
    After :data:`ELECT_ROUNDS` the rows left are regrouped by exact key for
    :data:`EXACT_ROUNDS` more; whatever is still unassigned is kept.

    A chain A~B~C with A and C dissimilar keeps A and C:

    >>> sigs = np.array([[1, 1, 1, 1], [1, 1, 1, 2], [1, 1, 2, 2]], np.uint32)
    >>> t = ParagraphTable(doc=np.arange(3), para=np.zeros(3, np.int32), exact=np.arange(3, dtype=np.uint64),
    ...                    length=np.full(3, 80), sig_row=np.arange(3), signatures=sigs, rows=2)
    >>> e = elect(_Matcher(t, DedupConfig(threshold=0.75)), np.arange(3), np.zeros(3, np.int64), np.arange(3))
    >>> e.canonical.tolist(), e.similarity.tolist()
    ([-1, 0, -1], [1.0, 0.75, 1.0])
    """
    m = rows.shape[0]
    out = _Election(np.full(m, -1, dtype=np.int64), np.zeros(m, dtype=np.int8), np.ones(m, dtype=np.float32))
    n = matcher.table.size
    lead = np.ones(n, dtype=bool) if can_lead is None else can_lead
    stay = np.zeros(n, dtype=bool) if never_follow is None else never_follow
    active = np.lexsort((rank[rows], group))  # positions in rows, by group then rank
    unchecked = active[:0]
    for fallback, rounds in ((False, ELECT_ROUNDS), (True, EXACT_ROUNDS)):
        if fallback and active.shape[0]:
            unchecked = active.copy()  # rows the rounds left: they meet only their exact copies now
            # regroup what is left by exact key: copies of one text still go together
            pair = np.stack([group[active], matcher.table.exact[rows[active]].view(np.int64)])
            _, regroup = np.unique(pair, axis=1, return_inverse=True)
            order = np.lexsort((rank[rows[active]], regroup.ravel()))
            active, groups = active[order], regroup.ravel()[order]
        else:
            groups = group[active]
        done = 0
        while active.shape[0] and done < rounds:
            done += 1
            at = np.arange(active.shape[0])
            starts = np.flatnonzero(_group_starts(groups))
            which = np.cumsum(_group_starts(groups)) - 1
            candidates = np.where(lead[rows[active]], at, active.shape[0])
            leader = np.minimum.reduceat(candidates, starts)[which]
            led = leader < active.shape[0]
            follows = np.flatnonzero(led & (at != leader) & ~stay[rows[active]])
            kind, similarity = matcher.match(rows[active[follows]], rows[active[leader[follows]]])
            hit = follows[kind > 0]
            out.canonical[active[hit]] = rows[active[leader[hit]]]
            out.match[active[hit]] = kind[kind > 0]
            out.similarity[active[hit]] = similarity[kind > 0]
            left = led & (at != leader)
            left[hit] = False
            active, groups = active[left], groups[left]
        out.rounds += done
    out.unverified = int((out.canonical[unchecked] < 0).sum())
    return out


def _reassign(
    matcher: _Matcher, orphans: np.ndarray, labels: np.ndarray, rank: np.ndarray, leaders: np.ndarray,
    can_lead: np.ndarray, never_follow: np.ndarray,
) -> _Election:
    """New kept copies for rows whose kept copy is gone.

    Each orphan is checked against the kept rows (``leaders``, bool[n]) of its
    component, best ranked first (at most :data:`REPAIR_LEADERS`), and follows
    the first it matches; the others elect kept rows among themselves
    (:func:`elect`, only rows that ``can_lead`` are kept), and an orphan that
    matches none is kept.
    """
    n_orphans = orphans.shape[0]
    out = _Election(np.full(n_orphans, -1, dtype=np.int64), np.zeros(n_orphans, dtype=np.int8),
                    np.ones(n_orphans, dtype=np.float32))
    if n_orphans == 0:
        return out
    wanted = np.zeros(int(labels.max()) + 1, dtype=bool)
    wanted[labels[orphans]] = True
    pool = np.flatnonzero(leaders & wanted[labels])
    pool = pool[np.lexsort((rank[pool], labels[pool]))]
    pool_labels = labels[pool]
    first = np.searchsorted(pool_labels, labels[orphans])
    count = np.minimum(np.searchsorted(pool_labels, labels[orphans], side="right") - first, REPAIR_LEADERS)
    step = max(_VERIFY_PAIRS // REPAIR_LEADERS, 1)
    for lo in range(0, n_orphans, step):
        reps = count[lo : lo + step]
        which = np.repeat(np.arange(lo, lo + reps.shape[0]), reps)
        offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        leader = pool[np.repeat(first[lo : lo + step], reps) + offset]
        kind, similarity = matcher.match(orphans[which], leader)
        hit = np.flatnonzero(kind > 0)
        # pairs run by orphan, then by the leader's rank: an orphan's first hit is its best-ranked match
        _, firsts = np.unique(which[hit], return_index=True)
        hit = hit[firsts]
        out.canonical[which[hit]] = leader[hit]
        out.match[which[hit]] = kind[hit]
        out.similarity[which[hit]] = similarity[hit]
    rest = np.flatnonzero(out.canonical < 0)
    if rest.shape[0]:
        again = elect(matcher, orphans[rest], labels[orphans[rest]], rank, can_lead, never_follow)
        out.canonical[rest] = again.canonical
        out.match[rest] = again.match
        out.similarity[rest] = again.similarity
        out.rounds, out.unverified = again.rounds, again.unverified
    return out

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


def _same_identifiers(table: ParagraphTable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs whose identifiers are equal: a CVE id, a version or a date apart is another line."""
    if table.ident is None:
        return np.ones(a.shape[0], dtype=bool)
    return table.ident[a] == table.ident[b]


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
    match = np.zeros(n, dtype=np.int8)
    rule = np.zeros(n, dtype=np.int8)
    if n == 0:
        return Resolution(status, canonical, similarity, rule, match,
                          np.zeros(n_docs, dtype=bool), np.full(n_docs, -1, dtype=np.int64), {},
                          np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64),
                          np.empty(0, np.int64), np.empty(0, np.int8))

    step("grouping candidates", f"{n:,} paragraphs")
    labels, n_edges = (cluster or cluster_labels)(table, config)
    step("matching typos", "")
    typo_a, typo_b = typo_edges(table)
    if typo_a.shape[0]:
        # labels are numbered by smallest row, so components over them keep that numbering
        merged = component_labels(int(labels.max()) + 1, labels[typo_a], labels[typo_b])
        labels = merged[labels]
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
    matcher = _Matcher(table, config)
    published = table.earlier > 0 if table.earlier is not None else np.zeros(n, dtype=bool)

    # Boilerplate: a paragraph and its direct copies (its star: elected in input
    # order, earlier runs first) on many documents or sites, or on much of one
    # site; a chain of different lines is no paragraph repeated.
    rows = np.flatnonzero(multi & (status != STRIPPED))
    stars = elect(matcher, rows, labels[rows], _ranks([np.arange(n), (~published).astype(np.int8)]),
                  never_follow=published)
    star = np.arange(n, dtype=np.int64)
    star[rows] = np.where(stars.canonical >= 0, stars.canonical, rows)
    _, star = np.unique(star, return_inverse=True)  # numbered by each star's smallest row
    star = star.ravel().astype(np.int64)
    spans = _spans(table, docs, config, star)
    family_rule = template_families(table, docs, config, status != STRIPPED)
    templated = (family_rule != RULE_NONE) & ~spans.boilerplate[star]
    if templated.any():
        # a template is what a page prints around its content: a templated line
        # that is all a document holds ("tiny 7", a product title) is its content
        other = np.bincount(table.doc, weights=(status == KEPT) & ~templated & ~spans.boilerplate[star],
                            minlength=n_docs)
        templated &= other[table.doc] > 0
    boiler_rows = spans.boilerplate[star] | templated
    status[boiler_rows] = BOILERPLATE
    rule[boiler_rows] = np.where(
        spans.boilerplate[star[boiler_rows]],
        np.where(spans.across[star[boiler_rows]], RULE_BOILERPLATE_DOCS, RULE_SITE_TEMPLATE),
        family_rule[boiler_rows])

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
    rank = _ranks(_policy_order(table, docs, config.keep, late))

    # Kept rows by the keep policy; a duplicate only of a kept row it is itself similar to.
    rows = np.flatnonzero(multi & (status == KEPT))
    step("electing kept copies", f"{rows.shape[0]:,} rows in clusters")
    election = elect(matcher, rows, labels[rows], rank, never_follow=published)
    _follow(status, canonical, match, similarity, rows, election)
    rounds, unverified = stars.rounds + election.rounds, stars.unverified + election.unverified

    step("sentences", "")
    # Paragraphs split, joined or spliced from earlier ones: every sentence seen
    # before, in kept paragraphs that stay kept.
    covered, coverage, pointer = _settle_sentences(table, (status == KEPT) & ~published, status == KEPT, rank,
                                                   config.sentence_coverage)
    _cover(status, canonical, match, similarity, covered, coverage, pointer)
    # copies of a kept row that turned out to be covered need a kept copy of their own
    orphans = np.flatnonzero((status == DUPLICATE) & (match != MATCH_SENTENCES) & _gone(status, canonical))
    if orphans.shape[0]:
        repaired = _repair(matcher, table, status, canonical, match, similarity, orphans, labels, rank,
                           np.ones(n, dtype=bool), published, config.sentence_coverage)
        rounds, unverified = rounds + repaired.rounds, unverified + repaired.unverified

    # Duplicate documents: share of kept text among kept + duplicate text.
    step("duplicate documents", "")
    doc_dropped = _drop_documents(table, docs, status, config.min_kept)
    if config.novel_chars:
        doc_dropped &= ~_holds_novel_text(table, status, sizes[labels] == 1, config.novel_chars, doc_dropped)
    if docs.earlier is not None:
        doc_dropped &= ~docs.earlier  # published already

    # Every named kept copy must be in the output: re-point copies of rows in dropped documents.
    alive = ~doc_dropped[table.doc]
    orphans = np.flatnonzero((status == DUPLICATE) & (match != MATCH_SENTENCES) & ~alive[np.maximum(canonical, 0)])
    if orphans.shape[0]:
        repaired = _repair(matcher, table, status, canonical, match, similarity, orphans, labels, rank,
                           alive, published, config.sentence_coverage)
        rounds, unverified = rounds + repaired.rounds, unverified + repaired.unverified
    sentence_rows = np.flatnonzero((status == DUPLICATE) & (match == MATCH_SENTENCES))
    if sentence_rows.shape[0] and doc_dropped.any():
        # a paragraph kept out by its sentences stays only while kept text in the output holds them
        still = np.zeros(n, dtype=bool)
        still[sentence_rows] = True
        holders = (status == KEPT) & alive
        still, coverage, pointer = _settle_sentences(table, still, holders, rank, config.sentence_coverage)
        lost = sentence_rows[~still[sentence_rows]]
        status[lost], canonical[lost], match[lost], similarity[lost] = KEPT, -1, 0, 1.0
        kept_on = sentence_rows[still[sentence_rows]]
        canonical[kept_on], similarity[kept_on] = pointer[kept_on], coverage[kept_on]
    _prefer_exact(table, status, canonical, match, similarity, alive)
    similarity[status != DUPLICATE] = 1.0
    doc_kept_ref = _kept_reference(table, canonical, doc_dropped)

    boiler_label = np.zeros(n_labels, dtype=bool)
    boiler_label[labels[status == BOILERPLATE]] = True
    stats = {
        "clusters": int((sizes > 1).sum()),
        "clusters_boilerplate": int((boiler_label & (sizes > 1)).sum()),
        "clusters_duplicate": int(((sizes > 1) & ~boiler_label).sum()),
        "largest_cluster_paragraphs": int(sizes.max()),
        "largest_duplicate_cluster_paragraphs": int(sizes[(sizes > 1) & ~boiler_label].max(initial=0)),
        "candidate_edges": n_edges,
        "duplicates_by_sentences": int(((status == DUPLICATE) & (match == MATCH_SENTENCES)).sum()),
        "typo_edges": int(typo_a.shape[0]),
        "templated_rows": int(((status == BOILERPLATE) & (rule >= RULE_TEMPLATED_DOCS)).sum()),
        "leader_rounds": rounds,
        "pairs_verified": matcher.checked,
        "rows_kept_unverified": unverified,
    }
    stats.update(list_stats)
    return Resolution(status, canonical, similarity, rule, match, doc_dropped, doc_kept_ref, stats,
                      star, spans.docs, np.maximum(spans.sites, 1), spans.site_copies, family_rule)


@dataclass(slots=True)
class _Spans:
    """Documents and sites each group of rows spans, and which groups are boilerplate."""

    docs: np.ndarray  # int64[groups] documents (earlier runs included)
    sites: np.ndarray  # int64[groups] sites (earlier runs included)
    site_copies: np.ndarray  # int64[n] pages of the row's own site in its group
    across: np.ndarray  # bool[groups] on boilerplate_docs documents (boilerplate_sites sites)
    boilerplate: np.ndarray  # bool[groups] across, or on site_share of one site's pages


def _spans(table: ParagraphTable, docs: DocumentTable, config: DedupConfig, group: np.ndarray) -> _Spans:
    """Count, per group of rows (``group[i]``, numbered from 0), the documents, sites and
    pages of each site it spans, with earlier runs' counts, and apply the boilerplate rules."""
    n, n_docs = table.size, docs.chars.shape[0]
    n_groups = int(group.max()) + 1
    sizes = np.bincount(group, minlength=n_groups)
    multi = sizes[group] > 1
    # Distinct documents per group (a paragraph repeated inside one page counts once).
    doc_pairs = np.unique(group[multi] * n_docs + table.doc[multi])
    docs_per = np.bincount(doc_pairs // n_docs, minlength=n_groups)
    site_of_row = docs.site[table.doc]
    # Where every copy has a site, count sites, not pages: a story syndicated
    # to many sites is content, while a site's own template is caught per site.
    unsited = np.bincount(group[multi & (site_of_row < 0)], minlength=n_groups) > 0
    n_sites = max(docs.site_docs.shape[0], 1)
    sited_pairs = np.unique(group[multi & (site_of_row >= 0)] * n_sites + site_of_row[multi & (site_of_row >= 0)])
    sites_per = np.bincount(sited_pairs // n_sites, minlength=n_groups)
    lone = sizes == 1
    docs_per[lone] = 1
    sites_per[lone] = 1
    earlier_boiler = np.zeros(n_groups, dtype=bool)
    earlier_template = np.zeros(n_groups, dtype=bool)
    if table.earlier is not None and table.earlier_docs is not None and table.earlier_sites is not None:
        # counts carry across runs: an earlier row stands for its group's documents then
        past = table.earlier > 0
        docs_per += np.bincount(group[past], weights=table.earlier_docs[past] - 1,
                                minlength=n_groups).astype(np.int64)
        sites_per += np.bincount(group[past], weights=table.earlier_sites[past] - 1,
                                 minlength=n_groups).astype(np.int64)
        earlier_boiler[group[table.earlier == EARLIER_BOILERPLATE]] = True
        earlier_template[group[table.earlier == EARLIER_TEMPLATE]] = True
    across = np.where(unsited, docs_per >= config.boilerplate_docs, sites_per >= config.boilerplate_sites) \
        | earlier_boiler
    on_site = earlier_template.copy()
    with_site = multi & (site_of_row >= 0)
    site_copies = np.ones(n, dtype=np.int64)
    if with_site.any() and docs.site_docs.shape[0]:
        (tri_group, tri_site, _), _ = _unique_rows([group[with_site], site_of_row[with_site], table.doc[with_site]])
        (pair_group, pair_site), counts = _unique_rows([tri_group, tri_site])
        pair_key = pair_group * n_sites + pair_site  # sorted: _unique_rows sorts by group, then site
        if table.earlier is not None and table.earlier_site_copies is not None:
            sited_past = np.flatnonzero((table.earlier > 0) & with_site)
            at = np.searchsorted(pair_key, group[sited_past] * n_sites + site_of_row[sited_past])
            np.add.at(counts, at, table.earlier_site_copies[sited_past] - 1)
        template = (counts >= config.site_min_docs) & (counts >= config.site_share * docs.site_docs[pair_site])
        on_site[pair_group[template]] = True
        sited = np.flatnonzero(with_site)
        site_copies[sited] = counts[np.searchsorted(pair_key, group[sited] * n_sites + site_of_row[sited])]
    boilerplate = (across | on_site) & (sizes > 1)
    return _Spans(docs_per, sites_per, site_copies, across & boilerplate, boilerplate)


def _follow(status: np.ndarray, canonical: np.ndarray, match: np.ndarray, similarity: np.ndarray,
            rows: np.ndarray, election: _Election) -> None:
    """Record an election's outcome for ``rows``: followers are duplicates of their kept row."""
    follows = election.canonical >= 0
    status[rows] = np.where(follows, DUPLICATE, KEPT)
    canonical[rows] = election.canonical
    match[rows] = election.match
    similarity[rows] = np.where(follows, election.similarity, 1.0)


def _prefer_exact(table: ParagraphTable, status: np.ndarray, canonical: np.ndarray, match: np.ndarray,
                  similarity: np.ndarray, alive: np.ndarray) -> None:
    """Point a near copy at a kept row of its very key where there is one.

    A round keeps one row and takes every row similar to it: a repost's copy
    of an article's second list item follows the first item, which it is
    near, although the second item is kept too, in a later round. Its exact
    copy is the better name.
    """
    near = np.flatnonzero((status == DUPLICATE) & ((match == MATCH_MINHASH) | (match == MATCH_TYPO)))
    kept = np.flatnonzero((status == KEPT) & alive)
    if near.shape[0] == 0 or kept.shape[0] == 0:
        return
    kept = kept[np.argsort(table.exact[kept], kind="stable")]  # by key, then row
    keys = table.exact[kept]
    at = np.minimum(np.searchsorted(keys, table.exact[near]), keys.shape[0] - 1)
    same = (keys[at] == table.exact[near]) & _across_documents(table, near, kept[at])
    moved = near[same]
    canonical[moved], match[moved], similarity[moved] = kept[at[same]], MATCH_EXACT, 1.0


def _gone(status: np.ndarray, canonical: np.ndarray) -> np.ndarray:
    """Rows whose named kept copy is no longer kept."""
    return status[np.maximum(canonical, 0)] != KEPT


def _cover(status: np.ndarray, canonical: np.ndarray, match: np.ndarray, similarity: np.ndarray,
           covered: np.ndarray, coverage: np.ndarray, pointer: np.ndarray) -> None:
    status[covered] = DUPLICATE
    canonical[covered] = pointer[covered]
    match[covered] = MATCH_SENTENCES
    similarity[covered] = coverage[covered]


def _repair(
    matcher: _Matcher, table: ParagraphTable, status: np.ndarray, canonical: np.ndarray, match: np.ndarray,
    similarity: np.ndarray, orphans: np.ndarray, labels: np.ndarray, rank: np.ndarray, alive: np.ndarray,
    published: np.ndarray, sentence_coverage: float,
) -> _Election:
    """Give ``orphans`` (duplicates whose kept copy is gone) a kept copy in ``alive`` rows, or keep them.

    An orphan whose sentences are all held by kept paragraphs ranked before it
    follows them (rule ``sentences``); the others are checked directly against
    their component's kept rows, then elect kept rows among themselves
    (:func:`_reassign`). Only rows in ``alive`` documents are ever kept copies.
    """
    status[orphans], canonical[orphans], match[orphans], similarity[orphans] = KEPT, -1, 0, 1.0
    holders = (status == KEPT) & alive
    holders[orphans] = False
    wanted = np.zeros(status.shape[0], dtype=bool)
    wanted[orphans] = True
    covered, coverage, pointer = _settle_sentences(table, wanted, holders, rank, sentence_coverage)
    _cover(status, canonical, match, similarity, covered, coverage, pointer)
    rest = orphans[~covered[orphans]]
    again = _reassign(matcher, rest, labels, rank, holders, alive, published)
    _follow(status, canonical, match, similarity, rest, again)
    return again


def _ranks(keys: list[np.ndarray]) -> np.ndarray:
    """Position of every row in keep-policy order (0 = preferred)."""
    order = np.lexsort(keys)
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    return rank


def _settle_sentences(
    table: ParagraphTable, candidates: np.ndarray, holders: np.ndarray, rank: np.ndarray, threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate rows covered by the sentences of holders that stay kept; (covered, coverage, pointer).

    A candidate is covered when at least ``threshold`` of its characters are in
    sentences of holders ranked before it in other documents. A holder that
    is itself covered is no holder: coverage is recomputed without the
    covered rows that hold a sentence some candidate counted, until no
    candidate loses its cover, so every covered row's sentences are in
    paragraphs that stay. ``pointer`` is the holder covering most; both are
    meant for candidate rows only.
    """
    coverage, pointer, used = _sentence_coverage(table, holders, rank, candidates)
    covered = candidates & (coverage >= threshold) & (pointer >= 0)
    # taking out a holder no candidate's counted sentence came from lowers no coverage
    while (covered & used).any():
        coverage, pointer, used = _sentence_coverage(table, holders & ~covered, rank, candidates)
        still = covered & (coverage >= threshold) & (pointer >= 0)
        if (still == covered).all():
            break
        covered = still
    return covered, coverage, pointer


def _sentence_coverage(
    table: ParagraphTable, holders: np.ndarray, rank: np.ndarray, candidates: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every candidate row: the share of its characters in sentences that a
    holder ranked before it in another document already has, that holder (the
    one covering most), and which holders those sentences came from (bool[n])."""
    n = table.size
    coverage = np.zeros(n, dtype=np.float32)
    pointer = np.full(n, -1, dtype=np.int64)
    used = np.zeros(n, dtype=bool)
    rows, hashes, lengths = table.sent_row, table.sent_hash, table.sent_len
    if rows is None or hashes is None or lengths is None or rows.shape[0] == 0:
        return coverage, pointer, used
    mine = candidates[rows]
    if 8 * int(mine.sum()) < rows.shape[0]:
        # a few candidates (copies left without their kept row): only sentences they hold matter
        wanted = np.unique(hashes[mine])
        at = np.minimum(np.searchsorted(wanted, hashes), max(int(wanted.shape[0]) - 1, 0))
        relevant = mine | (holders[rows] & (wanted[at] == hashes)) if wanted.shape[0] else mine
        rows, hashes, lengths, mine = rows[relevant], hashes[relevant], lengths[relevant], mine[relevant]
    kept = holders[rows]
    # first kept holder of every sentence, by rank
    order = np.lexsort([rank[rows[kept]], hashes[kept]])
    k_hash, k_row = hashes[kept][order], rows[kept][order]
    starts = _group_starts(k_hash)
    first_hash, first_row = k_hash[starts], k_row[starts]
    holder = np.full(rows.shape[0], -1, dtype=np.int64)
    if first_hash.shape[0]:
        pos = np.minimum(np.searchsorted(first_hash, hashes), first_hash.shape[0] - 1)
        holder = np.where(first_hash[pos] == hashes, first_row[pos], -1)
    covered = mine & (holder >= 0) & (holder != rows) & (rank[np.maximum(holder, 0)] < rank[rows])
    covered &= table.doc[np.maximum(holder, 0)] != table.doc[rows]  # another document
    covered_chars = np.bincount(rows, weights=np.where(covered, lengths, 0), minlength=n)
    coverage[:] = np.minimum(covered_chars / np.maximum(table.length, 1), 1.0)
    used[holder[covered]] = True
    if covered.any():
        (row_ids, holder_ids), counts = _unique_rows([rows[covered], holder[covered]])
        order = np.lexsort([holder_ids, -counts, row_ids])
        firsts = _group_starts(row_ids[order])
        pointer[row_ids[order][firsts]] = holder_ids[order][firsts]
    return coverage, pointer, used


def template_families(
    table: ParagraphTable, docs: DocumentTable, config: DedupConfig, counted: np.ndarray
) -> np.ndarray:
    """Boilerplate rule of every row's template family (``RULE_NONE`` for most).

    Lines a template prints with different values — a changelog's sign-off
    with each maintainer's address and date, "Copyright (C) 2009 Free
    Software Foundation, Inc." with other years, "Posted on March 3, 2012 by
    admin" — are different lines, never copies of one another; together they
    are the template. Rows with values that share a template key
    (``ParagraphTable.template``) form a family, counted like a cluster:
    spanning ``boilerplate_docs`` documents (``boilerplate_sites`` sites when
    every member has a URL) it is ``templated-docs``; covering ``site_share``
    of a site's pages (and ``site_min_docs``) it is ``templated-site``. Only
    ``counted`` rows of this run count, plus the pages earlier runs saw
    (``ParagraphTable.earlier_families``); a family boilerplate then stays so.

    >>> t = ParagraphTable(doc=np.arange(3), para=np.zeros(3, np.int32), exact=np.arange(3, dtype=np.uint64),
    ...                    length=np.full(3, 40), sig_row=np.full(3, -1), signatures=np.zeros((0, 4), np.uint32),
    ...                    rows=2, template=np.array([9, 9, 9], np.uint64))
    >>> d = DocumentTable(chars=np.full(3, 40), site=np.full(3, -1), date=np.zeros(3), site_docs=np.empty(0, np.int64))
    >>> template_families(t, d, DedupConfig(boilerplate_docs=3), np.ones(3, bool)).tolist()
    [3, 3, 3]
    """
    n = table.size
    out = np.zeros(n, dtype=np.int8)
    if table.template is None:
        return out
    current = table.earlier == 0 if table.earlier is not None else np.ones(n, dtype=bool)
    rows = np.flatnonzero(counted & current & (table.template != table.exact))  # lines with values
    earlier = table.earlier_families
    if rows.shape[0] == 0:
        return out
    hashes, family = np.unique(table.template[rows], return_inverse=True)
    family = family.ravel()
    site = docs.site[table.doc[rows]]
    (pair_family, pair_site, _), _ = _unique_rows([family, site, table.doc[rows]])
    (pair_family, pair_site), pages = _unique_rows([pair_family, pair_site])
    sticky_docs = np.zeros(hashes.shape[0], dtype=bool)
    sticky_site = np.zeros(hashes.shape[0], dtype=bool)
    if earlier is not None and earlier.template.shape[0]:
        at = np.minimum(np.searchsorted(hashes, earlier.template), hashes.shape[0] - 1)
        seen = hashes[at] == earlier.template
        (pair_family, pair_site), pages = _unique_rows_weighted(
            [np.concatenate([pair_family, at[seen]]), np.concatenate([pair_site, earlier.site[seen]])],
            np.concatenate([pages, earlier.pages[seen]]))
        sticky_docs[at[seen & (earlier.rule == RULE_TEMPLATED_DOCS)]] = True
        sticky_site[at[seen & (earlier.rule == RULE_TEMPLATED_SITE)]] = True
    n_families = hashes.shape[0]
    family_docs = np.bincount(pair_family, weights=pages, minlength=n_families)
    sited = pair_site >= 0
    family_sites = np.bincount(pair_family[sited], minlength=n_families)
    unsited = np.bincount(pair_family[~sited], minlength=n_families) > 0
    across = np.where(unsited, family_docs >= config.boilerplate_docs,
                      family_sites >= config.boilerplate_sites) | sticky_docs
    on_site = sticky_site.copy()
    if sited.any():
        share = (pages[sited] >= config.site_min_docs) & (
            pages[sited] >= config.site_share * docs.site_docs[pair_site[sited]])
        on_site[pair_family[sited][share]] = True
    family_rule = np.where(across, RULE_TEMPLATED_DOCS, np.where(on_site, RULE_TEMPLATED_SITE, RULE_NONE))
    out[rows] = family_rule[family]
    return out


def _unique_rows_weighted(columns: list[np.ndarray], weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equal-length integer columns, and the sum of ``weights`` over each."""
    order = np.lexsort(columns[::-1])
    starts = np.zeros(order.shape[0], dtype=bool)
    if order.shape[0]:
        starts[0] = True
        for column in columns:
            ordered = column[order]
            starts[1:] |= ordered[1:] != ordered[:-1]
    positions = np.flatnonzero(starts)
    sums = np.add.reduceat(weights[order], positions) if positions.shape[0] else weights[:0]
    return [column[order[positions]] for column in columns], sums


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
