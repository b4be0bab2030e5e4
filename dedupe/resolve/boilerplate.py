"""Boilerplate: a paragraph on many documents or much of a site, and template families."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import DedupConfig
from ..schema import DocumentTable, Earlier, ParagraphTable
from .candidates import Clusters
from .election import elect
from .groups import unique_rows, unique_rows_weighted
from .matching import Matcher
from .policy import ranks
from .resolution import (
    RULE_BOILERPLATE_DOCS,
    RULE_NONE,
    RULE_SITE_TEMPLATE,
    RULE_TEMPLATED_DOCS,
    RULE_TEMPLATED_SITE,
    Spread,
    Status,
    Verdicts,
)


def mark_boilerplate(
    table: ParagraphTable, docs: DocumentTable, config: DedupConfig, clusters: Clusters, matcher: Matcher,
    verdicts: Verdicts,
) -> Spread:
    """Mark every copy of boilerplate, with its rule; returns how far each paragraph repeats.

    Boilerplate is a paragraph and its direct copies (its star: elected in
    input order, earlier runs first) on many documents or sites, or on much
    of one site; a chain of different lines is no paragraph repeated. So is
    a template family spanning as many (:func:`template_families`), except
    where a templated line is all a document holds.
    """
    n, published = table.size, table.published
    rows = np.flatnonzero(clusters.multi & (verdicts.status != Status.STRIPPED))
    stars = elect(matcher, rows, clusters.labels[rows], ranks([np.arange(n), (~published).astype(np.int8)]),
                  never_follow=published)
    verdicts.count(stars.rounds, stars.unverified)
    star = np.arange(n, dtype=np.int64)
    star[rows] = np.where(stars.canonical >= 0, stars.canonical, rows)
    _, star = np.unique(star, return_inverse=True)  # numbered by each star's smallest row
    star = star.ravel().astype(np.int64)
    spans = count_spans(table, docs, config, star)
    family_rule = template_families(table, docs, config, verdicts.status != Status.STRIPPED)
    templated = (family_rule != RULE_NONE) & ~spans.boilerplate[star]
    if templated.any():
        # a template is what a page prints around its content: a templated line
        # that is all a document holds ("tiny 7", a product title) is its content
        other = np.bincount(table.doc, weights=verdicts.kept & ~templated & ~spans.boilerplate[star],
                            minlength=docs.chars.shape[0])
        templated &= other[table.doc] > 0
    boiler_rows = spans.boilerplate[star] | templated
    verdicts.status[boiler_rows] = Status.BOILERPLATE
    verdicts.rule[boiler_rows] = np.where(
        spans.boilerplate[star[boiler_rows]],
        np.where(spans.across[star[boiler_rows]], RULE_BOILERPLATE_DOCS, RULE_SITE_TEMPLATE),
        family_rule[boiler_rows])
    return Spread(star, spans.docs, np.maximum(spans.sites, 1), spans.site_copies, family_rule)


@dataclass(slots=True)
class Spans:
    """Documents and sites each group of rows spans, and which groups are boilerplate."""

    docs: np.ndarray  # int64[groups] documents (earlier runs included)
    sites: np.ndarray  # int64[groups] sites (earlier runs included)
    site_copies: np.ndarray  # int64[n] pages of the row's own site in its group
    across: np.ndarray  # bool[groups] on boilerplate_docs documents (boilerplate_sites sites)
    boilerplate: np.ndarray  # bool[groups] across, or on site_share of one site's pages


def count_spans(table: ParagraphTable, docs: DocumentTable, config: DedupConfig, group: np.ndarray) -> Spans:
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
    # counts carry across runs: an earlier row stands for its group's documents then
    first, past = table.first_earlier, group[table.first_earlier:]
    docs_per += np.bincount(past, weights=table.earlier_docs - 1, minlength=n_groups).astype(np.int64)
    sites_per += np.bincount(past, weights=table.earlier_sites - 1, minlength=n_groups).astype(np.int64)
    earlier_boiler[past[table.earlier_status == Earlier.BOILERPLATE]] = True
    earlier_template[past[table.earlier_status == Earlier.TEMPLATE]] = True
    across = np.where(unsited, docs_per >= config.boilerplate_docs, sites_per >= config.boilerplate_sites) \
        | earlier_boiler
    on_site = earlier_template.copy()
    with_site = multi & (site_of_row >= 0)
    site_copies = np.ones(n, dtype=np.int64)
    if with_site.any() and docs.site_docs.shape[0]:
        (tri_group, tri_site, _), _ = unique_rows([group[with_site], site_of_row[with_site], table.doc[with_site]])
        (pair_group, pair_site), counts = unique_rows([tri_group, tri_site])
        pair_key = pair_group * n_sites + pair_site  # sorted: unique_rows sorts by group, then site
        sited_past = first + np.flatnonzero(with_site[first:])
        at = np.searchsorted(pair_key, group[sited_past] * n_sites + site_of_row[sited_past])
        np.add.at(counts, at, table.earlier_site_copies[sited_past - first] - 1)
        template = (counts >= config.site_min_docs) & (counts >= config.site_share * docs.site_docs[pair_site])
        on_site[pair_group[template]] = True
        sited = np.flatnonzero(with_site)
        site_copies[sited] = counts[np.searchsorted(pair_key, group[sited] * n_sites + site_of_row[sited])]
    boilerplate = (across | on_site) & (sizes > 1)
    return Spans(docs_per, sites_per, site_copies, across & boilerplate, boilerplate)


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
    Only lines with values (a template key of their own) make families.

    >>> t = ParagraphTable.build(doc=[0, 1, 2], para=[0, 0, 0], exact=[0, 1, 2], length=[40] * 3, template=[9, 9, 9])
    >>> d = DocumentTable(chars=np.full(3, 40), site=np.full(3, -1), date=np.zeros(3), site_docs=np.empty(0, np.int64),
    ...                   earlier=np.zeros(3, bool))
    >>> template_families(t, d, DedupConfig(boilerplate_docs=3), np.ones(3, bool)).tolist()
    [3, 3, 3]
    """
    n = table.size
    out = np.zeros(n, dtype=np.int8)
    rows = np.flatnonzero(counted[:table.first_earlier] & (table.template != table.exact)[:table.first_earlier])
    earlier = table.earlier_families
    if rows.shape[0] == 0:
        return out
    hashes, family = np.unique(table.template[rows], return_inverse=True)
    family = family.ravel()
    site = docs.site[table.doc[rows]]
    (pair_family, pair_site, _), _ = unique_rows([family, site, table.doc[rows]])
    (pair_family, pair_site), pages = unique_rows([pair_family, pair_site])
    sticky_docs = np.zeros(hashes.shape[0], dtype=bool)
    sticky_site = np.zeros(hashes.shape[0], dtype=bool)
    if earlier.template.shape[0]:
        at = np.minimum(np.searchsorted(hashes, earlier.template), hashes.shape[0] - 1)
        seen = hashes[at] == earlier.template
        (pair_family, pair_site), pages = unique_rows_weighted(
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
