"""Copies whose kept row is gone get another one, so that every named kept copy is in the output.

A kept row goes when the sentence step finds it repeats other paragraphs'
sentences, or when its document is dropped as a duplicate document; its
copies then follow another kept row they are similar to, or are kept.
"""

from __future__ import annotations

import numpy as np

from .candidates import Clusters
from .election import reassign
from .matching import Matcher
from .resolution import MATCH_EXACT, MATCH_MINHASH, MATCH_SENTENCES, MATCH_TYPO, Status, Verdicts
from .sentences import settle_sentences


def repoint_copies_of_covered(
    matcher: Matcher, clusters: Clusters, rank: np.ndarray, threshold: float, verdicts: Verdicts
) -> None:
    """Copies of a kept row that turned out to be covered by sentences need a kept copy of their own."""
    orphans = verdicts.orphans(~verdicts.kept)
    if orphans.shape[0]:
        _repoint(matcher, verdicts, orphans, clusters.labels, rank, np.ones(matcher.table.size, dtype=bool),
                 threshold)


def repoint_into_output(
    matcher: Matcher, clusters: Clusters, rank: np.ndarray, threshold: float, doc_dropped: np.ndarray,
    verdicts: Verdicts,
) -> None:
    """Every named kept copy must be in the output: copies of rows in dropped documents follow
    another, and a paragraph kept out by its sentences stays out only while kept text in the
    output holds them. Then near copies name an exact copy where there is one."""
    table = matcher.table
    alive = ~doc_dropped[table.doc]
    orphans = verdicts.orphans(~alive)
    if orphans.shape[0]:
        _repoint(matcher, verdicts, orphans, clusters.labels, rank, alive, threshold)
    sentence_rows = np.flatnonzero((verdicts.status == Status.DUPLICATE) & (verdicts.match == MATCH_SENTENCES))
    if sentence_rows.shape[0] and doc_dropped.any():
        still = np.zeros(table.size, dtype=bool)
        still[sentence_rows] = True
        still, coverage, pointer = settle_sentences(table, still, verdicts.kept & alive, rank, threshold)
        verdicts.keep(sentence_rows[~still[sentence_rows]])
        kept_on = sentence_rows[still[sentence_rows]]
        verdicts.canonical[kept_on], verdicts.similarity[kept_on] = pointer[kept_on], coverage[kept_on]
    _prefer_exact(matcher, verdicts, alive)


def _repoint(
    matcher: Matcher, verdicts: Verdicts, orphans: np.ndarray, labels: np.ndarray, rank: np.ndarray,
    alive: np.ndarray, threshold: float,
) -> None:
    """Give ``orphans`` (duplicates whose kept copy is gone) a kept copy in ``alive`` rows, or keep them.

    An orphan whose sentences are all held by kept paragraphs ranked before it
    follows them (rule ``sentences``); the others are checked directly against
    their component's kept rows, then elect kept rows among themselves
    (:func:`~dedupe.resolve.election.reassign`). Only rows in ``alive``
    documents are ever kept copies.
    """
    verdicts.keep(orphans)
    holders = verdicts.kept & alive
    holders[orphans] = False
    wanted = np.zeros(verdicts.status.shape[0], dtype=bool)
    wanted[orphans] = True
    covered, coverage, pointer = settle_sentences(matcher.table, wanted, holders, rank, threshold)
    verdicts.cover(covered, coverage, pointer)
    rest = orphans[~covered[orphans]]
    reassign(matcher, rest, labels, rank, holders, alive, matcher.table.published).record(
        verdicts, rest, matcher.table.doc)


def _prefer_exact(matcher: Matcher, verdicts: Verdicts, alive: np.ndarray) -> None:
    """Point a near copy at a kept row of its very key where there is one.

    A round keeps one row and takes every row similar to it: a repost's copy
    of an article's second list item follows the first item, which it is
    near, although the second item is kept too, in a later round. Its exact
    copy is the better name.
    """
    table, match = matcher.table, verdicts.match
    near = np.flatnonzero((verdicts.status == Status.DUPLICATE) & ((match == MATCH_MINHASH) | (match == MATCH_TYPO)))
    kept = np.flatnonzero(verdicts.kept & alive)
    if near.shape[0] == 0 or kept.shape[0] == 0:
        return
    kept = kept[np.argsort(table.exact[kept], kind="stable")]  # by key, then row
    keys = table.exact[kept]
    at = np.minimum(np.searchsorted(keys, table.exact[near]), keys.shape[0] - 1)
    same = (keys[at] == table.exact[near]) & (table.doc[near] != table.doc[kept[at]])
    moved = near[same]
    verdicts.canonical[moved], match[moved], verdicts.similarity[moved] = kept[at[same]], MATCH_EXACT, 1.0
