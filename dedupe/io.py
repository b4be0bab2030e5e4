"""Reading and writing documents: JSONL, text files and folders, Parquet, stdin/stdout.

Inputs are *sources* that can be iterated twice (the batch pipeline reads its
input once to fingerprint and once to assemble), yielding :class:`Record`
objects in a fixed order. Unreadable data becomes a record with ``error`` set,
so the pipeline decides (stop, or skip with an entry in the removal record).

Outputs never destroy what they did not write: a regular file is written to a
temporary beside it and renamed into place when the run succeeds; a device, a
FIFO or a process's open file is written through; a folder output only adds
files and replaces or removes the files dedupe wrote there before.

>>> src = IterableSource([{"id": "a", "text": "x"}, "plain string"])
>>> [(r.doc_id, r.text) for r in src.records()]
[('a', 'x'), ('1', 'plain string')]
>>> src.close()
"""

from __future__ import annotations

import base64
import codecs
import contextlib
import datetime
import decimal
import gzip
import hashlib
import io
import json
import logging
import math
import os
import pickle
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .config import ID_FIELD, ReadConfig
from .errors import InputError, MissingExtraError, OutputError
from .scratch import (
    ScratchDir,
    link_beside,
    make_scratch_dir,
    make_temp_beside,
    make_temp_dir_beside,
    sweep,
)
from .streams import Damage, open_input, sniff_compression

log = logging.getLogger(__name__)

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".txt",)
PARQUET_SUFFIXES = (".parquet",)
COMPRESSED_SUFFIXES = (".gz", ".zst")
#: Bytes of a line (or document) over ``read.max_document_bytes`` that the
#: removal record keeps: the line itself is not held, that is the point of the cap.
TOO_LONG_PREVIEW_BYTES = 1 << 16
#: Bytes inspected for NUL characters to tell a binary file from text.
BINARY_SNIFF_BYTES = 8192
#: Rows converted to Python objects at a time when reading Parquet.
PARQUET_BATCH_ROWS = 1024
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


