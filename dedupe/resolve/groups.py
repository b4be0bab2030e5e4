"""Grouping rows by sorting: group starts, distinct rows, candidate pairs inside groups."""

from __future__ import annotations

import numpy as np


def group_starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal keys starts in sorted keys.

    >>> group_starts(np.array([1, 1, 4])).tolist()
    [True, False, True]
    """
    starts = np.ones(sorted_keys.shape[0], dtype=bool)
    if sorted_keys.shape[0] > 1:
        starts[1:] = sorted_keys[1:] != sorted_keys[:-1]
    return starts


def unique_rows(columns: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equal-length integer columns, and how often each occurs.

    >>> [c.tolist() for c in unique_rows([np.array([2, 1, 2]), np.array([5, 5, 5])])[0]]
    [[1, 2], [5, 5]]
    """
    order, positions = _distinct(columns)
    return [column[order[positions]] for column in columns], np.diff(np.append(positions, order.shape[0]))


def unique_rows_weighted(columns: list[np.ndarray], weights: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of equal-length integer columns, and the sum of ``weights`` over each."""
    order, positions = _distinct(columns)
    sums = np.add.reduceat(weights[order], positions) if positions.shape[0] else weights[:0]
    return [column[order[positions]] for column in columns], sums


def _distinct(columns: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The rows sorted by the columns, and where each distinct row starts in that order."""
    order = np.lexsort(columns[::-1])
    starts = np.zeros(order.shape[0], dtype=bool)
    if order.shape[0]:
        starts[0] = True
        for column in columns:
            ordered = column[order]
            starts[1:] |= ordered[1:] != ordered[:-1]
    return order, np.flatnonzero(starts)


def group_pairs(keys: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row, first row of its key group) and (row, previous row of its group)."""
    order = np.argsort(keys, kind="stable")
    return sorted_group_pairs(group_starts(keys[order]), rows[order])


def group_pairs_across(
    keys: np.ndarray, rows: np.ndarray, classes: np.ndarray, doc: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_pairs`, plus pairs between the *different texts* of a group.

    Pairing each row with its group's first row and its predecessor connects
    copies of one text, but in a group of several different texts
    (``classes``: rows of one class are copies, such as rows of one exact
    key) two texts alike only to each other may never meet: with first and
    predecessor unlike both, cleaning the output — where those had gone —
    paired them, and removed more. So in every group of three texts or more,
    each class's first row, and its first row in another document (inside
    one page only the very same text is a copy), is paired with the next
    ``window`` such rows of the group: every pair of texts in groups of up to
    about ``window / 2`` texts.

    >>> keys, classes = np.array([5, 5, 5, 5]), np.array([1, 2, 1, 3])
    >>> a, b = group_pairs_across(keys, np.arange(4), classes, np.arange(4), window=8)
    >>> def unordered(a, b): return {tuple(sorted(p)) for p in zip(a.tolist(), b.tolist())}
    >>> sorted(unordered(a, b) - unordered(*group_pairs(keys, np.arange(4))))
    [(1, 3)]
    """
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = group_starts(sorted_keys)
    a, b = sorted_group_pairs(starts, rows[order])
    n = order.shape[0]
    if n < 3:
        return a, b
    starts_at = np.flatnonzero(starts)
    sizes = np.diff(np.append(starts_at, n))
    if not (sizes >= 3).any():
        return a, b
    large = sizes >= 3
    big = np.repeat(large, sizes)  # most groups are single rows: only groups of 3+ go on
    at = order[big]  # positions (into rows) of those groups' rows, by group, then row
    g = np.repeat(np.flatnonzero(large), sizes[large])
    c, d, r = classes[at], doc[at], rows[at]
    sub = np.lexsort((c, g))  # stable: rows stay in order inside a text
    g, c, d, r = g[sub], c[sub], d[sub], r[sub]
    m = g.shape[0]
    class_start = group_starts(g) | group_starts(c)
    index = np.arange(m)
    first = np.maximum.accumulate(np.where(class_start, index, 0))
    starts_at = np.flatnonzero(class_start)
    elsewhere = np.minimum.reduceat(np.where(d != d[first], index, m), starts_at)
    picked = np.sort(np.concatenate([starts_at, elsewhere[elsewhere < m]]))
    pg, pr = g[picked], r[picked]
    texts = np.bincount(g[starts_at], minlength=int(g.max()) + 1)
    wanted = texts[pg] >= 3  # two texts are paired already by first and predecessor
    pg, pr = pg[wanted], pr[wanted]
    more_a, more_b = [a], [b]
    for step in range(1, min(window, pg.shape[0] - 1) + 1):
        same = np.flatnonzero(pg[step:] == pg[:-step])
        if same.shape[0] == 0:
            break
        more_a.append(pr[same + step])
        more_b.append(pr[same])
    return np.concatenate(more_a), np.concatenate(more_b)


def text_representatives(texts: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """Positions of each text's first row, and of its first row in another document, in order.

    Copies of one text (``texts``: exact hashes) have one signature and are
    joined by their exact hash; for band candidates one row of each text
    stands for all (two, when the text is also in another document: inside
    one page only the very same text is a copy).

    >>> text_representatives(np.array([7, 7, 7, 9, 7]), np.array([0, 0, 1, 1, 2])).tolist()
    [0, 2, 3]
    """
    n = texts.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(texts, kind="stable")
    starts = group_starts(texts[order])
    at = np.arange(n)
    first = np.maximum.accumulate(np.where(starts, at, 0))
    starts_at = np.flatnonzero(starts)
    ordered_doc = doc[order]
    elsewhere = np.minimum.reduceat(np.where(ordered_doc != ordered_doc[first], at, n), starts_at)
    return np.sort(np.concatenate([order[starts_at], order[elsewhere[elsewhere < n]]]))


def sorted_group_pairs(starts: np.ndarray, ordered_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Candidate pairs of rows already sorted by group, then by row.

    ``starts[i]`` marks the first row of a group. Each row is paired with its
    group's first row and with its predecessor, so a group of k rows costs
    O(k) pairs while a chain of near copies stays connected.

    >>> a, b = sorted_group_pairs(np.array([True, False, False, True]), np.array([3, 5, 9, 4]))
    >>> sorted(zip(a.tolist(), b.tolist()))
    [(5, 3), (9, 3), (9, 5)]
    """
    if ordered_rows.shape[0] < 2:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    first_pos = np.maximum.accumulate(np.where(starts, np.arange(ordered_rows.shape[0]), 0))
    member = ~starts
    positions = np.flatnonzero(member)
    to_first = (ordered_rows[positions], ordered_rows[first_pos[positions]])
    not_second = positions[first_pos[positions] != positions - 1]
    to_prev = (ordered_rows[not_second], ordered_rows[not_second - 1])
    return np.concatenate([to_first[0], to_prev[0]]), np.concatenate([to_first[1], to_prev[1]])


def per_document(doc: np.ndarray, values: np.ndarray, reduce: np.ufunc) -> np.ndarray:
    """``reduce`` of ``values`` over each row's document (rows in document order), per row.

    >>> per_document(np.array([0, 0, 1]), np.array([3, 5, 2]), np.maximum).tolist()
    [5, 5, 2]
    """
    starts = np.flatnonzero(np.concatenate([[True], doc[1:] != doc[:-1]]))
    return np.repeat(reduce.reduceat(values, starts), np.diff(np.append(starts, doc.shape[0])))


_BITS = np.array([value.bit_count() for value in range(256)], dtype=np.int64)


def count_bits(values: np.ndarray) -> np.ndarray:
    """Set bits of every uint64 value (a popcount, a byte at a time: numpy < 2 has no bitwise_count).

    >>> count_bits(np.array([0, 7, 2**63], np.uint64)).tolist()
    [0, 3, 1]
    """
    out = np.zeros(values.shape[0], dtype=np.int64)
    for shift in range(0, 64, 8):
        out += _BITS[((values >> np.uint64(shift)) & np.uint64(0xFF)).astype(np.int64)]
    return out
