"""Link lists the stripper removed: kept as the article's own when the corpus says so."""

from __future__ import annotations

from dataclasses import dataclass

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
    stripped = np.zeros(table.size, dtype=bool)
    if not (table.related >= 0).any():
        return stripped, {}
    lists = _Lists.of(table)
    counts = {"link_lists": lists.count, "link_lists_kept": 0, "link_list_lines_kept": 0}
    if min_share <= 0:
        stripped[lists.rows] = True
        return stripped, counts
    found, titled = _find_elsewhere(table, docs, labels, lists)
    # the site's evidence: lists naming another page's title versus lists found nowhere
    group = docs.site[lists.doc[lists.first]] + 1  # 0: documents without a url, together
    n_groups = int(group.max()) + 1
    titles = np.bincount(group[titled], minlength=n_groups)
    alone = np.bincount(group[~found], minlength=n_groups)
    judged = titles + alone
    trusted = (judged >= RELATED_EVIDENCE_RUNS) & (titles >= min_share * np.maximum(judged, 1))
    kept = ~found & trusted[group] & ~table.related_headed[lists.rows[lists.first]]
    stripped[lists.rows[~kept[lists.run]]] = True
    counts["link_lists_kept"] = int(kept.sum())
    counts["link_list_lines_kept"] = int(kept[lists.run].sum())
    return stripped, counts


@dataclass(slots=True)
class _Lists:
    """The link lists' lines (rows with a list number) and the lists (runs) they make up."""

    rows: np.ndarray  # int64[l] the lines' rows
    doc: np.ndarray  # int64[l] their documents
    run: np.ndarray  # int64[l] the list of each line
    first: np.ndarray  # int64[r] each list's first line (an index into rows)
    last: np.ndarray  # int64[r] each list's last row

    @classmethod
    def of(cls, table: ParagraphTable) -> _Lists:
        rows = np.flatnonzero(table.related >= 0)
        doc = table.doc[rows]
        key = doc * (int(table.related.max()) + 1) + table.related[rows]
        _, first, run = np.unique(key, return_index=True, return_inverse=True)
        last = np.zeros(first.shape[0], dtype=np.int64)
        np.maximum.at(last, run, rows)
        return cls(rows, doc, run, first, last)

    @property
    def count(self) -> int:
        return int(self.first.shape[0])


def _find_elsewhere(
    table: ParagraphTable, docs: DocumentTable, labels: np.ndarray, lists: _Lists
) -> tuple[np.ndarray, np.ndarray]:
    """Per list: is a line of it found on a page that is not a copy of its article, and does a line
    name another page's title there (both bool[r])."""
    anchors = _anchors(table, labels, lists)
    # titles: rows leading into body text in their own document (an earlier run's as it decided);
    # a list line whose cluster holds one names another page's title
    title = placement(table.doc, table.shape, table.related < 0) == TITLE
    title[table.first_earlier:] = table.earlier_placement == TITLE
    t_labels = labels[lists.rows]
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
    mine = t_labels * n_docs + lists.doc
    own_title = np.zeros(lists.rows.shape[0], dtype=bool)
    if titled_pairs.shape[0]:
        at = np.minimum(np.searchsorted(titled_pairs, mine), titled_pairs.shape[0] - 1)
        own_title = titled_pairs[at] == mine
    names_title = title_docs[t_labels] - own_title > 0  # a title on another page
    # Where the article is on no other page (its anchors are in no other document's rows),
    # every other page holding a line is evidence: counts decide. So they do for a line
    # whose cluster is too big to pair. Otherwise pages carrying an anchor are copies of
    # the article and are set aside pair by pair.
    label_rows = np.bincount(labels, minlength=n_labels)
    copied = ((anchors >= 0) & (label_rows[np.maximum(anchors, 0)] > 1)).any(axis=1)[lists.run]
    counted = ~copied | (size > EVIDENCE_ROWS)
    found = np.zeros(lists.count, dtype=bool)
    found[lists.run[counted & (label_docs[t_labels] > 1)]] = True
    titled = np.zeros(lists.count, dtype=bool)
    titled[lists.run[counted & names_title]] = True
    todo = np.flatnonzero(~counted & (size > 1))
    if todo.shape[0]:
        pages = _Pages(table, labels, lists, anchors, todo)
        # found: a cluster's first and last rows settle most lines (a related title sits on
        # many pages); only lists still unsettled are paired row by row
        for end in (start[todo], start[todo] + size[todo] - 1):
            found[lists.run[todo[pages.without_article(todo, order[end])]]] = True
        rest = todo[~found[lists.run[todo]]]
        pages.pair(rest, order, start[rest], size[rest], found)
        # naming a title: paired with the title rows of the line's cluster only
        title_rows = order[title[order]]
        title_labels = labels[title_rows]
        t_start = np.searchsorted(title_labels, t_labels[todo])
        t_size = np.searchsorted(title_labels, t_labels[todo], side="right") - t_start
        named = t_size > 0
        pages.pair(todo[named], title_rows, t_start[named], t_size[named], titled)
    return found, titled


