"""The read stage: documents from JSONL, text files and folders, Parquet, stdin.

Inputs are *sources* that can be iterated twice (the batch pipeline reads its
input once to fingerprint and once to assemble), yielding :class:`Record`
objects in a fixed order. Unreadable data becomes a record with ``error`` set,
so the pipeline decides (stop, or skip with an entry in the removal record).
Decompression and line reading are :mod:`dedupe.streams`'.

>>> src = IterableSource([{"id": "a", "text": "x"}, "plain string"])
>>> [(r.doc_id, r.text) for r in src.records()]
[('a', 'x'), ('1', 'plain string')]
>>> src.close()
"""

from __future__ import annotations

import base64
import codecs
import datetime
import decimal
import json
import logging
import math
import os
import pickle
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from ftfy.fixes import fix_surrogates

from .config import ID_FIELD, ReadConfig
from .errors import InputError, MissingExtraError
from .scratch import ScratchDir, make_scratch_dir
from .streams import Damage, is_url, open_input, open_raw, sniff_compression

log = logging.getLogger(__name__)

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".txt",)
PARQUET_SUFFIXES = (".parquet",)
#: What a folder read takes (and a named file must end in), before any .gz/.zst.
INPUT_SUFFIXES = JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES
#: The file in which a folder output lists what dedupe wrote (see dedupe.writers).
OUTPUT_MANIFEST = ".dedupe-output.json"
COMPRESSED_SUFFIXES = (".gz", ".zst")
#: Bytes of a line (or document) over ``read.max_document_bytes`` that the
#: removal record keeps: the line itself is not held, that is the point of the cap.
TOO_LONG_PREVIEW_BYTES = 1 << 16
#: Bytes inspected for NUL characters to tell a binary file from text.
BINARY_SNIFF_BYTES = 8192
#: Rows read from Parquet at a time.
PARQUET_BATCH_ROWS = 1024
#: Bytes of text converted to Python objects at a time when reading Parquet:
#: a dictionary-encoded column can repeat one long value on every row, so a
#: kilobyte file may hold gigabytes of text (a batch of rows is converted in
#: slices of at most this much).
PARQUET_SLICE_BYTES = 64 << 20
UTF8_BOM = b"\xef\xbb\xbf"
# A carriage return not followed by a line feed: a line end in files written
# with classic Mac OS line ends.
_LONE_CR = re.compile(rb"\r(?!\n)")
# JSON escapes of UTF-16 surrogates (\ud800-\udfff), the only way JSON text can
# decode to a string that cannot be written back as UTF-8.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(slots=True)
class Record:
    """One input document, or one unreadable piece of input (``error`` set).

    For an unreadable piece, ``text`` holds its raw bytes in full: as UTF-8
    text when they are valid UTF-8, else base64 (``text_encoding`` says which:
    ``utf-8``, ``base64``, or ``json`` for a Parquet row or an in-memory object
    written as JSON). ``salvage`` says how much was read and how much is
    kept: ``bytes_read`` and ``bytes_kept`` of the piece, and where they
    apply ``compressed_bytes_unread`` (a damaged archive's bytes after the
    damage) or ``rows_lost`` and ``rows_in_file`` (Parquet).
    """

    index: int
    doc_id: str
    text: str
    location: str
    fields: dict[str, Any] | None = None
    name: str | None = None
    error: str | None = None
    error_rule: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    text_encoding: str | None = None
    salvage: dict[str, int] | None = None
    #: the text holds a lone surrogate (only JSON escapes and in-memory
    #: strings can make one); the pipeline repairs or refuses it
    text_surrogates: bool = False


@runtime_checkable
class Source(Protocol):
    """Documents that can be read more than once, always in the same order."""

    def records(self) -> Iterator[Record]: ...

    def close(self) -> None: ...


