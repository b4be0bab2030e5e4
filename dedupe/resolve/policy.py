"""The keep policy: which copy of a paragraph is kept (by default: placement, then input order)."""

from __future__ import annotations

import numpy as np

from ..schema import BODY, ELSEWHERE, HEADLINE, LISTED, TITLE, DocumentTable, ParagraphTable
from .groups import per_document
from .resolution import Status


def placement(doc: np.ndarray, shape: np.ndarray, live: np.ndarray) -> np.ndarray:
    """:data:`TITLE`, :data:`ELSEWHERE` or :data:`LISTED` for rows in document order.

    Only ``live`` rows count as neighbours (the others — boilerplate, such as
    a site's name above every title — are skipped, and are ``ELSEWHERE``).
    A title is a headline-like row leading into body text, directly or, when
    no headline comes before it, over a one-line standfirst (a headline-like
    dek, then a row that is body and not headline-like), and not between two
    headline-like rows (a 12-18-word question is both body- and headline-like,
    so a list entry above one looked like a title). A listed row is
    headline-like, not a title, and next to another headline or after its
    document's last body row.

    >>> shape = np.array([HEADLINE, BODY, HEADLINE, HEADLINE], np.int8)
    >>> placement(np.zeros(4, np.int64), shape, np.ones(4, bool)).tolist()
    [0, 1, 2, 2]
    >>> placement(np.zeros(4, np.int64), np.array([HEADLINE, HEADLINE, HEADLINE, BODY], np.int8),
    ...           np.array([False, True, True, True])).tolist()
    [1, 0, 0, 1]
    """
    out = np.full(doc.shape[0], ELSEWHERE, dtype=np.int8)
    rows = np.flatnonzero(live)
    if rows.shape[0] == 0:
        return out
    d = doc[rows]
    head = (shape[rows] & HEADLINE) > 0
    body = (shape[rows] & BODY) > 0

    def ahead(values: np.ndarray, step: int) -> np.ndarray:
        shifted = np.zeros(values.shape[0], dtype=bool)
        if values.shape[0] > step:
            shifted[:-step] = values[step:] & (d[step:] == d[:-step])
        return shifted

    before = np.zeros(rows.shape[0], dtype=bool)
    before[1:] = head[:-1] & (d[1:] == d[:-1])
    after = ahead(head, 1)
    over_dek = ~before & after & ahead(body, 2) & ~ahead(head, 2)
    # a line between two headline-like lines is a list entry, whatever follows
    title = head & (ahead(body, 1) | over_dek) & ~(before & after)
    # each document's last body row (-1 without one), by position among live rows
    position = np.arange(rows.shape[0])
    last_of_row = per_document(d, np.where(body, position, -1), np.maximum)
    listed = head & ~title & (before | after | ((position > last_of_row) & (last_of_row >= 0)))
    out[rows] = np.where(title, TITLE, np.where(listed, LISTED, ELSEWHERE))
    return out


def ahead_of_text(doc: np.ndarray, shape: np.ndarray, live: np.ndarray) -> np.ndarray:
    """Live rows standing before their document's first body row (bool[n]; rows in document order).

    >>> ahead_of_text(np.array([0, 0, 0, 1]), np.array([HEADLINE, BODY, HEADLINE, HEADLINE], np.int8),
    ...               np.ones(4, bool)).tolist()
    [True, False, False, True]
    """
    out = np.zeros(doc.shape[0], dtype=bool)
    rows = np.flatnonzero(live)
    if rows.shape[0] == 0:
        return out
    body = (shape[rows] & BODY) > 0
    position = np.arange(rows.shape[0])
    out[rows] = position < per_document(doc[rows], np.where(body, position, rows.shape[0]), np.minimum)
    return out


def rank_copies(
    table: ParagraphTable, docs: DocumentTable, keep: str, status: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Every row's placement, decided once the corpus's boilerplate is known, and its rank.

    A site's name above every page's title no longer makes the title look
    like a list entry once it is known as boilerplate. Rows of earlier runs
    keep the placement they were published with.
    """
    current = ~table.published
    live = current & (status != Status.BOILERPLATE) & (status != Status.STRIPPED)
    placed = placement(table.doc, table.shape, live)
    placed[table.first_earlier:] = table.earlier_placement
    # a headline below the start of its page's text is a link to an article, not its title
    late = current & ((table.shape & HEADLINE) > 0) & ~ahead_of_text(table.doc, table.shape, live)
    return placed, ranks(policy_order(table, docs, keep, placed, late))


def policy_order(
    table: ParagraphTable, docs: DocumentTable, keep: str, placed: np.ndarray, late: np.ndarray
) -> list[np.ndarray]:
    """Sort keys (least significant first, for lexsort) ranking rows within a cluster.

    The keep policy the user chose decides. ``placement`` (the default)
    ranks by where a headline stands, then input order: a headline that
    leads into an article's text wins over other copies, and one sitting in a
    list of links (a related-posts list the stripper did not catch) loses to
    any other, so the article keeps its title and the list loses its link.
    Before placement, where a headline stands: above its page's first body
    row (where titles stand, whatever follows them: a tagline, a dek) it wins
    over a copy below the start of some page's text (``late``: a link to the
    article in a list or sidebar, however much it looks like a title there).
    ``first`` is input order alone; ``earliest`` and ``longest`` rank by
    date or length, and placement breaks only their ties. Rows of earlier
    runs win over all: their copy is published.

    >>> t = ParagraphTable.build(doc=[0, 1], para=[0, 0], exact=[7, 7], length=[40, 40])
    >>> d = DocumentTable(chars=np.array([40, 40]), site=np.full(2, -1), date=np.zeros(2),
    ...                   site_docs=np.empty(0, np.int64), earlier=np.zeros(2, bool))
    >>> placed, late = np.array([LISTED, TITLE], np.int8), np.zeros(2, bool)
    >>> [ranks(policy_order(t, d, keep, placed, late)).tolist() for keep in ("placement", "first", "longest")]
    [[1, 0], [0, 1], [1, 0]]
    """
    order = np.arange(table.size, dtype=np.int64)
    keys = [order]
    if keep != "first":
        keys.append(placed)
        keys.append(late.astype(np.int8))
    if keep == "earliest":
        keys.append(docs.date[table.doc])
    elif keep == "longest":
        keys.append(-table.length)
    keys.append((~table.published).astype(np.int8))
    return keys


def ranks(keys: list[np.ndarray]) -> np.ndarray:
    """Position of every row in keep-policy order (0 = preferred)."""
    order = np.lexsort(keys)
    rank = np.empty(order.shape[0], dtype=np.int64)
    rank[order] = np.arange(order.shape[0])
    return rank
