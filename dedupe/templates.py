"""How often each line recurs across the corpus and across one site's pages.

Site templates are the strongest plain-text clue to chrome: a menu, a footer or
a sidebar heading recurs on page after page of the same site, while article
text does not. Before stripping, a counting pass records, for every distinct
line (by the hash of its match key), in how many documents it occurs — overall,
and per site when documents carry a URL. The stripper's context pass reads
these counts as features.

Only fixed-width numbers are kept: sorted ``uint64`` key arrays with their
counts, searchable with ``numpy.searchsorted`` and saved to ``.npy`` files so
worker processes can memory-map one copy instead of each receiving its own.

>>> table = TemplateTable.build([("a.com", ["Home", "Story one"]), ("a.com", ["Home", "Story two"]),
...                              (None, ["Home"])])
>>> table.lookup(["Home", "Story one"], "a.com")
(array([2, 0], dtype=uint32), array([1., 0.]))
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import xxhash

from .keys import match_keys, paused_collector

_EMPTY = np.empty(0, dtype=np.uint64)


def site_of(url: Any) -> str | None:
    """The site a URL belongs to: its host, lower-cased, without ``www.``.

    >>> site_of("https://WWW.Example.com/a/b"), site_of(""), site_of(None)
    ('example.com', None, None)
    """
    if not isinstance(url, str) or not url:
        return None
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.removeprefix("www.")


def line_hashes(lines: Sequence[str]) -> np.ndarray:
    """Hash of each line's match key (0 for a line with no words)."""
    return key_hashes(match_keys(lines))


def line_hashes_many(documents: Sequence[Sequence[str]]) -> list[np.ndarray]:
    """:func:`line_hashes` of each document's lines, the batch's match keys computed at once.

    A batch's pages share most of their lines (a site's menus and footers),
    so each distinct line is keyed and hashed once, in one
    :func:`~dedupe.keys.match_keys` call.

    >>> [h.tolist() for h in line_hashes_many([["Home", "--"], []])] == [line_hashes(["Home", "--"]).tolist(), []]
    True
    """
    if not documents:
        return []
    distinct: dict[str, int] = {}
    with paused_collector():
        # each line's number among the batch's distinct lines, in order of first appearance
        numbers = np.fromiter((distinct.setdefault(line, len(distinct)) for lines in documents for line in lines),
                              dtype=np.int64)
        hashes = key_hashes(match_keys(list(distinct)))[numbers]
    return np.split(hashes, np.cumsum([len(lines) for lines in documents])[:-1])


def key_hashes(keys: Sequence[str]) -> np.ndarray:
    """:func:`line_hashes` from the lines' match keys, already computed.

    >>> bool((key_hashes(["home", ""]) == line_hashes(["Home", "--"])).all())
    True
    """
    digest = xxhash.xxh3_64_intdigest
    return np.fromiter((digest(key.encode("utf-8")) | 1 if key else 0 for key in keys), dtype=np.uint64,
                       count=len(keys))