def split_suffix(path: str | Path) -> tuple[str, str]:
    """``(format suffix, compression suffix)`` of a path.

    >>> split_suffix("a/b.jsonl.gz"), split_suffix("x.txt")
    (('.jsonl', '.gz'), ('.txt', ''))
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    compression = ""
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        compression = suffixes.pop()
    return (suffixes[-1] if suffixes else ""), compression


def is_hidden(relative: Path) -> bool:
    """Whether a path inside a folder is hidden: a part of it starts with ``.``.

    Reading a folder skips such files: a folder output's manifest, temporaries,
    ``.git``. A hidden file named on the command line is read.

    >>> is_hidden(Path("a/.git/x.txt")), is_hidden(Path(".dedupe-output.json")), is_hidden(Path("a/b.txt"))
    (True, True, False)
    """
    return any(part.startswith(".") for part in relative.parts)


#: The C1 control characters (U+0080-U+009F): what a single-byte encoding's
#: undefined byte in 0x80-0x9F reads as (the WHATWG encoding standard's reading
#: of windows-1252, and latin-1's), so that no byte is lost or replaced.
_C1_BYTES = range(0x80, 0xA0)


def _undefined_as_c1(exc: UnicodeError) -> tuple[str, int]:
    if isinstance(exc, UnicodeDecodeError) and exc.end - exc.start == 1 and exc.object[exc.start] in _C1_BYTES:
        return chr(exc.object[exc.start]), exc.end
    raise exc


codecs.register_error("dedupe-undefined-as-c1", _undefined_as_c1)


def decode_fallback(data: bytes, encoding: str) -> str:
    """``data`` decoded with a fallback encoding, replacing nothing; :class:`UnicodeDecodeError` if it cannot.

    In a single-byte encoding (a code page), a byte in 0x80-0x9F it leaves
    undefined reads as the C1 control character of that number, as browsers
    read cp1252's five holes; any other byte the encoding cannot decode
    raises, so a wrong fallback is never silent.

    >>> decode_fallback(b"caf\\xe9 \\x81", "cp1252")
    'café \\x81'
    >>> decode_fallback(b"caf\\xe9", "ascii")
    Traceback (most recent call last):
    ...
    UnicodeDecodeError: 'ascii' codec can't decode byte 0xe9 in position 3: ordinal not in range(128)
    """
    module = codecs.lookup(encoding).name.replace("-", "_")
    single_byte = hasattr(sys.modules.get(f"encodings.{module}"), "decoding_table")
    return data.decode(encoding, "dedupe-undefined-as-c1" if single_byte else "strict")


#: Bytes of a file without a suffix looked at to tell JSON Lines from text.
SNIFF_LINE_BYTES = 1 << 16
PARQUET_MAGIC = b"PAR1"


def _sniff_unnamed(path: Path, raw: str, compression: str) -> str:
    """The format of a named input file without a suffix: ``.txt``, or an :class:`InputError`
    when its first bytes say it is Parquet or JSON Lines (the name should say so)."""
    try:
        with open_input(str(path), compression) as stream:
            line, _ = stream.read_line(SNIFF_LINE_BYTES)
    except OSError:
        return TEXT_SUFFIXES[0]  # the read says what is wrong, as for any text file
    if line.startswith(PARQUET_MAGIC) and not compression:
        raise InputError(raw, "no suffix, and it starts like a Parquet file: name it .parquet to read it")
    body = line.removeprefix(UTF8_BOM).strip()
    if body.startswith(b"{"):
        try:
            is_object = isinstance(json.loads(body), dict)
        except (ValueError, RecursionError):
            is_object = False
        if is_object:
            raise InputError(raw, "no suffix, and its first line is a JSON object: name it .jsonl to read JSON "
                                  "Lines, or .txt to read it as one text")
    return TEXT_SUFFIXES[0]


def _suffix_list() -> str:
    return ", ".join(INPUT_SUFFIXES[:-1]) + " or " + INPUT_SUFFIXES[-1]


def _location(path: Path, root: Path | None) -> str:
    return (path.relative_to(root) if root is not None else path).as_posix()


def has_lone_surrogate(text: str) -> bool:
    """Whether ``text`` holds a UTF-16 surrogate code point, which UTF-8 cannot encode.

    >>> has_lone_surrogate("ok \\u00e9"), has_lone_surrogate("cut emoji \\ud83d")
    (False, True)
    """
    return not text.isascii() and _SURROGATE.search(text) is not None


def _find_surrogate(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) with a surrogate, inside ``value``."""
    if isinstance(value, str):
        return path if has_lone_surrogate(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and has_lone_surrogate(key):
                return f"{path}: a field name" if path else "a field name"
            found = _find_surrogate(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for number, item in enumerate(value):
            found = _find_surrogate(item, f"{path}[{number}]")
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of one input file that one reader reads, in input order.

    The whole file; or, of an uncompressed JSONL file, the lines that start
    in bytes ``[start, stop)`` (``first_line`` lines come before them); or, of
    a Parquet file, row groups ``[groups[0], groups[1])`` (``first_row`` rows
    come before them). ``path`` is a local path or an fsspec URL; ``shown``
    names the file in locations, ``name`` is a text file's name (its id).
    """

    path: str
    shown: str
    name: str
    start: int = 0
    stop: int | None = None
    first_line: int = 0
    groups: tuple[int, int] | None = None
    first_row: int = 0
    #: the format when the name has no suffix to say it (``.txt``)
    kind: str = ""

    @property
    def chars(self) -> int:
        """Bytes of a byte range (0 for a whole file or row groups): how executors weigh a job."""
        return 0 if self.stop is None else self.stop - self.start

    @property
    def first(self) -> bool:
        """Whether the piece starts its file (it reports what concerns the whole file)."""
        return self.start == 0 and (self.groups is None or self.groups[0] == 0)


class PieceReader:
    """Reads :class:`Piece`\\ es of input files into records; what :class:`FileSource` reads with,
    and what a worker reading its own shard uses.

    ``ids`` counts, per file (as shown), the records with and without the id
    field, for :meth:`check_ids` once every piece of the file is read.
    """

    def __init__(self, config: ReadConfig = ReadConfig(), defer_ids: bool = False) -> None:
        self.config = config
        self.ids: dict[str, _IdCount] = {}
        #: keep every file's id counts for :meth:`id_counts`, checking none
        self.defer_ids = defer_ids
        self._warned: set[str] = set()

    def check_ids(self, counts: dict[str, tuple[int, int, str, str]]) -> None:
        """:meth:`_check_ids` on counts gathered from the pieces of files (:meth:`id_counts`), merged."""
        for shown, (found, missing, first_missing, first_fields) in counts.items():
            ids = _IdCount()
            ids.found, ids.missing, ids.first_missing, ids.first_fields = found, missing, first_missing, first_fields
            self._check_ids(shown, ids)

    def id_counts(self) -> dict[str, tuple[int, int, str, str]]:
        """Per file read only in part: records with and without the id field, and the first without."""
        return {shown: (ids.found, ids.missing, ids.first_missing, ids.first_fields) for shown, ids in self.ids.items()}

    def read_piece(self, piece: Piece, index: int) -> Iterator[Record]:
        """The piece's records, numbered from ``index``."""
        kind, compression = split_suffix(piece.path)
        kind = piece.kind or kind
        if kind in TEXT_SUFFIXES:
            return self._read_text(piece, compression, index)
        if kind in PARQUET_SUFFIXES:
            return self._read_parquet(piece, index)
        return self._read_jsonl(piece, compression, index)

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        # every pass reads the input again; say it once
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def _too_long(self, index: int, doc_id: str, location: str, kept: bytes, total: int, what: str) -> Record:
        cap = self.config.max_document_bytes
        return _bad(index, doc_id, location, "too-long",
                    f"{what} is {total:,} bytes, more than read.max_document_bytes ({cap:,}); raise "
                    "read.max_document_bytes (e.g. 1GB) to read it",
                    kept[:TOO_LONG_PREVIEW_BYTES], partial=True, bytes_read=total)

    # -- formats -------------------------------------------------------------

    def _read_text(self, piece: Piece, compression: str, index: int) -> Iterator[Record]:
        name, shown = piece.name, piece.shown
        if compression:
            name = name[: -len(compression)]
        try:
            with open_input(piece.path, compression) as stream:
                data, total = stream.read_all(self.config.max_document_bytes)
                damage = stream.damage
        except OSError as exc:
            yield _bad(index, shown, shown, "unreadable-file", f"cannot read file: {exc}", b"")
            return
        doc_id = name
        cap = self.config.max_document_bytes
        if cap and total > cap:
            yield self._too_long(index, doc_id, shown, data, total, "the file")
            return
        if damage is not None:
            yield _damaged(index, doc_id, shown, damage, data, f"{len(data):,} bytes into the text")
            return
        if b"\x00" in data[:BINARY_SNIFF_BYTES]:
            yield _bad(index, doc_id, shown, "binary-file",
                       "binary file (contains NUL bytes), not text", data)
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if self.config.fallback_encoding is None:
                line = data.count(b"\n", 0, exc.start) + 1
                yield _bad(index, doc_id, f"{shown}:{line}", "invalid-utf8",
                           f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8 or give its encoding "
                           "as read.fallback_encoding (e.g. cp1252)", data)
                return
            try:
                text = decode_fallback(data, self.config.fallback_encoding)
            except UnicodeDecodeError as fallback:
                line = data.count(b"\n", 0, fallback.start) + 1
                undecoded = data[fallback.start:fallback.end].hex(" ")
                yield _bad(index, doc_id, f"{shown}:{line}", "undecodable",
                           f"invalid UTF-8 at byte {exc.start}, and byte(s) {undecoded} "
                           f"at byte {fallback.start} are not {self.config.fallback_encoding} either; give the file's "
                           "encoding as read.fallback_encoding (latin-1 decodes every byte)", data)
                return
        fields = {self.config.id_field: doc_id, self.config.text_field: text}
        # the folder writer puts a byte-order mark back, so a .txt comes out as it went in
        extra = {"bom": True} if data.startswith(codecs.BOM_UTF8) else {}
        yield Record(index, doc_id, text, shown, fields=fields, name=name, extra=extra)

    def _read_jsonl(self, piece: Piece, compression: str, index: int) -> Iterator[Record]:
        cfg = self.config
        cap = cfg.max_document_bytes
        shown = piece.shown
        ids = self.ids.setdefault(shown, _IdCount())
        line_no = piece.first_line
        # a piece holds the lines that start in its byte range: one starting
        # before it is the previous piece's, so reading begins after the first
        # line end at or after start - 1
        begin = max(piece.start - 1, 0)
        try:
            with open_input(piece.path, compression, begin) as stream:
                if piece.start > 0:
                    stream.read_line(1)
                for raw, raw_total in stream.lines(cap):
                    if piece.stop is not None and begin + stream.bytes_read - raw_total >= piece.stop:
                        break
                    line_no += 1
                    line, total = raw, raw_total
                    if line_no == 1 and line.startswith(UTF8_BOM):
                        line, total = line[len(UTF8_BOM):], total - len(UTF8_BOM)
                    location = f"{shown}:{line_no}"
                    if cap and total > cap:
                        yield self._too_long(index, location, location, line, total, "the line")
                        index += 1
                        continue
                    if not line.endswith(b"\n") and stream.damage is not None:
                        yield _damaged(index, location, location, stream.damage, line,
                                       f"{len(line):,} bytes into the line")
                        return
                    if not line or line.isspace():
                        continue
                    record = parse_json_record(line, index, location, cfg)
                    parts = _split_lone_cr(line) if record.error_rule == "invalid-json" else None
                    if parts is None:
                        ids.count(record, cfg)
                        del raw, line  # the record holds the text: the line's bytes need not wait with it
                        yield record
                        index += 1
                        continue
                    for number, part in enumerate(parts):
                        if number:
                            line_no += 1
                        if part.strip():
                            record = parse_json_record(part, index, f"{shown}:{line_no}", cfg)
                            ids.count(record, cfg)
                            yield record
                            index += 1
                if stream.damage is not None:
                    location = f"{shown}:{line_no + 1}"
                    yield _damaged(index, location, location, stream.damage, b"",
                                   f"after line {line_no}")
                    return
        except OSError as exc:
            location = f"{shown}:{line_no + 1}"
            yield _bad(index, location, location, "unreadable-file", f"cannot read past line {line_no}: {exc}", b"")
            return
        if piece.stop is None and piece.start == 0 and not self.defer_ids:
            self._check_ids(shown, self.ids.pop(shown))

    def _check_ids(self, shown: str, ids: _IdCount) -> None:
        """A misspelt id field is an error; documents without an id, a warning per file."""
        field_name = self.config.id_field
        if not ids.missing:
            return
        if not ids.found and field_name != ID_FIELD:
            raise InputError(shown, f"no record has the id field {field_name!r} (read.id_field); "
                                    f"check its spelling (the first record's fields: {ids.first_fields})")
        if ids.found:
            self._warn_once(f"ids:{shown}", "%s: %d of %d records have no %r field; they are named by "
                            "file and line (first: %s)", shown, ids.missing, ids.missing + ids.found,
                            field_name, ids.first_missing)

    def _read_parquet(self, piece: Piece, index: int) -> Iterator[Record]:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingExtraError("reading Parquet", "parquet", "pyarrow") from exc
        cfg = self.config
        shown = piece.shown
        errors = (OSError, ValueError, OverflowError, pa.ArrowException)
        try:
            parquet = pq.ParquetFile(_parquet_source(piece.path))
            meta = parquet.metadata
            names = parquet.schema_arrow.names
            if cfg.text_field in names:
                # the text as a dictionary where the file has one: a value repeated on many
                # rows stays one value until a row is converted (_parquet_cells)
                parquet = pq.ParquetFile(_parquet_source(piece.path), read_dictionary=[cfg.text_field])
        except errors as exc:
            raw, size = _file_bytes(piece.path, cfg.max_document_bytes)
            yield _bad(index, shown, shown, "corrupt-file", f"cannot read Parquet: {exc}", raw,
                       partial=len(raw) < size, bytes_read=size)
            return
        if cfg.text_field not in names:
            if not piece.first:  # the file's first piece says it for the whole file
                return
            yield _lost_rows(index, shown, "missing-text",
                             f"no {cfg.text_field!r} column (columns: {', '.join(names) or 'none'}); "
                             "name another with read.text_field", meta.num_rows, meta.num_rows)
            return
        if cfg.id_field not in names and cfg.id_field != ID_FIELD and meta.num_rows:
            raise InputError(shown, f"no {cfg.id_field!r} column for the id (read.id_field); check its "
                                    f"spelling (columns: {', '.join(names)})")
        ids = self.ids.setdefault(shown, _IdCount())
        row_no = piece.first_row
        cap = cfg.max_document_bytes
        for group in range(*(piece.groups or (0, meta.num_row_groups))):
            group_rows = meta.row_group(group).num_rows
            first, done = row_no, 0
            text_bytes = _column_bytes(meta.row_group(group), cfg.text_field)
            if cap and group_rows == 1 and text_bytes > cap:
                # one row whose text alone is over the cap: known from the metadata, never read
                location = f"{shown}:row {first + 1}"
                yield self._too_long(index, location, location, b"", text_bytes, "the text (uncompressed)")
                index += 1
                row_no = first + group_rows
                continue
            try:
                for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group]):
                    for row in _parquet_cells(batch, cfg, pa):
                        location = f"{shown}:row {first + done + 1}"
                        if isinstance(row, _OverCap):
                            doc_id = location if row.doc_id is None else str(row.doc_id)
                            record = self._too_long(index, doc_id, location, row.preview, row.total, "the text")
                        else:
                            # Arrow strings are valid UTF-8: no surrogate to look for
                            record = _record_from_object(row, index, location, cfg, check_surrogates=False)
                        if cfg.id_field in names:
                            ids.count(record, cfg)
                        yield record
                        index += 1
                        done += 1
            except errors as exc:
                start, stop = _row_group_bytes(meta.row_group(group))
                location = f"{shown}:rows {first + done + 1}-{first + group_rows}"
                yield _lost_rows(index, location, "corrupt-file",
                                 f"rows {first + done + 1:,}-{first + group_rows:,} (row group {group + 1} "
                                 f"of {meta.num_row_groups}, file bytes {start:,}-{stop:,}) cannot be read: "
                                 f"{exc}", group_rows - done, meta.num_rows)
                index += 1
            row_no = first + group_rows
        if piece.groups is None and not self.defer_ids:
            self._check_ids(shown, self.ids.pop(shown))