class FileSource:
    """Documents from files and folders (recursively, sorted by path), or ``-`` for stdin.

    Standard input is copied to a temporary file first, because the pipeline
    reads its input twice; gzip or zstd bytes on standard input are recognised
    by their first bytes. In folders, links to folders are followed (a folder
    reached a second time, by a loop or a second link, is skipped with a
    warning), and dangling links and special files are skipped with a warning.
    """

    def __init__(self, inputs: Iterable[str | Path], config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.skipped_files: list[str] = []
        self._tempdir: ScratchDir | None = None
        self._warned: set[str] = set()
        self.files: list[tuple[Path, Path | None, str]] = []
        for raw in inputs:
            self.files.extend(self._expand(str(raw)))
        if not self.files:
            raise InputError(", ".join(map(str, inputs)) or "input", "no input files found")

    def _expand(self, raw: str) -> list[tuple[Path, Path | None, str]]:
        if raw == "-":
            return [(self._spool_stdin(), None, "<stdin>")]
        path = Path(raw)
        if path.is_dir():
            found: list[tuple[Path, Path | None, str]] = []
            skipped: list[str] = []
            for child in _walk(path):
                kind, _ = split_suffix(child)
                if kind in JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES:
                    found.append((child, path, _location(child, path)))
                else:
                    skipped.append(child.as_posix())
            self.skipped_files.extend(skipped)
            if skipped:
                log.warning(
                    "%s: ignored %d file(s) that are not .txt, .jsonl or .parquet (first: %s)",
                    raw, len(skipped), skipped[0],
                )
            return found
        if not path.exists():
            if path.is_symlink():
                raise InputError(raw, f"dangling link (to {os.readlink(path)})")
            raise InputError(raw, "no such file or folder")
        kind, _ = split_suffix(path)
        if kind not in JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES:
            raise InputError(
                raw, "unknown input format: name files .jsonl, .txt or .parquet (optionally .gz/.zst)"
            )
        return [(path, None, path.as_posix())]

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
        for path, root, shown in self.files:
            kind, compression = split_suffix(path)
            if kind in TEXT_SUFFIXES:
                reader = self._read_text(path, root, shown, compression, index)
            elif kind in PARQUET_SUFFIXES:
                reader = self._read_parquet(path, shown, index)
            else:
                reader = self._read_jsonl(path, shown, compression, index)
            for record in reader:
                yield record
                index += 1

    def close(self) -> None:
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def _warn_once(self, key: str, message: str, *args: Any) -> None:
        # every pass reads the input again; say it once
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    def _too_long(self, index: int, doc_id: str, location: str, kept: bytes, total: int, what: str) -> Record:
        cap = self.config.max_document_bytes
        return _bad(index, doc_id, location, "too-long",
                    f"{what} is {total:,} bytes, more than read.max_document_bytes ({cap:,}); raise the "
                    "limit with --max-document-bytes (e.g. 1GB) to read it",
                    kept[:TOO_LONG_PREVIEW_BYTES], partial=True, bytes_read=total)

    # -- formats -------------------------------------------------------------

    def _read_text(
        self, path: Path, root: Path | None, shown: str, compression: str, index: int
    ) -> Iterator[Record]:
        name = _location(path, root) if root is not None else path.name
        if compression:
            name = name[: -len(compression)]
        try:
            with open_input(str(path), compression) as stream:
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
                           f"invalid UTF-8 at byte {exc.start}; re-encode the file as UTF-8 or pass "
                           "--fallback-encoding (e.g. cp1252)", data)
                return
            text = data.decode(self.config.fallback_encoding, errors="replace")
        fields = {self.config.id_field: doc_id, self.config.text_field: text}
        # the folder writer puts a byte-order mark back, so a .txt comes out as it went in
        extra = {"bom": True} if data.startswith(codecs.BOM_UTF8) else {}
        yield Record(index, doc_id, text, shown, fields=fields, name=name, extra=extra)

    def _read_jsonl(self, path: Path, shown: str, compression: str, index: int) -> Iterator[Record]:
        cfg = self.config
        cap = cfg.max_document_bytes
        ids = _IdCount()
        line_no = 0
        try:
            with open_input(str(path), compression) as stream:
                for line, total in stream.lines(cap):
                    line_no += 1
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
                    pieces = _split_lone_cr(line) if record.error_rule == "invalid-json" else None
                    if pieces is None:
                        ids.count(record, cfg)
                        yield record
                        index += 1
                        continue
                    for number, piece in enumerate(pieces):
                        if number:
                            line_no += 1
                        if piece.strip():
                            record = parse_json_record(piece, index, f"{shown}:{line_no}", cfg)
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
        self._check_ids(shown, ids)

    def _check_ids(self, shown: str, ids: _IdCount) -> None:
        """A misspelt id field is an error; documents without an id, a warning per file."""
        field_name = self.config.id_field
        if not ids.missing:
            return
        if not ids.found and field_name != ID_FIELD:
            raise InputError(shown, f"no record has the id field {field_name!r} (--id-field); "
                                    f"check its spelling (the first record's fields: {ids.first_fields})")
        if ids.found:
            self._warn_once(f"ids:{shown}", "%s: %d of %d records have no %r field; they are named by "
                            "file and line (first: %s)", shown, ids.missing, ids.missing + ids.found,
                            field_name, ids.first_missing)

    def _read_parquet(self, path: Path, shown: str, index: int) -> Iterator[Record]:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingExtraError("reading Parquet", "parquet", "pyarrow") from exc
        cfg = self.config
        errors = (OSError, ValueError, OverflowError, pa.ArrowException)
        try:
            parquet = pq.ParquetFile(path)
            meta = parquet.metadata
            names = parquet.schema_arrow.names
        except errors as exc:
            yield _bad(index, shown, shown, "corrupt-file", f"cannot read Parquet: {exc}", b"")
            return
        if cfg.text_field not in names:
            yield _lost_rows(index, shown, "missing-text",
                             f"no {cfg.text_field!r} column (columns: {', '.join(names) or 'none'}); "
                             "name another with --text-field", meta.num_rows, meta.num_rows)
            return
        if cfg.id_field not in names and cfg.id_field != ID_FIELD and meta.num_rows:
            raise InputError(shown, f"no {cfg.id_field!r} column for the id (--id-field); check its "
                                    f"spelling (columns: {', '.join(names)})")
        ids = _IdCount()
        row_no = 0
        for group in range(meta.num_row_groups):
            group_rows = meta.row_group(group).num_rows
            first, done = row_no, 0
            try:
                for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, row_groups=[group]):
                    for row in _parquet_rows(batch, pa):
                        # Arrow strings are valid UTF-8: no surrogate to look for
                        record = _record_from_object(row, index, f"{shown}:row {first + done + 1}", cfg,
                                                     check_surrogates=False)
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
        self._check_ids(shown, ids)


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
                           f"no {config.text_field!r} field (name another with --text-field)", obj, raw)
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
        self.config = config
        self._docs: Iterable[dict[str, Any] | str] | None = docs
        self._spool: IO[bytes] | None = None

    def records(self) -> Iterator[Record]:
        if self._docs is None:
            yield from self._replay()
            return
        docs, self._docs = self._docs, None
        self._spool = tempfile.TemporaryFile(prefix="dedupe-spool-")
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


