"""Input shards: the input cut into pieces a worker reads by itself.

The driver lists the input (:class:`~dedupe.readers.FileSource`) and cuts it
into :class:`Shard`\\ es of about ``shard_bytes`` each, without reading the
documents: an uncompressed JSONL file larger than that is split into byte
ranges (a line belongs to the range it starts in), a Parquet file into runs
of row groups (read from its footer), and small files are grouped. Every
task then opens its own shard, through fsspec for a URL
(:meth:`~dedupe.readers.PieceReader.read_piece`), and reads exactly the
records a local run reads there, in the same order, with the same
locations: byte ranges learn how many lines come before them from
:func:`count_piece_lines`, which runs where the stages run.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "a.jsonl").write_text("".join(f'{{"text": "line {n}"}}\\n' for n in range(100)))
>>> shards = list_shards([Piece(str(folder / "a.jsonl"), "a.jsonl", "a.jsonl")], shard_bytes=1000)
>>> [len(s.pieces) for s in shards], [s.pieces[0].start for s in shards]
([1, 1], [0, 1000])
>>> [count_piece_lines(None, s.pieces[0]) for s in shards]
[51, 49]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .readers import JSONL_SUFFIXES, PARQUET_SUFFIXES, Piece, split_suffix
from .streams import is_url, open_raw

log = logging.getLogger(__name__)

#: Input bytes per shard, and so per part file of ``--parts``, at most (by default).
SHARD_BYTES = 64 << 20
#: Shards a small input is cut into by default, so that a cluster has tasks
#: for every worker: its size over this, but not under :data:`MIN_SHARD_BYTES`.
SHARDS = 32
#: Input bytes per shard at least (by default).
MIN_SHARD_BYTES = 1 << 20
#: Bytes read at a time when counting a piece's lines.
COUNT_BYTES = 1 << 22


@dataclass(frozen=True, slots=True)
class Shard:
    """Consecutive pieces of the input, read by one task: its ``number`` names its part files."""

    number: int
    pieces: tuple[Piece, ...]
    size: int  # input bytes (compressed, as stored)

    @property
    def chars(self) -> int:
        """The shard's size, as executors weigh jobs (characters of a batch)."""
        return self.size


def _size(path: str) -> int:
    if is_url(path):
        raw, size = open_raw(path)
        raw.close()
        return size
    import os

    return os.stat(path).st_size


def _split(piece: Piece, size: int, shard_bytes: int) -> list[tuple[Piece, int]]:
    """A file as pieces of about ``shard_bytes``, with their sizes."""
    kind, compression = split_suffix(piece.path)
    if size <= shard_bytes or compression:
        return [(piece, size)]
    if kind in JSONL_SUFFIXES:
        ends = [(start, min(size, start + shard_bytes)) for start in range(0, size, shard_bytes)]
        return [(replace(piece, start=start, stop=stop), stop - start) for start, stop in ends]
    if kind in PARQUET_SUFFIXES:
        return _row_group_runs(piece, shard_bytes) or [(piece, size)]
    return [(piece, size)]


def _row_group_runs(piece: Piece, shard_bytes: int) -> list[tuple[Piece, int]]:
    """A Parquet file as runs of row groups of about ``shard_bytes`` (nothing if its footer is unreadable)."""
    try:
        import pyarrow.parquet as pq

        meta = pq.ParquetFile(open_raw(piece.path)[0] if is_url(piece.path) else piece.path).metadata
    except Exception:  # noqa: BLE001 - the reader reports an unreadable file, as a whole-file piece
        return []
    runs: list[tuple[Piece, int]] = []
    first = rows = size = 0
    for group in range(meta.num_row_groups):
        size += meta.row_group(group).total_byte_size
        if size >= shard_bytes or group == meta.num_row_groups - 1:
            runs.append((replace(piece, groups=(first, group + 1), first_row=rows), size))
            for number in range(first, group + 1):
                rows += meta.row_group(number).num_rows
            first, size = group + 1, 0
    return runs if len(runs) > 1 else []


def default_shard_bytes(total: int) -> int:
    """Bytes per shard for ``total`` bytes of input: :data:`SHARDS` shards, within
    :data:`MIN_SHARD_BYTES` and :data:`SHARD_BYTES`. It depends on the input alone, so the
    part files do not change with the cluster.

    >>> default_shard_bytes(10 << 20) == MIN_SHARD_BYTES, default_shard_bytes(1 << 40) == SHARD_BYTES
    (True, True)
    """
    return max(MIN_SHARD_BYTES, min(SHARD_BYTES, -(-total // SHARDS)))


def list_shards(files: Sequence[Piece], shard_bytes: int | None = None) -> list[Shard]:
    """The input files as shards of about ``shard_bytes`` (None: :func:`default_shard_bytes`), in input order.

    Byte ranges of a JSONL file come without their first line numbers: set
    them with :func:`number_lines` before reading.
    """
    sizes = [_size(whole.path) for whole in files]
    if shard_bytes is None:
        shard_bytes = default_shard_bytes(sum(sizes))
    shards: list[Shard] = []
    pieces: list[Piece] = []
    held = 0

    def close() -> None:
        nonlocal pieces, held
        if pieces:
            shards.append(Shard(len(shards), tuple(pieces), held))
        pieces, held = [], 0

    for whole, whole_size in zip(files, sizes):
        for piece, size in _split(whole, whole_size, shard_bytes):
            if held and held + size > shard_bytes:
                close()
            pieces.append(piece)
            held += size
            if piece.stop is not None or piece.groups is not None:
                close()  # a part of a big file is a shard of its own
    close()
    return shards


def count_piece_lines(context: Any, piece: Piece) -> int:
    """Lines that start in the piece's byte range (a stage: ``context`` is unused).

    The reader counts a line where it starts, and a line starts at byte 0
    and after every line end; so this counts the line ends in
    ``[max(start, 1) - 1, stop - 1)``, and the first line when the range
    starts the file.
    """
    del context
    raw, size = open_raw(piece.path)
    stop = size if piece.stop is None else min(piece.stop, size)
    begin = max(piece.start, 1) - 1
    count = 1 if piece.start == 0 and size > 0 else 0
    try:
        raw.seek(begin)
        left = max(0, stop - 1 - begin)
        while left > 0:
            chunk = raw.read(min(COUNT_BYTES, left))
            if not chunk:
                break
            count += chunk.count(b"\n")
            left -= len(chunk)
    finally:
        raw.close()
    return count


def number_lines(shards: list[Shard], run: Callable[[Callable[[Any, Piece], int], Iterable[Piece]], Iterator[int]]
                 ) -> list[Shard]:
    """``shards`` with each JSONL byte range told how many lines of its file come before it.

    ``run`` maps :func:`count_piece_lines` over pieces where the stages run
    (an executor's ``map``), so the driver reads none of the input.
    """
    ranged = [piece for shard in shards for piece in shard.pieces if piece.stop is not None]
    if not ranged:
        return shards
    before: dict[tuple[str, int], int] = {}
    totals: dict[str, int] = {}
    for piece, lines in zip(ranged, run(count_piece_lines, ranged)):
        before[(piece.path, piece.start)] = totals.get(piece.path, 0)
        totals[piece.path] = totals.get(piece.path, 0) + lines
    return [replace(shard, pieces=tuple(
        replace(piece, first_line=before[(piece.path, piece.start)]) if piece.stop is not None else piece
        for piece in shard.pieces)) for shard in shards]