class FileSource(PieceReader):
    """Documents from files and folders (recursively, sorted by path), or ``-`` for stdin.

    Standard input is copied to a temporary file first, because the pipeline
    reads its input twice; gzip or zstd bytes on standard input are recognised
    by their first bytes. In folders, links to folders are followed (a folder
    reached a second time, by a loop or a second link, is skipped with a
    warning), and dangling links and special files are skipped with a warning.
    """

    def __init__(self, inputs: Iterable[str | Path], config: ReadConfig = ReadConfig()) -> None:
        super().__init__(config)
        self.skipped_files: list[str] = []
        self._tempdir: ScratchDir | None = None
        #: every input file, whole, in input order
        self.files: list[Piece] = []
        #: whether a file is standard input, spooled to this machine's disk
        self.spooled = False
        for raw in inputs:
            self.files.extend(self._expand(str(raw)))
        if not self.files:
            raise InputError(", ".join(map(str, inputs)) or "input", "no input files found")

    def _expand(self, raw: str) -> list[Piece]:
        if raw == "-":
            self.spooled = True
            path = self._spool_stdin()
            return [Piece(str(path), "<stdin>", path.name)]
        if is_url(raw):
            return self._expand_url(raw)
        path = Path(raw)
        if path.is_dir():
            found: list[Piece] = []
            skipped: list[str] = []
            hidden: list[str] = []
            for child in _walk(path):
                kind, _ = split_suffix(child)
                if is_hidden(child.relative_to(path)):
                    # a folder output's manifest and temporaries, .git and the like: never documents
                    if kind in INPUT_SUFFIXES and child.name != OUTPUT_MANIFEST:
                        hidden.append(child.as_posix())
                elif kind in INPUT_SUFFIXES:
                    found.append(Piece(str(child), _location(child, path), _location(child, path)))
                else:
                    skipped.append(child.as_posix())
            self._skipped(raw, skipped, hidden)
            return found
        if not path.exists():
            if path.is_symlink():
                raise InputError(raw, f"dangling link (to {os.readlink(path)})")
            raise InputError(raw, "no such file or folder")
        kind, compression = split_suffix(path)
        if not kind and path.is_file():
            # README, LICENSE, a saved page: plain text, unless it says otherwise
            return [Piece(str(path), path.as_posix(), path.name, kind=_sniff_unnamed(path, raw, compression))]
        _check_format(raw)
        return [Piece(str(path), path.as_posix(), path.name)]

    def _skipped(self, raw: str, skipped: list[str], hidden: list[str]) -> None:
        self.skipped_files.extend(skipped + hidden)
        if skipped:
            log.warning("%s: ignored %d file(s) that are not %s (first: %s)",
                        raw, len(skipped), _suffix_list(), skipped[0])
        if hidden:
            log.warning("%s: ignored %d hidden file(s) (a name starting with '.' on the way; first: %s); "
                        "name the file itself to read it", raw, len(hidden), hidden[0])

    def _expand_url(self, raw: str) -> list[Piece]:
        """A file or a folder (searched recursively, sorted) named by an fsspec URL."""
        try:
            import fsspec
        except ImportError as exc:
            raise MissingExtraError(f"reading {raw}", "dask", "fsspec") from exc
        try:
            fs, root = fsspec.core.url_to_fs(raw)
            if fs.isdir(root):
                found: list[Piece] = []
                skipped: list[str] = []
                base = root.rstrip("/")
                hidden: list[str] = []
                for inner in sorted(fs.find(root)):
                    relative = inner[len(base):].lstrip("/")
                    kind, _ = split_suffix(inner)
                    if is_hidden(Path(relative)):
                        if kind in INPUT_SUFFIXES and Path(relative).name != OUTPUT_MANIFEST:
                            hidden.append(relative)
                    elif kind in INPUT_SUFFIXES:
                        found.append(Piece(fs.unstrip_protocol(inner), relative, relative))
                    else:
                        skipped.append(relative)
                self._skipped(raw, skipped, hidden)
                return found
            if not fs.exists(root):
                raise InputError(raw, "no such file or folder")
        except (OSError, ValueError) as exc:
            raise InputError(raw, f"cannot list: {exc}") from exc
        _check_format(raw)
        return [Piece(raw, raw, raw.rstrip("/").rsplit("/", 1)[-1])]

    def _spool_stdin(self) -> Path:
        if self._tempdir is None:
            self._tempdir = make_scratch_dir("stdin")
        head = sys.stdin.buffer.read(4)
        compression = sniff_compression(head)
        target = Path(self._tempdir.name) / f"stdin-{len(self.files)}.jsonl{compression}"
        with open(target, "wb") as out:
            out.write(head)
            shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
        return target

    def records(self) -> Iterator[Record]:
        index = 0
        for piece in self.files:
            for record in self.read_piece(piece, index):
                yield record
                index += 1

    def close(self) -> None:
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None


