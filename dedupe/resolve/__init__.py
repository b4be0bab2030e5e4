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

import numpy as np

from ..config import DedupConfig
from ..schema import ELSEWHERE, HEADLINE, DocumentTable, ParagraphTable
from .boilerplate import count_spans, template_families
from .candidates import Clusterer, StepCallback, cluster_labels, component_labels, typo_edges
from .documents import drop_documents, holds_novel_text, kept_reference
from .election import elect, follow, gone, prefer_exact, repair
from .link_lists import confirm_link_lists
from .matching import Matcher
from .policy import ahead_of_text, placement, policy_order, ranks
from .resolution import (
    BOILERPLATE,
    DUPLICATE,
    KEPT,
    MATCH_SENTENCES,
    RULE_BOILERPLATE_DOCS,
    RULE_NONE,
    RULE_SITE_TEMPLATE,
    RULE_TEMPLATED_DOCS,
    STRIPPED,
    Resolution,
)
from .sentences import cover, settle_sentences


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
    matcher = Matcher(table, config)
    published = table.earlier > 0 if table.earlier is not None else np.zeros(n, dtype=bool)

    # Boilerplate: a paragraph and its direct copies (its star: elected in input
    # order, earlier runs first) on many documents or sites, or on much of one
    # site; a chain of different lines is no paragraph repeated.
    rows = np.flatnonzero(multi & (status != STRIPPED))
    stars = elect(matcher, rows, labels[rows], ranks([np.arange(n), (~published).astype(np.int8)]),
                  never_follow=published)
    star = np.arange(n, dtype=np.int64)
    star[rows] = np.where(stars.canonical >= 0, stars.canonical, rows)
    _, star = np.unique(star, return_inverse=True)  # numbered by each star's smallest row
    star = star.ravel().astype(np.int64)
    spans = count_spans(table, docs, config, star)
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
    rank = ranks(policy_order(table, docs, config.keep, late))

    # Kept rows by the keep policy; a duplicate only of a kept row it is itself similar to.
    rows = np.flatnonzero(multi & (status == KEPT))
    step("electing kept copies", f"{rows.shape[0]:,} rows in clusters")
    election = elect(matcher, rows, labels[rows], rank, never_follow=published)
    follow(status, canonical, match, similarity, rows, election)
    rounds, unverified = stars.rounds + election.rounds, stars.unverified + election.unverified

    step("sentences", "")
    # Paragraphs split, joined or spliced from earlier ones: every sentence seen
    # before, in kept paragraphs that stay kept.
    covered, coverage, pointer = settle_sentences(table, (status == KEPT) & ~published, status == KEPT, rank,
                                                   config.sentence_coverage)
    cover(status, canonical, match, similarity, covered, coverage, pointer)
    # copies of a kept row that turned out to be covered need a kept copy of their own
    orphans = np.flatnonzero((status == DUPLICATE) & (match != MATCH_SENTENCES) & gone(status, canonical))
    if orphans.shape[0]:
        repaired = repair(matcher, table, status, canonical, match, similarity, orphans, labels, rank,
                           np.ones(n, dtype=bool), published, config.sentence_coverage)
        rounds, unverified = rounds + repaired.rounds, unverified + repaired.unverified

    # Duplicate documents: share of kept text among kept + duplicate text.
    step("duplicate documents", "")
    doc_dropped = drop_documents(table, docs, status, config.min_kept)
    if config.novel_chars:
        doc_dropped &= ~holds_novel_text(table, status, sizes[labels] == 1, config.novel_chars, doc_dropped)
    if docs.earlier is not None:
        doc_dropped &= ~docs.earlier  # published already

    # Every named kept copy must be in the output: re-point copies of rows in dropped documents.
    alive = ~doc_dropped[table.doc]
    orphans = np.flatnonzero((status == DUPLICATE) & (match != MATCH_SENTENCES) & ~alive[np.maximum(canonical, 0)])
    if orphans.shape[0]:
        repaired = repair(matcher, table, status, canonical, match, similarity, orphans, labels, rank,
                           alive, published, config.sentence_coverage)
        rounds, unverified = rounds + repaired.rounds, unverified + repaired.unverified
    sentence_rows = np.flatnonzero((status == DUPLICATE) & (match == MATCH_SENTENCES))
    if sentence_rows.shape[0] and doc_dropped.any():
        # a paragraph kept out by its sentences stays only while kept text in the output holds them
        still = np.zeros(n, dtype=bool)
        still[sentence_rows] = True
        holders = (status == KEPT) & alive
        still, coverage, pointer = settle_sentences(table, still, holders, rank, config.sentence_coverage)
        lost = sentence_rows[~still[sentence_rows]]
        status[lost], canonical[lost], match[lost], similarity[lost] = KEPT, -1, 0, 1.0
        kept_on = sentence_rows[still[sentence_rows]]
        canonical[kept_on], similarity[kept_on] = pointer[kept_on], coverage[kept_on]
    prefer_exact(table, status, canonical, match, similarity, alive)
    similarity[status != DUPLICATE] = 1.0
    doc_kept_ref = kept_reference(table, canonical, doc_dropped)

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
