"""The paragraph table: what the fingerprint stage hands the resolver, one row per paragraph."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .store import SignatureStore

#: Where a headline-like paragraph stands, best first: as an article's title
#: (leading into body text), elsewhere, or as an entry of a list of links.
TITLE, ELSEWHERE, LISTED = 0, 1, 2
#: Shape bits of a paragraph (:attr:`ParagraphTable.shape`).
HEADLINE, BODY = 1, 2
#: ParagraphTable.earlier: rows of earlier runs, whose fate is already published.
EARLIER_KEPT = 1
EARLIER_BOILERPLATE = 2
EARLIER_TEMPLATE = 3


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