def _check_format(raw: str) -> None:
    kind, _ = split_suffix(raw)
    if kind not in INPUT_SUFFIXES:
        raise InputError(raw, "unknown input format: name files .jsonl, .txt or .parquet (optionally .gz/.zst)")


def _parquet_source(path: str) -> Any:
    """What pyarrow opens: a local path as it is, a URL through fsspec."""
    return open_raw(path)[0] if is_url(path) else path


def _file_bytes(path: str, max_bytes: int) -> tuple[bytes, int]:
    """A file's bytes for the removal record, and its size: whole up to ``max_bytes``
    (0: any size), else its first :data:`TOO_LONG_PREVIEW_BYTES`."""
    try:
        handle, size = open_raw(path)
        with handle:
            return handle.read(size if not max_bytes or size <= max_bytes else TOO_LONG_PREVIEW_BYTES), size
    except OSError:
        return b"", 0


def _column_bytes(group: Any, name: str) -> int:
    """The uncompressed bytes of column ``name`` in a Parquet row group's metadata (0: not found)."""
    for number in range(group.num_columns):
        column = group.column(number)
        if column.path_in_schema == name:
            return int(column.total_uncompressed_size)
    return 0


@dataclass(frozen=True, slots=True)
class _OverCap:
    """A Parquet row whose text is over ``read.max_document_bytes``: its id, size and first bytes."""

    doc_id: Any
    total: int
    preview: bytes


