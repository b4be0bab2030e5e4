"""Where MinHash signatures live between pass 1 and resolve: RAM, then disk.

Signatures are most of pass 1's memory (``num_perm`` x 4 bytes per
fingerprinted paragraph: 512 bytes at the default 128, ~8.5 GB for a
million-document crawl). :class:`SignatureStore` keeps them in RAM while they
fit a budget; past it, everything goes to one file in the run's scratch
folder, with the band keys written band by band beside it, so resolve reads
one band at a time and only the signature rows of candidate pairs.

The store answers the same questions either way, so the result of a run does
not depend on the budget (tested byte for byte).

>>> import numpy as np
>>> store = SignatureStore(rows=2, limit=0, folder=None)
>>> store.append(np.arange(8, dtype=np.uint32).reshape(2, 4))
>>> store.size, store.bands, store.take(np.array([1]))[0].tolist()
(2, 2, [4, 5, 6, 7])
"""

from __future__ import annotations

import itertools
import os

import numpy as np

from .fingerprint import band_key

# Pairs compared per numpy call: bounds the (pairs x num_perm) temporaries.
_CHUNK = 1 << 14


def _runs(sorted_values: np.ndarray) -> list[tuple[int, int]]:
    """(begin, end) of each run of equal values in a sorted array."""
    bounds = np.concatenate([[0], np.flatnonzero(np.diff(sorted_values)) + 1, [sorted_values.shape[0]]])
    return [(int(b), int(e)) for b, e in itertools.pairwise(bounds) if e > b]


class SignatureStore:
    """Append-only table of signatures, in RAM up to ``limit`` bytes, then on disk.

    Args:
        rows: rows per LSH band.
        limit: bytes of signatures held in RAM; 0 means no limit.
        folder: where to spill past the limit (``None``: never spill).
    """

    def __init__(self, rows: int, limit: int, folder: str | None) -> None:
        self.rows = rows
        self.limit = limit
        self.folder = folder
        self.width = 0
        self.size = 0
        self._parts: list[np.ndarray] = []
        self._joined: np.ndarray | None = None
        self._spilled = False

    @classmethod
    def of(cls, signatures: np.ndarray, rows: int) -> SignatureStore:
        """A RAM store over an existing ``uint32[m, num_perm]`` array."""
        store = cls(rows, 0, None)
        store.append(signatures)
        return store

    @property
    def spilled(self) -> bool:
        """True once the signatures went to disk."""
        return self._spilled

    @property
    def bands(self) -> int:
        return self.width // self.rows if self.size else 0

    def _path(self, name: str) -> str:
        assert self.folder is not None
        return os.path.join(self.folder, name)

    def append(self, signatures: np.ndarray) -> None:
        """Add rows at the end (their order is the row numbering)."""
        if signatures.shape[0] == 0:
            return
        self.width = signatures.shape[1]
        self.size += signatures.shape[0]
        self._joined = None
        if self._spilled:
            self._write(signatures)
            return
        self._parts.append(signatures)
        if self.limit and self.folder is not None and self.size * self.width * 4 > self.limit:
            held, self._parts = self._parts, []
            self._spilled = True
            for part in held:
                self._write(part)

    def _write(self, signatures: np.ndarray) -> None:
        with open(self._path("signatures.u32"), "ab") as out:
            out.write(np.ascontiguousarray(signatures, dtype=np.uint32).tobytes())
        # band keys now, while the batch is in memory: later, reading one band
        # from the row-major file would read the whole file each time
        for band in range(self.width // self.rows):
            with open(self._path(f"band-{band:04d}.u64"), "ab") as out:
                out.write(band_key(signatures, band, self.rows).tobytes())

    def _array(self) -> np.ndarray:
        if self._joined is None:
            if not self._parts:
                self._joined = np.empty((0, max(self.width, 1)), np.uint32)
            elif len(self._parts) == 1:
                self._joined = self._parts[0]
            else:
                # copy part by part, releasing each, so the peak stays near 1x
                joined = np.empty((self.size, self.width), np.uint32)
                filled = 0
                for number, part in enumerate(self._parts):
                    joined[filled : filled + part.shape[0]] = part
                    filled += part.shape[0]
                    self._parts[number] = joined[:0]
                self._joined = joined
            self._parts = [self._joined]
        return self._joined

    def band(self, band: int) -> np.ndarray:
        """Key of band ``band`` for every row (``uint64[size]``)."""
        if self._spilled:
            return np.fromfile(self._path(f"band-{band:04d}.u64"), dtype=np.uint64)
        return band_key(self._array(), band, self.rows)

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Signature rows ``rows`` (``uint32[len(rows), num_perm]``)."""
        if not self._spilled:
            return self._array()[rows]
        # one map per block of rows, for the same reason as in similarity()
        out = np.empty((rows.shape[0], self.width), dtype=np.uint32)
        order = np.argsort(rows, kind="stable")
        for begin, end in _runs(rows[order] // self._block()):
            mapped = self._map()
            out[order[begin:end]] = mapped[rows[order[begin:end]]]
            del mapped
        return out

    def _block(self) -> int:
        """Rows per block: two blocks mapped at once stay within the memory limit."""
        return max(1024, self.limit // (2 * 4 * self.width)) if self.limit else max(self.size, 1)

    def _map(self) -> np.ndarray:
        return np.memmap(self._path("signatures.u32"), dtype=np.uint32, mode="r",
                         shape=(self.size, self.width))

    def similarity(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Share of equal slots of rows ``first[i]`` and ``second[i]`` (estimated Jaccard)."""
        out = np.empty(first.shape[0], dtype=np.float32)
        if not self._spilled:
            signatures = self._array()
            for start in range(0, first.shape[0], _CHUNK):
                stop = start + _CHUNK
                out[start:stop] = (signatures[first[start:stop]] == signatures[second[start:stop]]).mean(axis=1)
            return out
        # Spilled: candidate rows lie all over the file, and every page a map
        # touches counts as this process's memory until the map closes. So
        # pairs go in tiles of two blocks of rows, one map per tile, and at
        # most two blocks (the memory limit) are mapped at any time.
        block = self._block()
        blocks = -(-self.size // block)
        tile = (np.minimum(first, second) // block) * blocks + np.maximum(first, second) // block
        order = np.argsort(tile, kind="stable")
        for begin, end in _runs(tile[order]):
            mapped = self._map()
            for start in range(begin, end, _CHUNK):
                pairs = order[start : min(start + _CHUNK, end)]
                out[pairs] = (mapped[first[pairs]] == mapped[second[pairs]]).mean(axis=1)
            del mapped
        return out

    def close(self) -> None:
        """Release the RAM held (files stay until the scratch folder goes)."""
        self._parts = []
        self._joined = None