def _anchors(table: ParagraphTable, labels: np.ndarray, lists: _Lists) -> np.ndarray:
    """Per list, the clusters of up to :data:`ANCHORS` rows of its article (-1: none): the nearest
    long rows before the list, or after it if there is none before (int64[r, ANCHORS])."""
    long_rows = np.flatnonzero((table.related < 0) & (table.length >= ANCHOR_CHARS))
    anchors = np.full((lists.count, ANCHORS), -1, dtype=np.int64)
    if long_rows.shape[0] == 0:
        return anchors
    run_doc = lists.doc[lists.first]
    before = np.searchsorted(long_rows, lists.rows[lists.first])
    after = np.searchsorted(long_rows, lists.last, side="right")
    has_before = (before > 0) & (table.doc[long_rows[np.maximum(before - 1, 0)]] == run_doc)
    for k in range(ANCHORS):
        at = np.where(has_before, before - 1 - k, after + k)
        inside = (at >= 0) & (at < long_rows.shape[0])
        row = long_rows[np.clip(at, 0, long_rows.shape[0] - 1)]
        ok = inside & (table.doc[row] == run_doc)
        anchors[ok, k] = labels[row[ok]]
    return anchors


class _Pages:
    """Which pages carry a list's article: its own, and any holding one of its anchors (a copy)."""

    def __init__(self, table: ParagraphTable, labels: np.ndarray, lists: _Lists, anchors: np.ndarray,
                 lines: np.ndarray) -> None:
        self.doc, self.lists, self.anchors = table.doc, lists, anchors
        self.n_labels = int(labels.max()) + 1
        wanted = np.unique(anchors[np.unique(lists.run[lines])].ravel())
        with_anchor = np.flatnonzero(np.isin(labels, wanted[wanted >= 0]))
        self.held = np.unique(table.doc[with_anchor] * self.n_labels + labels[with_anchor])

    def without_article(self, lines: np.ndarray, other: np.ndarray) -> np.ndarray:
        """Is row ``other[i]`` on a page that does not carry the article of list line ``lines[i]``?"""
        sibling = self.doc[other] == self.lists.doc[lines]
        if self.held.shape[0]:
            for k in range(ANCHORS):
                anchor = self.anchors[self.lists.run[lines], k]
                key = self.doc[other] * self.n_labels + anchor
                at = np.minimum(np.searchsorted(self.held, key), self.held.shape[0] - 1)
                sibling |= (anchor >= 0) & (self.held[at] == key)
        return ~sibling

    def pair(self, lines: np.ndarray, rows: np.ndarray, first: np.ndarray, count: np.ndarray,
             into: np.ndarray) -> None:
        """Set ``into[list]`` for lines with a row on another article's page among ``count`` of
        ``rows`` from ``first``."""
        step = max(VERIFY_PAIRS // EVIDENCE_ROWS, 1)  # bounds the pairs held at once
        for lo in range(0, lines.shape[0], step):
            part, reps = lines[lo : lo + step], count[lo : lo + step]
            which = np.repeat(part, reps)
            offset = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
            other = rows[np.repeat(first[lo : lo + step], reps) + offset]
            into[self.lists.run[which[self.without_article(which, other)]]] = True
