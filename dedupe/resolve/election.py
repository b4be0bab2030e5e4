"""Kept rows elected in rounds: a duplicate follows a kept row it is itself similar to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .candidates import VERIFY_PAIRS, Clusters
from .groups import group_starts
from .matching import Matcher
from .resolution import Verdicts

#: Leader rounds per component before the rows still unassigned are matched by
#: exact key only: bounds the work on a component of thousands of different
#: lines chained by near copies (each round elects one kept row per component).
#: Rows the rounds never reach are kept unchecked, and a second clean can find
#: them a copy: 64 left 378 such rows on 33 MB of changelogs and licences.
ELECT_ROUNDS = 256
#: Leader rounds of that exact-key fallback (rows of one key differ only where
#: two lines of one page share it).
EXACT_ROUNDS = 8
#: Kept rows of its component a copy is checked against, best ranked first,
#: when the copy it was matched to is gone (its document was dropped, or it
#: was itself found to repeat other paragraphs' sentences).
REPAIR_LEADERS = 64


@dataclass(slots=True)
class Election:
    """Outcome of leader rounds over some rows: the kept row each follows (-1: kept), how, how much."""

    canonical: np.ndarray  # int64[m]
    match: np.ndarray  # int8[m]
    similarity: np.ndarray  # float32[m]
    rounds: int = 0
    unverified: int = 0  # rows kept after the rounds ran out, checked against their exact copies only

    def record(self, verdicts: Verdicts, rows: np.ndarray, doc: np.ndarray) -> None:
        """The outcome for ``rows`` (whom the election was held over): followers are duplicates.

        A row that follows a kept row of its own document (``doc``: every
        row's document) is kept instead: a line repeated inside one page —
        a licence stanza, a list item, a refrain — is that page's structure,
        not a copy. Only a copy in another document is a duplicate.
        """
        own = (self.canonical >= 0) & (doc[rows] == doc[np.maximum(self.canonical, 0)])
        if own.any():
            self.canonical[own], self.match[own], self.similarity[own] = -1, 0, 1.0
        verdicts.follow(rows, self.canonical, self.match, self.similarity)
        verdicts.count(self.rounds, self.unverified)


def elect_kept(matcher: Matcher, clusters: Clusters, rank: np.ndarray, verdicts: Verdicts) -> None:
    """Kept rows by the keep policy, in every cluster; a duplicate only of a kept row it is itself similar to."""
    rows = np.flatnonzero(clusters.multi & verdicts.kept)
    elect(matcher, rows, clusters.labels[rows], rank, never_follow=matcher.table.published).record(
        verdicts, rows, matcher.table.doc)


def elect(
    matcher: Matcher, rows: np.ndarray, group: np.ndarray, rank: np.ndarray,
    can_lead: np.ndarray | None = None, never_follow: np.ndarray | None = None,
) -> Election:
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

    >>> from dedupe.config import DedupConfig
    >>> from dedupe.schema import ParagraphTable
    >>> from dedupe.store import SignatureStore
    >>> sigs = SignatureStore.of(np.array([[1, 1, 1, 1], [1, 1, 1, 2], [1, 1, 2, 2]], np.uint32), rows=2)
    >>> t = ParagraphTable.build(doc=[0, 1, 2], para=[0, 0, 0], exact=[0, 1, 2], length=[80] * 3, sig_row=[0, 1, 2],
    ...                          signatures=sigs)
    >>> e = elect(Matcher(t, DedupConfig(threshold=0.75)), np.arange(3), np.zeros(3, np.int64), np.arange(3))
    >>> e.canonical.tolist(), e.similarity.tolist()
    ([-1, 0, -1], [1.0, 0.75, 1.0])
    """
    m = rows.shape[0]
    out = Election(np.full(m, -1, dtype=np.int64), np.zeros(m, dtype=np.int8), np.ones(m, dtype=np.float32))
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
            starts = np.flatnonzero(group_starts(groups))
            which = np.cumsum(group_starts(groups)) - 1
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


def reassign(
    matcher: Matcher, orphans: np.ndarray, labels: np.ndarray, rank: np.ndarray, leaders: np.ndarray,
    can_lead: np.ndarray, never_follow: np.ndarray,
) -> Election:
    """New kept copies for rows whose kept copy is gone.

    Each orphan is checked against the kept rows (``leaders``, bool[n]) of its
    component, best ranked first (at most :data:`REPAIR_LEADERS`), and follows
    the first it matches; the others elect kept rows among themselves
    (:func:`elect`, only rows that ``can_lead`` are kept), and an orphan that
    matches none is kept.
    """
    n_orphans = orphans.shape[0]
    out = Election(np.full(n_orphans, -1, dtype=np.int64), np.zeros(n_orphans, dtype=np.int8),
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
    step = max(VERIFY_PAIRS // REPAIR_LEADERS, 1)
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