def _site_keys(hashes: np.ndarray, site: int | np.ndarray) -> np.ndarray:
    # One 64-bit key per (site, line): mixing keeps the table a single sorted array.
    with np.errstate(over="ignore"):
        mixed = hashes ^ (np.asarray(site + 1).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        mixed = (mixed ^ (mixed >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
    return mixed ^ (mixed >> np.uint64(29))


class TemplateTable:
    """Document frequency of lines, corpus-wide and per site."""

    def __init__(
        self,
        keys: np.ndarray,
        counts: np.ndarray,
        site_keys: np.ndarray,
        site_counts: np.ndarray,
        sites: dict[str, int],
        site_docs: np.ndarray,
    ) -> None:
        self.keys, self.counts = keys, counts
        self.site_keys, self.site_counts = site_keys, site_counts
        self.sites, self.site_docs = sites, site_docs

    @classmethod
    def build(cls, docs: Iterable[tuple[str | None, Sequence[str]]]) -> TemplateTable:
        """Count from ``(site or None, lines)`` pairs."""
        builder = TemplateBuilder()
        for site, lines in docs:
            builder.add(site, line_hashes(lines))
        return builder.finish()

    def lookup(self, lines: Sequence[str], site: str | None,
               hashes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """For each line: in how many *other* documents it occurs, and the share
        of the site's other pages that have it (0 without a site)."""
        if hashes is None:
            hashes = line_hashes(lines)
        others = _count(self.keys, self.counts, hashes)
        others = np.where(others > 0, others - 1, 0).astype(np.uint32)
        share = np.zeros(hashes.shape[0])
        site_id = self.sites.get(site) if site is not None else None
        if site_id is not None and self.site_docs[site_id] > 1:
            in_site = _count(self.site_keys, self.site_counts, _site_keys(hashes, site_id)).astype(np.float64)
            share = np.maximum(in_site - 1, 0) / (self.site_docs[site_id] - 1)
        empty = hashes == 0
        others[empty] = 0
        share[empty] = 0.0
        return others, share

    def lookup_many(self, hashes: Sequence[np.ndarray],
                    sites: Sequence[str | None]) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`lookup` of each document of a batch, from its lines' hashes and its site, in one search.

        >>> table = TemplateTable.build([("a.com", ["Home", "Story"]), ("a.com", ["Home"]), (None, ["Home"])])
        >>> [(n.tolist(), s.tolist()) for n, s in table.lookup_many([line_hashes(["Home", "Story"])] * 2,
        ...                                                          ["a.com", None])]
        [([2, 0], [1.0, 0.0]), ([2, 0], [0.0, 0.0])]
        """
        if not hashes:
            return []
        flat = np.concatenate(hashes)
        others = _count(self.keys, self.counts, flat)
        others = np.where(others > 0, others - 1, 0).astype(np.uint32)
        share = np.zeros(flat.shape[0])
        ids = [self.sites.get(site, -1) if site is not None else -1 for site in sites]
        site_ids = np.repeat(np.array(ids, dtype=np.int64), [h.shape[0] for h in hashes])
        counted = site_ids >= 0
        counted[counted] = self.site_docs[site_ids[counted]] > 1
        if counted.any():
            rows = site_ids[counted]
            in_site = _count(self.site_keys, self.site_counts, _site_keys(flat[counted], rows)).astype(np.float64)
            share[counted] = np.maximum(in_site - 1, 0) / (self.site_docs[rows] - 1)
        empty = flat == 0
        others[empty] = 0
        share[empty] = 0.0
        cuts = np.cumsum([h.shape[0] for h in hashes])[:-1]
        return list(zip(np.split(others, cuts), np.split(share, cuts)))

    def site_pages(self, site: str | None) -> int:
        """How many pages of ``site`` the corpus holds besides one (0 for no or an unknown site)."""
        site_id = self.sites.get(site) if site is not None else None
        return 0 if site_id is None else max(int(self.site_docs[site_id]) - 1, 0)

    def save(self, folder: Path) -> None:
        """Write the arrays as ``.npy`` files (for memory-mapping in workers)."""
        for name in ("keys", "counts", "site_keys", "site_counts", "site_docs"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        (folder / "sites.json").write_text(json.dumps(self.sites), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TemplateTable:
        arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r")
                  for name in ("keys", "counts", "site_keys", "site_counts", "site_docs")}
        sites = json.loads((folder / "sites.json").read_text(encoding="utf-8"))
        return cls(arrays["keys"], arrays["counts"], arrays["site_keys"], arrays["site_counts"], sites,
                   arrays["site_docs"])


def _count(keys: np.ndarray, counts: np.ndarray, query: np.ndarray) -> np.ndarray:
    if keys.shape[0] == 0:
        return np.zeros(query.shape[0], dtype=np.uint32)
    pos = np.searchsorted(keys, query)
    pos = np.minimum(pos, keys.shape[0] - 1)
    return np.where(keys[pos] == query, counts[pos], 0).astype(np.uint32)


class TemplateBuilder:
    """Accumulates per-document line hashes, then counts them.

    Pending hashes are folded into (distinct key, count) arrays every few
    thousand documents, so memory follows the number of distinct lines.
    """

    #: Documents between two foldings of the pending hashes.
    FOLD_EVERY = 4096

    def __init__(self) -> None:
        self._corpus = _Counts()
        self._site = _Counts()
        self.sites: dict[str, int] = {}
        self._site_docs: list[int] = []

    def add(self, site: str | None, hashes: np.ndarray) -> None:
        """Add one document's line hashes (each distinct line counts once)."""
        unique = np.unique(hashes[hashes != 0])
        self._corpus.add(unique)
        if site is not None:
            site_id = self.sites.setdefault(site, len(self.sites))
            if site_id == len(self._site_docs):
                self._site_docs.append(0)
            self._site_docs[site_id] += 1
            self._site.add(_site_keys(unique, site_id))

    def finish(self) -> TemplateTable:
        keys, counts = self._corpus.finish()
        site_keys, site_counts = self._site.finish()
        return TemplateTable(keys, counts, site_keys, site_counts, dict(self.sites),
                             np.array(self._site_docs, dtype=np.int64))


class _Counts:
    def __init__(self) -> None:
        self.keys = _EMPTY
        self.counts = np.empty(0, dtype=np.uint32)
        self.pending: list[np.ndarray] = []

    def add(self, keys: np.ndarray) -> None:
        self.pending.append(keys)
        if len(self.pending) >= TemplateBuilder.FOLD_EVERY:
            self.fold()

    def fold(self) -> None:
        if not self.pending:
            return
        fresh = np.concatenate(self.pending)
        self.pending = []
        keys = np.concatenate([self.keys, fresh])
        weights = np.concatenate([self.counts, np.ones(fresh.shape[0], dtype=np.uint32)])
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.counts = np.bincount(inverse, weights=weights, minlength=self.keys.shape[0]).astype(np.uint32)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        self.fold()
        return self.keys, self.counts
