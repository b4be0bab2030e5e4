"""Duplicate documents: a page that is mostly copies is dropped, and who it copied."""

from __future__ import annotations

import numpy as np

from ..config import DedupConfig
from ..schema import DocumentTable, ParagraphTable
from .candidates import Clusters
from .groups import group_starts
from .resolution import Status

#: Sentences scanned per step when looking for a few hashes among all of them.
SCAN_SENTENCES = 1 << 22


def drop_duplicate_documents(
    table: ParagraphTable, docs: DocumentTable, config: DedupConfig, clusters: Clusters, status: np.ndarray
) -> np.ndarray:
    """Documents dropped as duplicates (bool[D]).

    A document keeping less than ``min_kept`` of its non-boilerplate text is
    dropped, unless it keeps a paragraph of ``novel_chars`` or more found
    nowhere else (:func:`holds_novel_text`); an earlier run's document never is:
    it is published.
    """
    doc_dropped = drop_documents(table, docs, status, config.min_kept)
    if config.novel_chars:
        alone = clusters.sizes[clusters.labels] == 1
        doc_dropped &= ~holds_novel_text(table, status, alone, config.novel_chars, doc_dropped)
    return doc_dropped & ~docs.earlier


def drop_documents(table: ParagraphTable, docs: DocumentTable, status: np.ndarray, min_kept: float) -> np.ndarray:
    """Documents whose kept text is under ``min_kept`` of their kept and duplicate text."""
    n_docs = docs.chars.shape[0]
    length = table.length.astype(np.float64)
    dup_chars = np.bincount(table.doc, weights=np.where(status == Status.DUPLICATE, length, 0.0), minlength=n_docs)
    # link-list lines the corpus confirmed are chrome, out of the document's text like any other
    gone = (status == Status.BOILERPLATE) | (status == Status.STRIPPED)
    boiler_chars = np.bincount(table.doc, weights=np.where(gone, length, 0.0), minlength=n_docs)
    kept_chars = docs.chars - dup_chars - boiler_chars
    judged = kept_chars + dup_chars
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(judged > 0, kept_chars / np.where(judged > 0, judged, 1.0), 1.0)
    return (dup_chars > 0) & (share < min_kept)


def holds_novel_text(
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
    novel = (status == Status.KEPT) & alone & (table.length >= min_chars) & doc_dropped[table.doc]
    mine = novel[table.sent_row] if novel.any() else np.zeros(0, bool)
    if mine.any():
        wanted = np.unique(table.sent_hash[mine])
        # every (sentence, document) pair among the corpus's sentences with a wanted hash
        found_hash, found_doc = [], []
        for start in range(0, table.sent_hash.shape[0], SCAN_SENTENCES):
            hashes = table.sent_hash[start : start + SCAN_SENTENCES]
            at = np.minimum(np.searchsorted(wanted, hashes), wanted.shape[0] - 1)
            hit = wanted[at] == hashes
            found_hash.append(hashes[hit])
            found_doc.append(table.doc[table.sent_row[start : start + SCAN_SENTENCES][hit]])
        pairs = np.unique(np.stack([np.concatenate(found_hash).view(np.int64), np.concatenate(found_doc)]), axis=1)
        hashes, docs_with = np.unique(pairs[0], return_counts=True)
        shared = hashes[docs_with >= 2].view(np.uint64)
        rows = table.sent_row[mine]
        novel[rows[np.isin(table.sent_hash[mine], shared)]] = False
    return np.bincount(table.doc[novel], minlength=doc_dropped.shape[0]) > 0


def kept_reference(table: ParagraphTable, canonical: np.ndarray, doc_dropped: np.ndarray) -> np.ndarray:
    """For each dropped document, the document that holds most of its duplicates' kept copies."""
    n_docs = doc_dropped.shape[0]
    ref = np.full(n_docs, -1, dtype=np.int64)
    rows = np.flatnonzero((canonical >= 0) & doc_dropped[table.doc])
    if rows.shape[0] == 0:
        return ref
    pairs, counts = np.unique(table.doc[rows] * n_docs + table.doc[canonical[rows]], return_counts=True)
    doc, other = pairs // n_docs, pairs % n_docs
    order = np.lexsort([other, -counts, doc])
    starts = group_starts(doc[order])
    ref[doc[order][starts]] = other[order][starts]
    return ref