def _parquet_cells(batch: Any, config: ReadConfig, pa: Any) -> Iterator[dict[str, Any] | _OverCap]:
    """A record batch's rows as dicts, converted a slice at a time; rows whose text is over the cap
    come as :class:`_OverCap`, their text never converted."""
    import pyarrow.compute as pc

    names = batch.schema.names
    lengths: list[int | None] = [None] * batch.num_rows
    text = batch.column(names.index(config.text_field))
    values, indices = (text.dictionary, text.indices) if pa.types.is_dictionary(text.type) else (text, None)
    try:
        sizes = pc.binary_length(values)
        lengths = (sizes if indices is None else sizes.take(indices)).to_pylist()
    except (pa.ArrowException, TypeError, ValueError):
        pass  # not a string column: the record says so
    cap = config.max_document_bytes
    start = 0
    while start < batch.num_rows:
        stop, size = start, 0
        while stop < batch.num_rows and (stop == start or size + (lengths[stop] or 0) <= PARQUET_SLICE_BYTES):
            if cap and (lengths[stop] or 0) > cap:
                break
            size += lengths[stop] or 0
            stop += 1
        if stop > start:
            yield from _parquet_rows(batch.slice(start, stop - start), pa)
            start = stop
            continue
        # row ``start`` is over the cap
        at = start if indices is None else indices[start].as_py()
        preview = pc.binary_slice(values.slice(at, 1).cast(pa.binary()), 0, TOO_LONG_PREVIEW_BYTES)[0].as_py()
        doc_id = batch.column(names.index(config.id_field))[start].as_py() if config.id_field in names else None
        yield _OverCap(doc_id, int(lengths[start] or 0), preview)
        start += 1


