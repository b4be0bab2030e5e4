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
