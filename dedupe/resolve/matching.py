"""Whether two rows are directly similar: the edge rules, applied to any pair."""

from __future__ import annotations

import numpy as np

from ..config import DedupConfig
from ..schema import ParagraphTable
from .candidates import VERIFY_PAIRS, across_documents, same_identifiers, words_one_edit_apart
from .groups import count_bits
from .resolution import MATCH_EXACT, MATCH_MINHASH, MATCH_TYPO


class Matcher:
    """Whether row pairs are directly similar, how (``MATCH_*``) and how much.

    The rules of the candidate edges, applied to any pair: the same exact key,
    or an estimated Jaccard similarity at the threshold (the short threshold
    for a short line), or one typo apart; always with equal identifiers, and
    inside one page only for the very same text.
    """

    def __init__(self, table: ParagraphTable, config: DedupConfig) -> None:
        self.table = table
        self.threshold = config.threshold
        self.short_chars = config.short_chars
        self.short_threshold = max(config.threshold, config.short_threshold)
        self.checked = 0
        # each row's typo keys: typo_count of them from typo_start, in these sorted copies
        order = np.argsort(table.typo_row, kind="stable")
        rows = table.typo_row[order]
        self.typo_hash = table.typo_hash[order]
        self.typo_letters = table.typo_letters[order]
        self.typo_len = table.typo_len[order].astype(np.int64)
        self.typo_word = table.typo_word[order]
        every = np.arange(table.size)
        self.typo_start = np.searchsorted(rows, every)
        self.typo_count = np.searchsorted(rows, every, side="right") - self.typo_start

    def match(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(MATCH_* or 0, similarity) of every pair ``(a[i], b[i])``."""
        t = self.table
        self.checked += a.shape[0]
        kind = np.zeros(a.shape[0], dtype=np.int8)
        similarity = np.zeros(a.shape[0], dtype=np.float32)
        allowed = same_identifiers(t, a, b) & across_documents(t, a, b)
        exact = allowed & (t.exact[a] == t.exact[b])
        kind[exact] = MATCH_EXACT
        similarity[exact] = 1.0
        signed = np.flatnonzero(allowed & ~exact & (t.sig_row[a] >= 0) & (t.sig_row[b] >= 0))
        if signed.shape[0]:
            pa, pb = a[signed], b[signed]
            estimate = t.signatures.similarity(t.sig_row[pa], t.sig_row[pb])
            short = np.minimum(t.length[pa], t.length[pb]) < self.short_chars
            similar = estimate >= np.where(short, self.short_threshold, self.threshold)
            kind[signed[similar]] = MATCH_MINHASH
            similarity[signed[similar]] = estimate[similar]
        rest = np.flatnonzero(allowed & (kind == 0) & (self.typo_count[a] > 0) & (self.typo_count[b] > 0))
        if rest.shape[0]:
            hit = rest[self._one_typo_apart(a[rest], b[rest])]
            kind[hit] = MATCH_TYPO
            # one letter in the longer line's characters is what they are known to differ by
            similarity[hit] = 1.0 - 1.0 / np.maximum(np.maximum(t.length[a[hit]], t.length[b[hit]]), 1)
        return kind, similarity

    def _one_typo_apart(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Pairs sharing a typo key whose differing words are a typo apart
        (see :func:`~dedupe.resolve.candidates.typo_edges`)."""
        out = np.zeros(a.shape[0], dtype=bool)
        count_a, count_b = self.typo_count[a], self.typo_count[b]
        step = max(VERIFY_PAIRS // 64, 1)
        for lo in range(0, a.shape[0], step):
            ca, cb = count_a[lo : lo + step], count_b[lo : lo + step]
            per = ca * cb
            pair = np.repeat(np.arange(ca.shape[0]), per)
            offset = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
            ka = self.typo_start[a[lo : lo + step]][pair] + offset // cb[pair]
            kb = self.typo_start[b[lo : lo + step]][pair] + offset % cb[pair]
            differ = count_bits(self.typo_letters[ka] ^ self.typo_letters[kb])
            close = ((self.typo_hash[ka] == self.typo_hash[kb]) & (differ <= 2)
                     & (np.abs(self.typo_len[ka] - self.typo_len[kb]) <= 1))
            at = np.flatnonzero(close)
            close[at] = words_one_edit_apart(self.typo_word[ka[at]], self.typo_word[kb[at]])
            out[lo + pair[close]] = True
        return out