def _parquet_rows(batch: Any, pa: Any) -> list[dict[str, Any]]:
    """A record batch as dicts; a value Python cannot hold (a year past 9999) becomes Arrow's text for it."""
    try:
        return batch.to_pylist()  # type: ignore[no-any-return]
    except (ValueError, OverflowError):
        pass
    columns: dict[str, list[Any]] = {}
    for name, column in zip(batch.schema.names, batch.columns):
        try:
            columns[name] = column.to_pylist()
        except (ValueError, OverflowError):
            text = column.cast(pa.string())
            values = []
            for number in range(len(column)):
                try:
                    values.append(column[number].as_py())
                except (ValueError, OverflowError):
                    values.append(text[number].as_py())
            columns[name] = values
    return [dict(zip(columns, values)) for values in zip(*columns.values())]


class _IdCount:
    """How many records of a file have the id field, and the first that has not."""

    __slots__ = ("first_fields", "first_missing", "found", "missing")

    def __init__(self) -> None:
        self.found = self.missing = 0
        self.first_missing = ""
        self.first_fields = ""

    def count(self, record: Record, config: ReadConfig) -> None:
        if record.fields is None:
            return
        if record.fields.get(config.id_field) is not None:
            self.found += 1
            return
        if not self.missing:
            self.first_missing = record.location
            self.first_fields = ", ".join(map(str, list(record.fields)[:12])) or "none"
        self.missing += 1


def _walk(root: Path) -> list[Path]:
    """Files under ``root``, sorted by relative path; follows links to folders once."""
    found: list[Path] = []
    seen: set[tuple[int, int]] = set()

    def visit(folder: Path) -> None:
        info = folder.stat()
        key = (info.st_dev, info.st_ino)
        if key in seen:
            # a loop, or a second way to the same files (which would all be copies)
            log.warning("%s: a link to a folder already read (%s); skipped", folder, folder.resolve())
            return
        seen.add(key)
        try:
            with os.scandir(folder) as entries:
                children = sorted(entries, key=lambda e: e.name)
        except OSError as exc:
            log.warning("%s: cannot list folder (%s); skipped", folder, exc.strerror)
            return
        for entry in children:
            child = Path(entry.path)
            try:
                if entry.is_symlink() and not child.exists():
                    log.warning("%s: dangling link (to %s); skipped", child, os.readlink(child))
                elif entry.is_dir():
                    visit(child)
                elif entry.is_file():
                    found.append(child)
                else:
                    log.warning("%s: not a regular file (a pipe, socket or device); skipped", child)
            except OSError as exc:
                log.warning("%s: cannot read (%s); skipped", child, exc.strerror)

    visit(root)
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def _row_group_bytes(group: Any) -> tuple[int, int]:
    """The file bytes a Parquet row group's column chunks occupy."""
    start = stop = None
    for number in range(group.num_columns):
        column = group.column(number)
        first = column.data_page_offset
        if column.has_dictionary_page and column.dictionary_page_offset:
            first = min(first, column.dictionary_page_offset)
        start = first if start is None else min(start, first)
        stop = first + column.total_compressed_size if stop is None else max(stop, first + column.total_compressed_size)
    return start or 0, stop or 0


def _split_lone_cr(line: bytes) -> list[bytes] | None:
    """The pieces of a line that holds carriage-return line ends, or None.

    Only called on a line that is not valid JSON as a whole: a lone CR is
    legal JSON whitespace, so a line that parses is never split.
    """
    body = line.rstrip(b"\r\n")
    if b"\r" not in body or not _LONE_CR.search(body):
        return None
    return _LONE_CR.split(body)


def parse_json_record(line: bytes, index: int, location: str, config: ReadConfig) -> Record:
    """Parse one JSONL line into a :class:`Record` (``error`` set if unusable).

    >>> cfg = ReadConfig()
    >>> parse_json_record(b'{"id": 7, "text": "hi"}\\n', 0, "f:1", cfg).doc_id
    '7'
    >>> bad = parse_json_record(b'{"id": 7, "text": "hi"', 0, "f:1", cfg)
    >>> bad.error_rule, bad.text, bad.text_encoding
    ('invalid-json', '{"id": 7, "text": "hi"', 'utf-8')
    """
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _bad(index, location, location, "invalid-utf8",
                    f"invalid UTF-8 at byte {exc.start} of the line", _line_body(line))
    try:
        obj = json.loads(text)
        del text  # the parsed object holds the document's text: one copy, not two
    except json.JSONDecodeError as exc:
        return _bad(index, location, location, "invalid-json",
                    f"not valid JSON ({exc.msg} at column {exc.colno})", _line_body(line))
    except RecursionError:
        return _bad(index, location, location, "invalid-json", "JSON nested too deeply", _line_body(line))
    except ValueError as exc:  # an integer longer than Python converts (sys.get_int_max_str_digits)
        return _bad(index, location, location, "invalid-json",
                    f"a number too long to read ({exc}); write it as a string", _line_body(line))
    if not isinstance(obj, dict):
        return _bad(index, location, location, "not-an-object",
                    f"expected a JSON object, got {type(obj).__name__}", _line_body(line))
    # a two-byte search first: cheap, where the pattern (or a longer needle) costs
    # as much as parsing on text full of escapes
    escaped = line.find(b"\\u") >= 0 and _SURROGATE_ESCAPE.search(line) is not None
    return _record_from_object(obj, index, location, config, raw=line, check_surrogates=escaped)


