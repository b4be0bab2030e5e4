"""Input bytes: decompression that keeps what it could read, and lines with a length cap.

A damaged archive is read up to the damage: every byte the decompressor could
produce reaches the reader, and the damage is reported afterwards (as
:class:`Damage`) instead of as an exception that would take the last buffered
bytes with it. Decompression produces a bounded amount per step, so a small
archive holding gigabytes (a "decompression bomb") costs no more memory than
the longest line the reader accepts.

>>> import gzip, io
>>> data = gzip.compress(b"one\\ntwo\\n" * 1000)[:40]   # 56 bytes, cut short
>>> stream = InputStream(io.BytesIO(data), ".gz", size=40)
>>> stream.read_line(100)
(b'one\\n', 4)
>>> rest, length = stream.read_all(1 << 20)
>>> length, rest[:8], stream.damage.kind
(4133, b'two\\none\\n', 'truncated')
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: Compressed bytes read from the file per step.
READ_BYTES = 1 << 16
#: Decompressed bytes one gzip step may produce: bounds what a bomb can
#: allocate before the line cap sees it.
GZIP_STEP_BYTES = 1 << 20
#: Compressed bytes handed to the zstd decompressor per call. Its calls have no
#: output bound, and zstd reaches ~32,000:1 on repeated bytes, so one call
#: yields at most ~32 MB; measured no slower than larger steps on real text.
ZSTD_STEP_BYTES = 1 << 10
#: Pieces in which a long line is read, so that a line over the cap is never
#: held whole.
LINE_PIECE_BYTES = 1 << 20
TRUNCATED = "the compressed stream ends early (the file is cut short)"


@dataclass(frozen=True, slots=True)
class Damage:
    """Why a compressed stream stopped early, and where.

    ``kind`` is ``truncated`` (the file ends inside the stream) or ``corrupt``
    (bytes the decompressor rejects). ``compressed_bytes_read`` counts the file's
    bytes consumed before the damage, of ``compressed_bytes_total``.
    """

    kind: str
    message: str
    compressed_bytes_read: int
    compressed_bytes_total: int

    @property
    def compressed_bytes_unread(self) -> int:
        return max(0, self.compressed_bytes_total - self.compressed_bytes_read)


class _Decoder(io.RawIOBase):
    """Decompressed bytes of a gzip or zstd file; damage ends the stream and is kept."""

    def __init__(self, raw: IO[bytes], compression: str, size: int) -> None:
        super().__init__()
        self._raw = raw
        self._gzip = compression == ".gz"
        self._size = size
        self._consumed = 0  # compressed bytes the decompressors accepted
        self._input = b""
        self._offset = 0  # zstd: bytes of _input already decompressed
        self._output = memoryview(b"")
        self._members = 0
        self._done = False
        self._obj: Any = None  # the current member's (frame's) decompressor
        self.damage: Damage | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._output:
            if self._done or not self._step():
                self._done = True
                return 0
        count = min(len(buffer), len(self._output))
        buffer[:count] = self._output[:count]
        self._output = self._output[count:]
        return count

    def close(self) -> None:
        self._raw.close()
        super().close()

    def _more(self) -> bool:
        chunk = self._raw.read(READ_BYTES)
        self._input += chunk
        return bool(chunk)

    def _fail(self, kind: str, message: str) -> bool:
        self.damage = Damage(kind, message, self._consumed, self._size)
        return False

    def _step(self) -> bool:
        """Decompress some more into ``_output``; False at the end or at damage."""
        if self._obj is None:
            if not self._input and not self._more():
                return False
            return self._start_member()
        ended = not self._input and not self._more()
        if ended and not self._gzip:
            return self._fail("truncated", TRUNCATED)
        try:
            # with no input left, zlib may still hold output it could not return in one step
            produced = self._decompress()
        except zlib.error as exc:
            return self._fail("corrupt", f"corrupt gzip data ({exc})")
        except Exception as exc:  # zstandard.ZstdError; zstandard is imported lazily
            if type(exc).__name__ != "ZstdError":
                raise
            return self._fail("corrupt", f"corrupt zstd data ({exc})")
        if ended and not produced and self._obj is not None:
            return self._fail("truncated", TRUNCATED)
        self._output = memoryview(produced)
        return True

    def _start_member(self) -> bool:
        """Begin the next gzip member or zstd frame (gzip may be padded with zeros)."""
        if self._gzip:
            stripped = self._input.lstrip(b"\x00")
            self._consumed += len(self._input) - len(stripped)
            self._input = stripped
            if not self._input:
                return True  # only padding so far
        magic = GZIP_MAGIC if self._gzip else ZSTD_MAGIC
        if len(self._input) < len(magic) and self._more():
            return True
        if not self._input.startswith(magic):
            kind = "gzip" if self._gzip else "zstd"
            what = f"not a {kind} file" if not self._members else f"bytes after the last {kind} member"
            return self._fail("corrupt", f"{what} (no {kind} header at byte {self._consumed})")
        if self._gzip:
            self._obj = zlib.decompressobj(wbits=31)
        else:
            import zstandard

            self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._members += 1
        return True

    def _decompress(self) -> bytes:
        obj = self._obj
        if self._gzip:
            data = self._input
            produced: bytes = obj.decompress(data, GZIP_STEP_BYTES)
            self._input = obj.unused_data if obj.eof else obj.unconsumed_tail
            self._consumed += len(data) - len(self._input)
        else:
            # Small calls bound what one call yields; several of them per step
            # (up to GZIP_STEP_BYTES of output) keep the Python overhead low.
            # Views, not slices: slicing would copy the rest of the input each call.
            view = memoryview(self._input)
            parts = []
            size = 0
            while self._offset < len(self._input) and size < GZIP_STEP_BYTES and not obj.eof:
                piece = view[self._offset : self._offset + ZSTD_STEP_BYTES]
                parts.append(obj.decompress(piece))
                size += len(parts[-1])
                self._offset += len(piece)
                self._consumed += len(piece)
            unused = obj.unused_data if obj.eof else b""
            self._consumed -= len(unused)
            if obj.eof or self._offset >= len(self._input):
                view.release()
                self._input = unused + self._input[self._offset :]
                self._offset = 0
            produced = b"".join(parts)
        if obj.eof:
            self._obj = None
        return produced


class InputStream:
    """The bytes of one input file (decompressed by ``compression``: ``""``, ``.gz``, ``.zst``).

    Reading stops quietly at damage; :attr:`damage` then says what happened.
    """

    def __init__(self, raw: IO[bytes], compression: str, size: int) -> None:
        self.size = size
        self.compression = compression
        self._decoder: _Decoder | None = None
        if compression:
            self._decoder = _Decoder(raw, compression, size)
            self._buffer: IO[bytes] = io.BufferedReader(self._decoder, buffer_size=1 << 20)
        else:
            self._buffer = raw
        #: decompressed bytes read so far
        self.bytes_read = 0

    @property
    def damage(self) -> Damage | None:
        return None if self._decoder is None else self._decoder.damage

    def read_line(self, max_bytes: int) -> tuple[bytes, int]:
        """The next line (with its newline) and its full length in bytes.

        A line longer than ``max_bytes`` (0: no limit) is read to its end but
        not kept: only its first bytes are returned (at most
        ``LINE_PIECE_BYTES``; the length says how long it was). ``(b"", 0)``
        at the end of the stream.
        """
        piece = self._buffer.readline(LINE_PIECE_BYTES)
        if not piece or piece.endswith(b"\n"):
            self.bytes_read += len(piece)
            return piece, len(piece)
        pieces = [piece]
        total = len(piece)
        while not piece.endswith(b"\n"):
            piece = self._buffer.readline(LINE_PIECE_BYTES)
            if not piece:
                break
            total += len(piece)
            if max_bytes and total > max_bytes:
                del pieces[1:]  # over the cap: keep the start only, hold no more
            else:
                pieces.append(piece)
        self.bytes_read += total
        if max_bytes and total > max_bytes:
            return pieces[0], total
        line = b"".join(pieces)
        pieces.clear()
        return line, total

    def read_all(self, max_bytes: int) -> tuple[bytes, int]:
        """Everything left, as :meth:`read_line` reads one line: ``(bytes kept, full length)``."""
        if not max_bytes:
            data = self._buffer.read()
            self.bytes_read += len(data)
            return data, len(data)
        data = self._buffer.read(max_bytes + 1)
        total = len(data)
        if total > max_bytes:
            data = data[:LINE_PIECE_BYTES]
            while True:
                chunk = self._buffer.read(LINE_PIECE_BYTES)
                if not chunk:
                    break
                total += len(chunk)
        self.bytes_read += total
        return data, total

    def lines(self, max_bytes: int) -> Iterator[tuple[bytes, int]]:
        """:meth:`read_line` until the end."""
        while True:
            # popped, not named: a suspended generator would hold a named line
            # (megabytes, maybe) while the reader works on what it became
            found = [self.read_line(max_bytes)]
            if not found[0][1]:
                return
            yield found.pop()

    def close(self) -> None:
        self._buffer.close()

    def __enter__(self) -> InputStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_url(path: str) -> bool:
    """Whether ``path`` names a file through fsspec (``s3://``, ``memory://``, ``file://``…).

    >>> is_url("s3://bucket/a.jsonl"), is_url("a/b.jsonl"), is_url("C:/x.jsonl")
    (True, False, False)
    """
    return "://" in path


def open_raw(path: str) -> tuple[IO[bytes], int]:
    """A binary file over ``path`` (a local path or an fsspec URL) and its size in bytes."""
    if is_url(path):
        try:
            import fsspec
        except ImportError as exc:
            from .errors import MissingExtraError

            raise MissingExtraError(f"reading {path}", "dask", "fsspec") from exc
        fs, inner = fsspec.core.url_to_fs(path)
        try:
            raw = fs.open(inner, "rb")
        except FileNotFoundError as exc:
            raise FileNotFoundError(exc.errno, "no such file", path) from exc
        return raw, int(fs.size(inner))
    raw = open(path, "rb")  # noqa: SIM115 - the caller's stream owns and closes it
    try:
        import os

        return raw, os.fstat(raw.fileno()).st_size
    except BaseException:
        raw.close()
        raise


def open_input(path: str, compression: str, offset: int = 0) -> InputStream:
    """An :class:`InputStream` over the file at ``path`` (or fsspec URL), from byte ``offset`` on."""
    raw, size = open_raw(path)
    try:
        if offset:
            raw.seek(offset)
        return InputStream(raw, compression, size)
    except BaseException:
        raw.close()
        raise


def sniff_compression(head: bytes) -> str:
    """``.gz``, ``.zst`` or ``""`` from a file's first bytes.

    >>> sniff_compression(b"\\x1f\\x8b\\x08"), sniff_compression(b'{"id": 1}')
    ('.gz', '')
    """
    if head.startswith(GZIP_MAGIC):
        return ".gz"
    if head.startswith(ZSTD_MAGIC):
        return ".zst"
    return ""
