"""Sentence coverage: a paragraph whose sentences are all in kept paragraphs elsewhere."""

from __future__ import annotations

import numpy as np

from ..schema import ParagraphTable
from .groups import group_starts, unique_rows
from .resolution import Verdicts


def cover_by_sentences(table: ParagraphTable, rank: np.ndarray, threshold: float, verdicts: Verdicts) -> None:
    """Paragraphs split, joined or spliced from earlier ones: every sentence seen before, in kept
    paragraphs that stay kept, makes a kept row of this run a duplicate (rule ``sentences``)."""
    kept = verdicts.kept
    verdicts.cover(*settle_sentences(table, kept & ~table.published, kept, rank, threshold))


def settle_sentences(
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
    coverage, pointer, used = sentence_coverage(table, holders, rank, candidates)
    covered = candidates & (coverage >= threshold) & (pointer >= 0)
    # taking out a holder no candidate's counted sentence came from lowers no coverage
    while (covered & used).any():
        coverage, pointer, used = sentence_coverage(table, holders & ~covered, rank, candidates)
        still = covered & (coverage >= threshold) & (pointer >= 0)
        if (still == covered).all():
            break
        covered = still
    return covered, coverage, pointer


def sentence_coverage(
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
    if rows.shape[0] == 0:
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
    starts = group_starts(k_hash)
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
        (row_ids, holder_ids), counts = unique_rows([rows[covered], holder[covered]])
        order = np.lexsort([holder_ids, -counts, row_ids])
        firsts = group_starts(row_ids[order])
        pointer[row_ids[order][firsts]] = holder_ids[order][firsts]
    return coverage, pointer, used