def _line_body(line: bytes) -> bytes:
    """A line without its ending: the record keeps the line's content."""
    if line.endswith(b"\n"):
        return line[:-2] if line.endswith(b"\r\n") else line[:-1]
    return line


def _record_from_object(
    obj: dict[str, Any], index: int, location: str, config: ReadConfig, raw: bytes = b"",
    check_surrogates: bool = True,
) -> Record:
    raw_id = obj.get(config.id_field)
    try:
        doc_id = location if raw_id is None else str(raw_id)
    except ValueError as exc:  # str() of an integer past the conversion limit
        return _bad_object(index, location, location, "invalid-id", f"unusable id: {exc}", obj, raw)
    if check_surrogates:
        # A lone surrogate cannot be written as UTF-8. In the text, repair
        # replaces it (Cleaner); anywhere else the record is unusable.
        found = _find_surrogate({k: v for k, v in obj.items() if k != config.text_field}, "")
        if found is not None:
            doc_id = location if has_lone_surrogate(doc_id) else doc_id
            return _bad_object(index, doc_id, location, "invalid-unicode",
                               f"field {found} holds a lone surrogate (\\ud800-\\udfff), which is not a "
                               "character and cannot be written as UTF-8; fix the producer", obj, raw)
    if config.text_field not in obj:
        return _bad_object(index, doc_id, location, "missing-text",
                           f"no {config.text_field!r} field (name another with read.text_field)", obj, raw)
    text = obj[config.text_field]
    if text is None:
        text = ""
    if not isinstance(text, str):
        return _bad_object(index, doc_id, location, "text-not-string",
                           f"field {config.text_field!r} is {type(text).__name__}, not a string", obj, raw)
    return Record(index, doc_id, text, location, fields=obj,
                  text_surrogates=check_surrogates and has_lone_surrogate(text))


def _raw_text(raw: bytes, partial: bool = False) -> tuple[str, str, int]:
    """``(text, encoding, bytes kept)``: raw bytes as UTF-8 text, or as base64 when not UTF-8.

    ``partial`` bytes were cut at an arbitrary byte, so an incomplete character
    at their very end is dropped (and not counted as kept) instead of turning
    the whole text into base64.

    >>> _raw_text(b"caf\\xc3\\xa9"), _raw_text(b"\\xff\\x00")
    (('café', 'utf-8', 5), ('/wA=', 'base64', 2))
    >>> _raw_text(b"caf\\xc3", partial=True)
    ('caf', 'utf-8', 3)
    """
    try:
        return raw.decode("utf-8"), "utf-8", len(raw)
    except UnicodeDecodeError as exc:
        if partial and exc.end == len(raw) and exc.reason == "unexpected end of data":
            try:
                return raw[: exc.start].decode("utf-8"), "utf-8", exc.start
            except UnicodeDecodeError:
                pass
    return base64.b64encode(raw).decode("ascii"), "base64", len(raw)


def _bad(
    index: int, doc_id: str, location: str, rule: str, message: str, raw: bytes, *,
    partial: bool = False, bytes_read: int | None = None, salvage: dict[str, int] | None = None,
) -> Record:
    """An unreadable piece of input; ``raw``, its bytes, go in whole."""
    text, encoding, kept = _raw_text(raw, partial)
    counts = {"bytes_read": len(raw) if bytes_read is None else bytes_read, "bytes_kept": kept, **(salvage or {})}
    return Record(index, doc_id, text, location, error=message, error_rule=rule,
                  text_encoding=encoding, salvage=counts)


def bad_record(record: Record, rule: str, message: str) -> Record:
    """``record`` turned unusable: the removal record gets its fields as JSON (ASCII-escaped).

    >>> bad = bad_record(Record(0, "a", "x\\ud800", "f:1", fields={"id": "a", "text": "x\\ud800"}),
    ...                  "invalid-unicode", "a lone surrogate")
    >>> bad.error_rule, bad.text, bad.text_encoding
    ('invalid-unicode', '{"id": "a", "text": "x\\\\ud800"}', 'json')
    """
    return _bad_object(record.index, record.doc_id, record.location, rule, message,
                       record.fields if record.fields is not None else record.text)


def _lost_rows(index: int, location: str, rule: str, message: str, lost: int, total: int) -> Record:
    """Parquet rows that cannot be read; the file holds them, the record says which."""
    return Record(index, location, "", location, error=message, error_rule=rule,
                  salvage={"rows_lost": lost, "rows_in_file": total})


def _bad_object(
    index: int, doc_id: str, location: str, rule: str, message: str, obj: Any, raw: bytes = b""
) -> Record:
    """An unusable record: its raw line when there is one, else the object as JSON."""
    if raw:
        return _bad(index, doc_id, location, rule, message, _line_body(raw))
    try:
        text, encoding = json.dumps(obj, ensure_ascii=True, default=json_default), "json"
    except (TypeError, ValueError):
        try:
            text, encoding = repr(obj), "repr"
        except ValueError as exc:  # an integer past the digit limit has no repr either
            text, encoding = f"<a {type(obj).__name__} that cannot be shown: {exc}>", "repr"
    return Record(index, doc_id, text, location, error=message, error_rule=rule, text_encoding=encoding)


def _damaged(index: int, doc_id: str, location: str, damage: Damage, raw: bytes, where: str) -> Record:
    """The bytes read before a damaged compressed stream stopped, kept whole."""
    rule = "truncated-file" if damage.kind == "truncated" else "corrupt-file"
    extra = {"compressed_bytes_unread": damage.compressed_bytes_unread} if damage.compressed_bytes_unread else {}
    return _bad(index, doc_id, location, rule, f"{damage.message}, {where}", raw, partial=True,
                salvage=extra or None)


