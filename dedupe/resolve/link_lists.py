"""Link lists the stripper removed: kept as the article's own when the corpus says so."""

from __future__ import annotations

import numpy as np

from ..config import RELATED_EVIDENCE_RUNS
from ..schema import TITLE, DocumentTable, ParagraphTable
from .candidates import VERIFY_PAIRS
from .policy import placement
from .resolution import Status, Verdicts

#: Characters of a row that can anchor a link list to its article.
ANCHOR_CHARS = 100
#: Anchors per list: the article's last long paragraphs before it.
ANCHORS = 3
#: A list line in a cluster of more rows than this is found elsewhere when any other
#: page holds it, copies of its article included: its rows are not paired one by one
#: (bounds the work of a line found on thousands of pages).
EVIDENCE_ROWS = 64

def set_apart_link_lists(
    table: ParagraphTable, docs: DocumentTable, labels: np.ndarray, min_share: float, verdicts: Verdicts
) -> tuple[np.ndarray, dict[str, int]]:
    """Lines of link lists that stay removed (:func:`confirm_link_lists`), each set apart in a
    cluster of its own: a link list's line counts toward no cluster's documents or sites.

    Returns the clusters so changed, and counts.
    """
    stripped, counts = confirm_link_lists(table, docs, labels, min_share)
    if stripped.any():
        labels = labels.copy()
        labels[stripped] = int(labels.max()) + 1 + np.arange(int(stripped.sum()))
        verdicts.status[stripped] = Status.STRIPPED
    return labels, counts


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

    >>> from dedupe.schema import BODY, HEADLINE
    >>> t = ParagraphTable.build(doc=np.repeat(np.arange(5), 2), para=[0, 1] * 5, exact=np.arange(10),
    ...                          length=[200, 30] * 4 + [30, 200], shape=[BODY, HEADLINE] * 4 + [HEADLINE, BODY],
    ...                          related=[-1, 0] * 4 + [-1, -1])
    >>> d = DocumentTable(chars=np.full(5, 230), site=np.full(5, -1), date=np.zeros(5),
    ...                   site_docs=np.empty(0, np.int64), earlier=np.zeros(5, bool))
    >>> stripped, counts = confirm_link_lists(t, d, np.array([0, 1, 2, 1, 4, 1, 6, 7, 1, 9]), 0.5)
    >>> stripped.nonzero()[0].tolist(), counts["link_lists_kept"]
    ([1, 3, 5], 1)
    """
    n = table.size
    stripped = np.zeros(n, dtype=bool)
    if not (table.related >= 0).any():
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
    run_headed = table.related_headed[t_rows[run_first]]
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
    title = np.where(table.published, table.placement == TITLE,
                     placement(table.doc, table.shape, table.related < 0) == TITLE)
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
    big = size > EVIDENCE_ROWS
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
            step = max(VERIFY_PAIRS // EVIDENCE_ROWS, 1)  # bounds the pairs held at once
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