# ---------------------------------------------------------------------------
# Writing


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
_FILE_MODE = 0o666 & ~_UMASK
#: A process's open files as paths (``/dev/stdout`` and ``/dev/fd/N`` lead here).
_DESCRIPTOR_FOLDER = re.compile(r"/proc/(?:self|thread-self|\d+)(?:/task/\d+)?/fd")
#: Symbolic links followed before a path is taken for a loop.
MAX_LINK_HOPS = 40


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and missing parents, as users expect of ``-o out/x.jsonl``.

    Returns the folders created, outermost first, so that a failed run can
    remove them again (only while empty).
    """
    missing = []
    current = Path(os.path.abspath(folder))
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the folder: {exc.strerror or exc}") from exc
    return missing[::-1]


def _remove_empty_dirs(created: list[Path]) -> None:
    for folder in reversed(created):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only if empty: another output or the user may have put files there


def via_descriptor(target: str | Path) -> bool:
    """Whether ``target`` is, or links through, an open file of a process.

    ``/dev/stdout``, ``/dev/fd/3`` (how a shell passes ``>(jq .)``) and
    ``/proc/self/fd/1`` are written to as they are, never replaced.

    >>> via_descriptor("/dev/stdout"), via_descriptor("out.jsonl")
    (True, False)
    """
    path = os.path.abspath(target)
    for _ in range(MAX_LINK_HOPS):
        if _DESCRIPTOR_FOLDER.fullmatch(os.path.realpath(os.path.dirname(path))):
            return True
        if not os.path.islink(path):
            return False
        path = os.path.normpath(os.path.join(os.path.dirname(path), os.readlink(path)))
    return False


def is_special_output(target: str | Path) -> bool:
    """Whether writing to ``target`` goes to something other than a regular file.

    Devices (``/dev/null``), FIFOs, sockets and open files of a process are
    written through; only a regular file (or a new name) is replaced atomically.

    >>> is_special_output("/dev/null"), is_special_output("new-file.jsonl")
    (True, False)
    """
    if via_descriptor(target):
        return True
    try:
        mode = os.stat(target).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _replaced_path(target: str) -> Path:
    """The regular file an atomic write of ``target`` replaces: symbolic links are
    followed, so the link stays and its target gets the new content."""
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        mode = None  # a new file, or a link to one
    except OSError as exc:
        raise OutputError(f"{target}: {exc.strerror or exc}") from exc
    if mode is not None and stat.S_ISDIR(mode):
        raise OutputError(f"{target}: is a folder; name a file")
    return Path(os.path.realpath(target))


class AtomicFile:
    """An output file, all or nothing where the file system allows it.

    Where ``target`` leads decides how it is written:

    - a regular file or a new name: to a locked temporary beside it (through
      symbolic links: beside the link's target, and the link stays), renamed
      over it by :meth:`publish`; a failed or interrupted run leaves it as it was;
    - a device (``/dev/null``), a FIFO or an open file of a process
      (``/dev/stdout``, ``>(jq .)``): written to as the run goes, never
      replaced; this cannot be atomic;
    - ``-``: standard output, also as the run goes.

    :meth:`finish` writes everything out and syncs it (errors name the file),
    :meth:`publish` makes it visible; :meth:`commit` does both. Compression
    follows the suffix of ``target`` (``.gz`` or ``.zst``) unless ``compress``
    is false (Parquet compresses inside the file).

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "out.txt"
    >>> f = AtomicFile(path); f.write(b"hello\\n"); path.exists()
    False
    >>> f.commit(); path.read_text()
    'hello\\n'
    """

    def __init__(self, target: str | Path, compress: bool = True) -> None:
        self.target = str(target)
        self.final: Path | None = None  # the regular file replaced on publish
        self._tmp: Path | None = None
        self._backup: Path | None = None
        self._had_previous = False
        self._created: list[Path] = []
        self._raw: IO[bytes]
        if self.target == "-":
            self._raw = sys.stdout.buffer
        elif is_special_output(self.target):
            try:  # blocks until a FIFO has a reader, as a shell's `>` does
                fd = os.open(self.target, os.O_WRONLY | os.O_APPEND)
            except OSError as exc:
                raise OutputError(f"{self.target}: cannot write: {exc.strerror or exc}") from exc
            self._raw = os.fdopen(fd, "wb")
        else:
            self.final = _replaced_path(self.target)
            self._created = _make_dirs(self.final.parent)
            sweep(self.final.parent)
            try:
                fd, self._tmp = make_temp_beside(self.final.parent, self.final.name)
            except OSError as exc:
                _remove_empty_dirs(self._created)
                raise OutputError(f"{self.target}: cannot create a temporary file beside it: "
                                  f"{exc.strerror or exc}") from exc
            try:
                previous = self.final.stat().st_mode & 0o7777
            except OSError:
                previous = _FILE_MODE  # mkstemp makes 0600; a new output gets the usual mode
            os.chmod(fd, previous)
            self._raw = os.fdopen(fd, "wb")  # its descriptor holds the temporary's lock
        _, compression = split_suffix(self.target) if compress else ("", "")
        self.handle: IO[bytes]
        if compression == ".gz":
            # mtime=0 keeps the bytes identical from run to run
            self.handle = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        elif compression == ".zst":
            import zstandard

            self.handle = zstandard.ZstdCompressor().stream_writer(self._raw, closefd=False)  # type: ignore[assignment]
        else:
            self.handle = self._raw

    @property
    def atomic(self) -> bool:
        """Whether :meth:`publish` replaces a regular file (else the data is already out)."""
        return self.final is not None

    def _error(self, exc: OSError) -> Exception:
        if isinstance(exc, BrokenPipeError):
            if self.target == "-":
                return exc  # the reader of stdout went away (`| head`): the CLI stops quietly
            return OutputError(f"{self.target}: the reader went away (broken pipe)")
        return OutputError(f"{self.target}: {exc.strerror or exc}")

    def write(self, data: bytes) -> None:
        try:
            self.handle.write(data)
        except OSError as exc:
            raise self._error(exc) from exc

    def finish(self) -> None:
        """Write out what is buffered and sync it to disk; nothing is visible yet."""
        try:
            if self.handle is not self._raw and not self.handle.closed:
                self.handle.close()  # the compression trailer; the file stays open
            self._raw.flush()
            if self._tmp is not None:
                os.fsync(self._raw.fileno())
        except OSError as exc:
            raise self._error(exc) from exc

    def publish(self, keep_previous: bool = False) -> None:
        """Put the finished file in place (one rename for a regular file).

        With ``keep_previous``, the file it replaces stays reachable until
        :meth:`discard_previous` (or comes back with :meth:`restore_previous`).
        """
        if self._tmp is None or self.final is None:
            if self.target != "-":
                self._close()
            return
        try:
            if keep_previous:
                self._keep_previous(self.final)
            os.replace(self._tmp, self.final)
        except OSError as exc:
            self.discard_previous()  # the previous file is still in place
            raise self._error(exc) from exc
        self._tmp = None
        self._close()  # only now: the descriptor held the temporary's lock

    def _keep_previous(self, final: Path) -> None:
        self._had_previous = final.exists()
        if self._had_previous:
            # a hard link keeps the previous file whole under a temporary's name,
            # which the next run sweeps if this one dies before discarding it
            self._backup = link_beside(final)

    def restore_previous(self) -> None:
        """Undo :meth:`publish`: the previous file (or no file) is back."""
        if self.final is None or self._tmp is not None:
            return
        with contextlib.suppress(OSError):
            if self._backup is not None:
                os.replace(self._backup, self.final)
                self._backup = None
            elif not self._had_previous:
                self.final.unlink()

    def discard_previous(self) -> None:
        if self._backup is not None:
            with contextlib.suppress(OSError):
                self._backup.unlink()
            self._backup = None

    def commit(self) -> None:
        """:meth:`finish` and :meth:`publish`."""
        self.finish()
        self.publish()

    def _close(self) -> None:
        with contextlib.suppress(OSError):
            if self.handle is not self._raw:
                self.handle.close()
            self._raw.close()

    def abort(self) -> None:
        """Throw away an unpublished temporary (and folders made for it, if empty)."""
        if self._tmp is None:
            if self.target != "-" and not self._raw.closed:
                self._close()
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        self._tmp = None
        self._close()
        _remove_empty_dirs(self._created)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {key: _finite(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(value) for value in obj]
    return obj


def dumps_json(obj: Any, indent: int | None = None, compact: bool = False) -> str:
    """JSON text, UTF-8 characters kept; NaN and ±Infinity (not JSON) become ``null``.

    >>> dumps_json({"score": float("nan"), "n": [1, float("inf")]})
    '{"score": null, "n": [1, null]}'
    >>> dumps_json({"a": 1, "b": [2]}, compact=True)
    '{"a":1,"b":[2]}'
    """
    separators = (",", ":") if compact else None
    try:
        return json.dumps(obj, ensure_ascii=False, allow_nan=False, indent=indent, separators=separators,
                          default=json_default)
    except ValueError:  # a non-finite float somewhere: the rare case pays the second pass
        return json.dumps(_finite(obj), ensure_ascii=False, allow_nan=False, indent=indent,
                          separators=separators, default=json_default)


def dumps_jsonl(obj: dict[str, Any]) -> bytes:
    """One JSONL line, UTF-8, keys in the given order (stable output).

    >>> dumps_jsonl({"id": 1, "x": float("-inf")})
    b'{"id": 1, "x": null}\\n'
    """
    return (dumps_json(obj) + "\n").encode("utf-8")


class DocumentWriter(Protocol):
    def write(self, record: Record, text: str) -> None: ...

    def finish(self) -> None: ...

    def publish(self, keep_previous: bool = False) -> None: ...

    def restore_previous(self) -> None: ...

    def discard_previous(self) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class JsonlWriter:
    """Cleaned documents as JSONL: the input's fields with the text replaced."""

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.file = AtomicFile(target)

    def write(self, record: Record, text: str) -> None:
        self.file.write(dumps_jsonl(output_fields(record, text, self.config)))

    def finish(self) -> None:
        self.file.finish()

    def publish(self, keep_previous: bool = False) -> None:
        self.file.publish(keep_previous)

    def restore_previous(self) -> None:
        self.file.restore_previous()

    def discard_previous(self) -> None:
        self.file.discard_previous()

    def commit(self) -> None:
        self.file.commit()

    def abort(self) -> None:
        self.file.abort()


def output_fields(record: Record, text: str, config: ReadConfig) -> dict[str, Any]:
    """The output object for a record: its fields, in order, with the cleaned text."""
    fields = dict(record.fields) if record.fields is not None else {config.id_field: record.doc_id}
    fields[config.text_field] = text
    return fields


_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
#: The file in a folder output that lists what dedupe wrote there, with each file's hash.
FOLDER_MANIFEST = ".dedupe-output.json"
#: Longest file or folder name written, in bytes (file systems allow 255): a
#: longer one is cut and ends in a hash of the whole name.
MAX_NAME_BYTES = 200
#: Hex digits of the hash that ends a shortened name.
NAME_HASH_CHARS = 16


def _fit_name(part: str, suffix: str = "") -> str:
    """``part`` + ``suffix``, cut to :data:`MAX_NAME_BYTES` with a hash of the whole when too long.

    >>> _fit_name("a" * 300, ".txt").endswith(".txt"), len(_fit_name("a" * 300, ".txt"))
    (True, 200)
    """
    whole = part + suffix
    if len(whole.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES:
        return whole
    raw = whole.encode("utf-8", "surrogateescape")
    digest = hashlib.blake2b(raw, digest_size=NAME_HASH_CHARS // 2).hexdigest()
    room = MAX_NAME_BYTES - len(suffix.encode()) - NAME_HASH_CHARS - 1
    cut = part.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
    return f"{cut}~{digest}{suffix}"


def _file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _digest_of(path: Path) -> str | None:
    try:
        return _file_digest(path.read_bytes())
    except OSError:
        return None


def _read_folder_manifest(folder: Path) -> dict[str, list[str]]:
    path = folder / FOLDER_MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not an object")
        return {str(k): [str(h) for h in v] for k, v in files.items() if isinstance(v, list)}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("%s: unreadable (%s); files in %s are replaced only with --overwrite", path, exc, folder)
        return {}


def _write_folder_manifest(folder: Path, files: dict[str, list[str]]) -> None:
    out = AtomicFile(folder / FOLDER_MANIFEST)
    try:
        body = {"format": 1, "about": "files written by dedupe: a later run may replace or remove them "
                "while their hash is listed here; it leaves every other file alone",
                "files": dict(sorted(files.items()))}
        out.write((dumps_json(body, indent=1) + "\n").encode("utf-8"))
        out.commit()
    finally:
        out.abort()


class FolderWriter:
    """Cleaned documents as ``.txt`` files in a folder, named like their inputs.

    Each file holds exactly the cleaned text (UTF-8, with the byte-order mark
    its input file had): a document nothing was removed from comes out byte
    for byte as it went in.

    The folder may hold anything else: a run only adds files and replaces or
    removes the files an earlier run wrote (listed with their hash in
    :data:`FOLDER_MANIFEST`) and nobody changed since. Any other existing
    file of the same name stops the run unless ``overwrite`` is set; nothing
    is ever removed that dedupe did not write. Files are written to a locked
    temporary folder inside the target and moved into place one by one when
    the run succeeds: each file is replaced atomically, the set is not.

    ``protected``: paths (inputs, other outputs, an index) no file may be
    written to or inside of.
    """

    def __init__(self, target: str | Path, *, protected: Iterable[str | Path] = (),
                 overwrite: bool = False) -> None:
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise OutputError(f"{target}: exists and is not a folder")
        self.overwrite = overwrite
        self._created = _make_dirs(self.target)
        self._real = Path(os.path.realpath(self.target))
        self._protected = {os.path.realpath(p) for p in protected}
        sweep(self._real)
        self._previous = _read_folder_manifest(self._real)
        try:
            self._lock_fd, self._tmp = make_temp_dir_beside(self._real, self._real.name or "output")
        except OSError as exc:
            _remove_empty_dirs(self._created)
            raise OutputError(f"{target}: cannot write in the folder: {exc.strerror or exc}") from exc
        self._written: dict[str, str] = {}  # name -> digest, in writing order
        self._taken: set[str] = set()  # casefolded names
        self._folders: set[str] = set()  # casefolded folder prefixes of taken names
        self._published = False

    # -- names ------------------------------------------------------------------

    def _base_parts(self, record: Record) -> list[str]:
        if record.name:
            parts = [p for p in record.name.split("/") if p not in ("", ".", "..")] or [f"doc-{record.index}"]
            parts[-1] = parts[-1].removesuffix(".txt")
        else:
            parts = [_UNSAFE_NAME.sub("_", record.doc_id).strip("._") or f"doc-{record.index}"]
        return [_fit_name(p) for p in parts[:-1]] + [_fit_name(parts[-1], ".txt")]

    def _blocked(self, name: str) -> bool:
        """Whether ``name`` cannot be a file here: a folder of this run or on disk has
        its name, or one of its folders is a file (or a link) of this run or on disk."""
        folded = name.casefold()
        parts = name.split("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts))]
        if folded in self._folders or any(p.casefold() in self._taken for p in prefixes):
            return True
        for prefix in prefixes:
            try:
                if not stat.S_ISDIR(os.lstat(self._real / prefix).st_mode):
                    return True  # a file, or a link that could lead out of the folder
            except FileNotFoundError:
                break
            except OSError:
                return True
        try:
            mode = os.lstat(self._real / name).st_mode
        except FileNotFoundError:
            return False
        except OSError:
            return True
        return not stat.S_ISREG(mode)

    def _name(self, record: Record) -> str:
        parts = self._base_parts(record)
        name = "/".join(parts)
        if len(parts) > 1 and self._blocked(name):
            # a folder on the way is taken by a file: the document goes flat
            name = _fit_name("_".join(parts)[:-4], ".txt")
        base, counter = name, 1
        while name.casefold() in self._taken or self._blocked(name):
            counter += 1
            name = f"{base[:-4]}~{counter}.txt"
        self._taken.add(name.casefold())
        parts = name.split("/")
        self._folders.update("/".join(parts[:i]).casefold() for i in range(1, len(parts)))
        return name

    def _check_destination(self, dest: Path, name: str, record: Record) -> None:
        for place in (dest, *dest.parents):
            if str(place) in self._protected:
                what = ("an input or another output" if place == dest
                        else f"inside {place}, an input or an index")
                raise OutputError(f"{self.target / name}: is {what} (document {record.doc_id!r}); "
                                  "write the documents to another folder")
            if place == self._real:
                break
        if not dest.exists() or self.overwrite:
            return
        if _digest_of(dest) in self._previous.get(name, ()):
            return  # an earlier run wrote it and nobody changed it since
        raise OutputError(f"{self.target / name}: exists and was not written by an earlier dedupe run "
                          f"(document {record.doc_id!r}); pass --overwrite to replace such files, "
                          "or write to another folder")

    # -- writing ------------------------------------------------------------------

    def write(self, record: Record, text: str) -> None:
        name = self._name(record)
        dest = self._real / name
        self._check_destination(dest, name, record)
        data = text.encode("utf-8")
        if record.extra.get("bom"):
            data = codecs.BOM_UTF8 + data
        path = self._tmp / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(path, _FILE_MODE)
        except OSError as exc:
            raise OutputError(f"{self.target / name}: {exc.strerror or exc} "
                              f"(document {record.doc_id!r}, {record.location})") from exc
        self._written[name] = _file_digest(data)

    def finish(self) -> None:
        """Every file is already written and synced by :meth:`write`."""

    def publish(self, keep_previous: bool = False) -> None:
        """Move the files into place; remove an earlier run's files this run did not write.

        The manifest lists old and new hashes while files move, so that a run
        dying halfway leaves every file dedupe wrote still listed as its own.
        """
        del keep_previous  # a folder's files cannot all come back: they are moved one by one
        files = {name: list(digests) for name, digests in self._previous.items()}
        for name, digest in self._written.items():
            files[name] = sorted({*files.get(name, ()), digest})
        current = ""
        try:
            _write_folder_manifest(self._real, files)
            for name in self._written:
                current = name
                dest = self._real / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(self._tmp / name, dest)
            kept = 0
            for name, digests in self._previous.items():
                current = name
                if name in self._written:
                    continue
                dest = self._real / name
                if not dest.exists():
                    continue
                if os.path.islink(dest) or _digest_of(dest) not in digests:
                    kept += 1  # changed since dedupe wrote it: not ours to remove
                    continue
                dest.unlink()
            if kept:
                log.warning("%s: kept %d file(s) of an earlier run that were changed since", self.target, kept)
            current = FOLDER_MANIFEST
            _write_folder_manifest(self._real, {name: [digest] for name, digest in self._written.items()})
        except OSError as exc:
            raise OutputError(f"{self.target / current}: {exc.strerror or exc}") from exc
        self._published = True
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._unlock()

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)
            self._lock_fd = None

    def restore_previous(self) -> None:
        """Nothing to undo: a folder's files are moved one by one (see the class doc)."""

    def discard_previous(self) -> None:
        """Nothing kept: see :meth:`restore_previous`."""

    def commit(self) -> None:
        self.finish()
        self.publish()

    def abort(self) -> None:
        if self._published:
            return
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._unlock()
        self._published = True
        _remove_empty_dirs(self._created)


def _json_text(value: Any) -> str | None:
    return None if value is None else dumps_json(value if not isinstance(value, bytes) else
                                                 value.decode("utf-8", "backslashreplace"))


def _parquet_writable(pa: Any, pq: Any, kind: Any) -> bool:
    try:
        pq.write_table(pa.schema([("x", kind)]).empty_table(), io.BytesIO())
    except (pa.ArrowException, TypeError, ValueError, NotImplementedError):
        return False
    return True


def unify_parquet_schema(batches: Iterable[list[dict[str, Any]]]) -> tuple[Any, set[str]]:
    """One Parquet schema for every row of a run, and the fields written as JSON text.

    Columns come in order of first appearance. A field null in early rows or
    absent from some rows takes the type of its values; ints and floats widen
    to floats and structs merge their fields. A field whose values share no
    type Parquet can store (a string here and a number there, an empty
    struct) becomes a string column holding each value as JSON text (null
    stays null).

    >>> schema, as_json = unify_parquet_schema([[{"a": None, "b": 1}], [{"a": 2, "b": "x"}, {"c": {}}]])
    >>> [(f.name, str(f.type)) for f in schema], sorted(as_json)
    ([('a', 'int64'), ('b', 'string'), ('c', 'string')], ['b', 'c'])
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds: dict[str, list[Any]] = {}
    as_json: set[str] = set()
    for rows in batches:
        names = list(dict.fromkeys(key for row in rows for key in row))
        for name in names:
            seen = kinds.setdefault(name, [])
            if name in as_json:
                continue
            try:
                seen.append(pa.array([row.get(name) for row in rows]).type)
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                as_json.add(name)
    fields = []
    for name, seen in kinds.items():
        kind = pa.null()
        if name not in as_json and seen:
            try:
                kind = pa.unify_schemas([pa.schema([(name, k)]) for k in seen],
                                        promote_options="permissive").field(name).type
            except (pa.ArrowException, TypeError, ValueError):
                as_json.add(name)
        if name not in as_json and not _parquet_writable(pa, pq, kind):
            as_json.add(name)
        fields.append(pa.field(name, pa.string() if name in as_json else kind))
    return pa.schema(fields), as_json


class ParquetWriter:
    """Cleaned documents as Parquet (needs the ``parquet`` extra).

    Rows are spooled to a temporary file beside the output; the schema is
    unified over the whole run (:func:`unify_parquet_schema`) and the file
    written when the run finishes.
    """

    BATCH = 1024

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("writing Parquet", "parquet", "pyarrow") from exc
        self.config = config
        self.file = AtomicFile(target, compress=False)
        spool_dir = self.file.final.parent if self.file.final is not None else Path(tempfile.gettempdir())
        try:
            fd, self._spool_path = make_temp_beside(spool_dir, Path(target).name)
        except OSError as exc:
            self.file.abort()
            raise OutputError(f"{target}: cannot create a temporary file: {exc.strerror or exc}") from exc
        self._spool: IO[bytes] | None = os.fdopen(fd, "w+b")
        self._rows: list[dict[str, Any]] = []
        self._batches = 0

    def write(self, record: Record, text: str) -> None:
        self._rows.append(output_fields(record, text, self.config))
        if len(self._rows) >= self.BATCH:
            self._spill()

    def _spill(self) -> None:
        if not self._rows or self._spool is None:
            return
        try:
            pickle.dump(self._rows, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
        except OSError as exc:
            raise OutputError(f"{self.file.target}: {exc.strerror or exc}") from exc
        self._rows = []
        self._batches += 1

    def _spooled(self, spool: IO[bytes]) -> Iterator[list[dict[str, Any]]]:
        spool.seek(0)
        for _ in range(self._batches):
            yield pickle.load(spool)

    def finish(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._spill()
        if self._spool is None:
            return
        try:
            self._spool.flush()
            if self._batches == 0:  # no documents: an empty file with id and text
                schema = pa.schema([(self.config.id_field, pa.string()), (self.config.text_field, pa.string())])
                pq.write_table(schema.empty_table(), self.file.handle)
            else:
                schema, as_json = unify_parquet_schema(self._spooled(self._spool))
                writer = pq.ParquetWriter(self.file.handle, schema)
                try:
                    for rows in self._spooled(self._spool):
                        columns = []
                        for column in schema:
                            values = [row.get(column.name) for row in rows]
                            if column.name in as_json:
                                values = [_json_text(v) for v in values]
                            columns.append(pa.array(values, type=column.type))
                        writer.write_table(pa.Table.from_arrays(columns, schema=schema))
                finally:
                    writer.close()
        except OSError as exc:
            raise OutputError(f"{self.file.target}: {exc.strerror or exc}") from exc
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise OutputError(f"{self.file.target}: cannot write Parquet: {exc}") from exc
        self._drop_spool()
        self.file.finish()

    def _drop_spool(self) -> None:
        if self._spool is not None:
            with contextlib.suppress(OSError):
                self._spool_path.unlink()
            self._spool.close()
            self._spool = None

    def publish(self, keep_previous: bool = False) -> None:
        self.file.publish(keep_previous)

    def restore_previous(self) -> None:
        self.file.restore_previous()

    def discard_previous(self) -> None:
        self.file.discard_previous()

    def commit(self) -> None:
        self.finish()
        self.publish()

    def abort(self) -> None:
        self._drop_spool()
        self.file.abort()


def is_folder_output(target: str | Path) -> bool:
    """Whether ``-o target`` writes a folder of ``.txt`` files (see :func:`open_writer`).

    >>> is_folder_output("out/"), is_folder_output("out.jsonl"), is_folder_output("/dev/null")
    (True, False, False)
    """
    kind, _ = split_suffix(target)
    if str(target) == "-" or kind in JSONL_SUFFIXES + PARQUET_SUFFIXES or is_special_output(target):
        return False
    return str(target).endswith(("/", os.sep)) or Path(target).is_dir() or not kind


def open_writer(
    target: str | Path | None,
    config: ReadConfig = ReadConfig(),
    *,
    protected: Iterable[str | Path] = (),
    overwrite: bool = False,
) -> DocumentWriter:
    """Writer for ``target`` chosen by its name.

    ``None`` or ``-``: JSONL on stdout. ``.jsonl`` (``.gz``/``.zst``): JSONL.
    ``.parquet``: Parquet. A device, FIFO or open file of a process
    (``/dev/null``, ``>(gzip > x.gz)``): JSONL written through. A folder, a
    name ending in ``/`` or a name without a suffix: one ``.txt`` file per
    document (see :class:`FolderWriter` for ``protected`` and ``overwrite``).
    """
    if target is None or str(target) == "-":
        return JsonlWriter("-", config)
    kind, _ = split_suffix(target)
    if kind in PARQUET_SUFFIXES:
        return ParquetWriter(target, config)
    if is_folder_output(target):
        return FolderWriter(target, protected=protected, overwrite=overwrite)
    if kind in JSONL_SUFFIXES or is_special_output(target):
        return JsonlWriter(target, config)
    raise OutputError(
        f"{target}: unknown output format {kind!r}; use .jsonl(.gz/.zst), .parquet, or a folder"
    )


def open_text_output(target: str | Path) -> AtomicFile:
    """An atomic file for the removal record or stats (``-`` for stdout)."""
    return AtomicFile(target)