def json_default(value: Any) -> Any:
    """JSON for values JSON has no type for (as Parquet columns hold them).

    Dates and times become ISO 8601 strings, durations seconds, decimals
    strings (every digit kept), binary base64 strings.

    >>> import datetime, decimal
    >>> json.dumps([datetime.date(2024, 5, 1), decimal.Decimal("1.50"), b"\\xff"], default=json_default)
    '["2024-05-01", "1.50", "/w=="]'
    """
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    raise TypeError(f"cannot write a {type(value).__name__} as JSON")


class IterableSource:
    """Documents from an in-memory iterable of dicts or strings.

    The iterable is consumed once; records are spooled to a temporary file so
    the second pass does not hold the corpus in memory.
    """

    def __init__(self, docs: Iterable[dict[str, Any] | str], config: ReadConfig = ReadConfig()) -> None:
        if isinstance(docs, (str, bytes, bytearray, dict)):
            # iterating would make a document of every character (or key)
            raise InputError("input", f"clean() takes documents (dicts or strings); got one "
                                      f"{type(docs).__name__}, which would be read item by item: pass [doc] "
                                      "for one document")
        self.config = config
        self._docs: Iterable[dict[str, Any] | str] | None = docs
        self._spool: IO[bytes] | None = None

    def records(self) -> Iterator[Record]:
        if self._docs is None:
            yield from self._replay()
            return
        docs, self._docs = self._docs, None
        self._spool = tempfile.TemporaryFile(prefix="dedupe-spool-")  # noqa: SIM115 - replayed later
        ids = _IdCount()
        for index, doc in enumerate(docs):
            record = self._convert(index, doc)
            if isinstance(doc, dict):
                ids.count(record, self.config)
            pickle.dump(record, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
            yield record
        if ids.missing and not ids.found and self.config.id_field != ID_FIELD:
            raise InputError("input", f"no document has the id field {self.config.id_field!r} "
                                      f"(read.id_field); check its spelling (the first one's fields: "
                                      f"{ids.first_fields})")

    def _replay(self) -> Iterator[Record]:
        if self._spool is None:
            return
        self._spool.seek(0)
        while True:
            try:
                yield pickle.load(self._spool)
            except EOFError:
                return

    def _convert(self, index: int, doc: dict[str, Any] | str) -> Record:
        location = f"record {index}"
        if isinstance(doc, str):
            fields = {self.config.id_field: str(index), self.config.text_field: doc}
            return Record(index, str(index), doc, location, fields=fields)
        if not isinstance(doc, dict):
            return Record(index, location, repr(doc), location, error=f"expected a dict or str, got "
                          f"{type(doc).__name__}", error_rule="not-an-object", text_encoding="repr")
        if self.config.id_field not in doc:
            doc = {**doc}
            record = _record_from_object(doc, index, location, self.config)
            record.doc_id = str(index)
            return record
        return _record_from_object(doc, index, location, self.config)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def as_source(docs: Source | Iterable[dict[str, Any] | str], config: ReadConfig) -> Source:
    """``docs`` as a source: itself when it is one, else an :class:`IterableSource` over it."""
    return docs if isinstance(docs, Source) else IterableSource(docs, config)


def usable_records(source: Source, repair: bool, text_field: str) -> Iterator[Record]:
    """The source's records, with lone surrogates in a text repaired or refused.

    A lone surrogate (a ``\\ud800`` escape in JSON, often an emoji cut in
    half) cannot be written as UTF-8. ``repair`` replaces it with U+FFFD, as
    ftfy does; without repair the text cannot be kept as read, so the record
    is bad input.
    """
    return repair_surrogates(source.records(), repair, text_field)


def repair_surrogates(records: Iterable[Record], repair: bool, text_field: str) -> Iterator[Record]:
    """``records`` with lone surrogates in a text repaired or refused (see :func:`usable_records`).

    >>> cut = Record(0, "a", "emoji \\ud83d", "f:1", text_surrogates=True)
    >>> [r.text for r in repair_surrogates([cut], True, "text")]
    ['emoji \\ufffd']
    """
    for rec in records:
        if rec.error is None and rec.text_surrogates:
            if not repair:
                yield bad_record(rec, "invalid-unicode",
                                 f"the {text_field!r} field holds a lone surrogate "
                                 "(\\ud800-\\udfff), which is not a character and cannot be written "
                                 "as UTF-8; with normalize.repair on it is replaced with U+FFFD")
                continue
            rec.text, rec.text_surrogates = fix_surrogates(rec.text), False
        yield rec


def timestamp(value: Any) -> float:
    """Seconds since the epoch of a date field (``inf``: no readable date, ranks last).

    Numbers are taken as timestamps, strings as ISO 8601; dates and datetimes
    are what Parquet date and timestamp columns read as. Naive times are UTC.

    >>> from datetime import date
    >>> timestamp("2024-01-02T00:00:00Z") == timestamp(date(2024, 1, 2)) == 1704153600.0
    True
    >>> timestamp("yesterday"), timestamp(10 ** 400), timestamp(True)
    (inf, inf, inf)
    """
    if isinstance(value, datetime.datetime):
        parsed = value
    elif isinstance(value, datetime.date):
        parsed = datetime.datetime(value.year, value.month, value.day)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # a JSON integer of hundreds of digits
            return math.inf
        return number if math.isfinite(number) else math.inf
    elif isinstance(value, str) and value:
        try:
            # "Z" made "+00:00" as dates were always read, whatever else this Python's parser takes
            parsed = datetime.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))  # noqa: FURB162
        except ValueError:
            return math.inf
    else:
        return math.inf
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    try:
        return parsed.timestamp()
    except (OverflowError, ValueError, OSError):  # beyond what the platform's clock functions take
        return math.inf
