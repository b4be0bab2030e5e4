"""What the resolver decides: a status per row and a verdict per document, with their codes."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np


class Status(IntEnum):
    """What becomes of a row (:attr:`Resolution.status`); the removal record's reasons are strings
    (:data:`dedupe.record.DUPLICATE`, …)."""

    KEPT = 0
    DUPLICATE = 1
    BOILERPLATE = 2
    #: A row of an unheaded link list that the corpus confirmed as a link list:
    #: it stays removed with the stripper's rule and counts toward no cluster.
    STRIPPED = 3


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
#: A short line matched through a one-typo edge to a line without a MinHash.
MATCH_TYPO = 4
MATCH_NAMES = {MATCH_EXACT: "exact", MATCH_MINHASH: "minhash", MATCH_SENTENCES: "sentences", MATCH_TYPO: "typo"}


@dataclass(slots=True)
class Spread:
    """How far each row's paragraph repeats, as the boilerplate rules counted it (an index keeps it)."""

    group: np.ndarray  # int64[n] the row's star: a paragraph and its direct copies, numbered from 0
    group_docs: np.ndarray  # int64[groups] documents a star spans (earlier runs included)
    group_sites: np.ndarray  # int64[groups] sites a star spans (earlier runs included; at least 1)
    site_copies: np.ndarray  # int64[n] pages of the row's own site in its star
    family_rule: np.ndarray  # int8[n] boilerplate rule of the row's template family (the row may be kept)

    @classmethod
    def nothing(cls) -> Spread:
        rows = np.empty(0, np.int64)
        return cls(rows, rows, rows, rows, np.empty(0, np.int8))


@dataclass(slots=True)
class Resolution:
    """What happens to every row and document."""

    status: np.ndarray  # int8[n]: a Status
    canonical: np.ndarray  # int64[n]: kept row of a duplicate, else -1
    similarity: np.ndarray  # float32[n]
    rule: np.ndarray  # int8[n]: boilerplate rule code
    match: np.ndarray  # int8[n]: how a duplicate was found (MATCH_*)
    doc_dropped: np.ndarray  # bool[D]
    doc_kept_ref: np.ndarray  # int64[D]: for dropped docs, the doc holding most kept copies
    placement: np.ndarray  # int8[n]: TITLE, ELSEWHERE or LISTED, decided once the boilerplate was known
    spread: Spread
    cluster_stats: dict[str, int] = field(default_factory=dict)

    @classmethod
    def nothing(cls, documents: int) -> Resolution:
        """The resolution of a corpus without a fingerprinted paragraph: no row, no document dropped."""
        return cls(np.empty(0, np.int8), np.empty(0, np.int64), np.empty(0, np.float32), np.empty(0, np.int8),
                   np.empty(0, np.int8), np.zeros(documents, dtype=bool), np.full(documents, -1, dtype=np.int64),
                   np.empty(0, np.int8), Spread.nothing())


@dataclass(slots=True)
class Verdicts:
    """The rows' verdicts while the resolver works on them; :class:`Resolution` holds the last ones.

    ``rounds`` and ``unverified`` count the leader rounds of every election
    and the rows they left kept unverified (see :func:`~dedupe.resolve.election.elect`).
    """

    status: np.ndarray  # int8[n]: a Status
    canonical: np.ndarray  # int64[n]: kept row of a duplicate, else -1
    similarity: np.ndarray  # float32[n]
    match: np.ndarray  # int8[n]: MATCH_*
    rule: np.ndarray  # int8[n]: RULE_*
    rounds: int = 0
    unverified: int = 0

    @classmethod
    def kept_all(cls, n: int) -> Verdicts:
        """Every row kept, to begin with."""
        return cls(np.zeros(n, dtype=np.int8), np.full(n, -1, dtype=np.int64), np.ones(n, dtype=np.float32),
                   np.zeros(n, dtype=np.int8), np.zeros(n, dtype=np.int8))

    @property
    def kept(self) -> np.ndarray:
        """Rows kept now (bool[n])."""
        return self.status == Status.KEPT

    def count(self, rounds: int, unverified: int) -> None:
        """Add an election's leader rounds and the rows it left unverified."""
        self.rounds += rounds
        self.unverified += unverified

    def keep(self, rows: np.ndarray) -> None:
        """Keep ``rows`` again, whatever they were."""
        self.status[rows], self.canonical[rows], self.match[rows], self.similarity[rows] = Status.KEPT, -1, 0, 1.0

    def follow(self, rows: np.ndarray, canonical: np.ndarray, match: np.ndarray, similarity: np.ndarray) -> None:
        """``rows[i]`` follows kept row ``canonical[i]`` (-1: is kept itself), matched so, so similar."""
        follows = canonical >= 0
        self.status[rows] = np.where(follows, Status.DUPLICATE, Status.KEPT)
        self.canonical[rows] = canonical
        self.match[rows] = match
        self.similarity[rows] = np.where(follows, similarity, 1.0)

    def cover(self, covered: np.ndarray, coverage: np.ndarray, pointer: np.ndarray) -> None:
        """The ``covered`` rows are duplicates by their sentences, of the row ``pointer`` names."""
        self.status[covered] = Status.DUPLICATE
        self.canonical[covered] = pointer[covered]
        self.match[covered] = MATCH_SENTENCES
        self.similarity[covered] = coverage[covered]

    def orphans(self, lost: np.ndarray) -> np.ndarray:
        """Duplicates (not by sentences) whose kept row is ``lost`` (bool[n])."""
        return np.flatnonzero((self.status == Status.DUPLICATE) & (self.match != MATCH_SENTENCES)
                              & lost[np.maximum(self.canonical, 0)])
