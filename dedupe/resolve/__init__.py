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
   kept rows are elected in rounds (:func:`~dedupe.resolve.election.elect`): the best-ranked row not
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

import numpy as np

from ..config import DedupConfig
from ..schema import DocumentTable, ParagraphTable
from .boilerplate import mark_boilerplate
from .candidates import Clusterer, Clusters, StepCallback, cluster_labels, join_typo_copies
from .documents import drop_duplicate_documents, kept_reference
from .election import elect_kept
from .link_lists import set_apart_link_lists
from .matching import Matcher
from .policy import rank_copies
from .repoint import repoint_copies_of_covered, repoint_into_output
from .resolution import MATCH_SENTENCES, RULE_TEMPLATED_DOCS, Resolution, Status, Verdicts
from .sentences import cover_by_sentences

__all__ = ["Clusterer", "Resolution", "Status", "StepCallback", "cluster_labels", "resolve"]


def resolve(
    table: ParagraphTable, docs: DocumentTable, config: DedupConfig, cluster: Clusterer | None = None,
    progress: StepCallback | None = None,
) -> Resolution:
    """Decide, for every fingerprinted paragraph, whether it is kept, a duplicate or boilerplate.

    ``cluster`` replaces the local clustering step (:func:`cluster_labels`);
    any replacement must number clusters the same way (by smallest row).
    ``progress`` is told each step as it begins.

    Two documents holding the same paragraph: the second one's is a duplicate, and the
    document, left with nothing else, goes:

    >>> table = ParagraphTable.build(doc=[0, 1], para=[0, 0], exact=[7, 7], length=[60, 60])
    >>> docs = DocumentTable(chars=np.array([60, 60]), site=np.full(2, -1), date=np.zeros(2),
    ...                      site_docs=np.empty(0, np.int64), earlier=np.zeros(2, bool))
    >>> decided = resolve(table, docs, DedupConfig())
    >>> decided.status.tolist(), decided.canonical.tolist(), decided.doc_dropped.tolist()
    ([0, 1], [-1, 0], [False, True])
    """
    step = progress or _quiet
    if table.size == 0:
        return Resolution.nothing(docs.chars.shape[0])
    verdicts = Verdicts.kept_all(table.size)
    step("grouping candidates", f"{table.size:,} paragraphs")
    labels, edges = (cluster or cluster_labels)(table, config)
    step("matching typos", "")
    labels, typo_edges = join_typo_copies(table, labels)
    step("link lists", "")
    labels, list_stats = set_apart_link_lists(table, docs, labels, config.related_evidence, verdicts)
    clusters = Clusters.of(labels)
    step("boilerplate and keep policy", f"{clusters.count:,} clusters")
    matcher = Matcher(table, config)
    spread = mark_boilerplate(table, docs, config, clusters, matcher, verdicts)
    placement, rank = rank_copies(table, docs, config.keep, verdicts.status)
    step("electing kept copies", f"{int((clusters.multi & verdicts.kept).sum()):,} rows in clusters")
    elect_kept(matcher, clusters, rank, verdicts)
    step("sentences", "")
    cover_by_sentences(table, rank, config.sentence_coverage, verdicts)
    repoint_copies_of_covered(matcher, clusters, rank, config.sentence_coverage, verdicts)
    step("duplicate documents", "")
    doc_dropped = drop_duplicate_documents(table, docs, config, clusters, verdicts.status)
    repoint_into_output(matcher, clusters, rank, config.sentence_coverage, doc_dropped, verdicts)
    stats = _cluster_stats(clusters, verdicts, edges, typo_edges, matcher.checked) | list_stats
    return Resolution(verdicts.status, verdicts.canonical, _similarity(verdicts), verdicts.rule, verdicts.match,
                      doc_dropped, kept_reference(table, verdicts.canonical, doc_dropped), placement, spread, stats)


def _quiet(step: str, detail: str) -> None:
    """No progress wanted."""


def _similarity(verdicts: Verdicts) -> np.ndarray:
    """Similarity to the kept copy: 1.0 for every row that is not a duplicate."""
    verdicts.similarity[verdicts.status != Status.DUPLICATE] = 1.0
    return verdicts.similarity


def _cluster_stats(clusters: Clusters, verdicts: Verdicts, edges: int, typo_edges: int, pairs: int) -> dict[str, int]:
    """What the stats file says about the clusters and the work done on them."""
    sizes, status = clusters.sizes, verdicts.status
    boiler_label = np.zeros(clusters.count, dtype=bool)
    boiler_label[clusters.labels[status == Status.BOILERPLATE]] = True
    return {
        "clusters": int((sizes > 1).sum()),
        "clusters_boilerplate": int((boiler_label & (sizes > 1)).sum()),
        "clusters_duplicate": int(((sizes > 1) & ~boiler_label).sum()),
        "largest_cluster_paragraphs": int(sizes.max()),
        "largest_duplicate_cluster_paragraphs": int(sizes[(sizes > 1) & ~boiler_label].max(initial=0)),
        "candidate_edges": edges,
        "duplicates_by_sentences": int(((status == Status.DUPLICATE) & (verdicts.match == MATCH_SENTENCES)).sum()),
        "typo_edges": typo_edges,
        "templated_rows": int(((status == Status.BOILERPLATE) & (verdicts.rule >= RULE_TEMPLATED_DOCS)).sum()),
        "leader_rounds": verdicts.rounds,
        "pairs_verified": pairs,
        "rows_kept_unverified": verdicts.unverified,
    }
