"""Reading and writing documents: JSONL, text files and folders, Parquet, stdin/stdout.

Inputs are *sources* that can be iterated twice (the batch pipeline reads its
input once to fingerprint and once to assemble), yielding :class:`Record`
objects in a fixed order. Unreadable data becomes a record with ``error`` set,
so the pipeline decides (stop, or skip with an entry in the removal record).

Outputs are written atomically: to a temporary file beside the target, renamed
into place only when the run succeeds.

>>> src = IterableSource([{"id": "a", "text": "x"}, "plain string"])
>>> [(r.doc_id, r.text) for r in src.records()]
[('a', 'x'), ('1', 'plain string')]
>>> src.close()
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import logging
import os
import pickle
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

from .config import ReadConfig
from .errors import InputError, MissingExtraError, OutputError

log = logging.getLogger(__name__)

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
TEXT_SUFFIXES = (".txt",)
PARQUET_SUFFIXES = (".parquet",)
COMPRESSED_SUFFIXES = (".gz", ".zst")
#: How much of an unreadable record's raw bytes the removal record keeps.
MAX_BAD_SNIPPET_CHARS = 2000
#: Bytes inspected for NUL characters to tell a binary file from text.
BINARY_SNIFF_BYTES = 8192


@dataclass(slots=True)
class Record:
    """One input document, or one unreadable piece of input (``error`` set)."""

    index: int
    doc_id: str
    text: str
    location: str
    fields: dict[str, Any] | None = None
    name: str | None = None
    error: str | None = None
    error_rule: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


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


def _open_binary(path: Path, compression: str) -> IO[bytes]:
    if compression == ".gz":
        return gzip.open(path, "rb")
    if compression == ".zst":
        import zstandard

        handle = open(path, "rb")
        # The zstd reader has no readline; buffering gives line iteration.
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(handle, closefd=True))  # type: ignore[arg-type]
    return open(path, "rb")


def _location(path: Path, root: Path | None) -> str:
    return (path.relative_to(root) if root is not None else path).as_posix()


class FileSource:
    """Documents from files and folders (recursively, sorted by path), or ``-`` for stdin.

    Standard input is copied to a temporary file first, because the pipeline
    reads its input twice.
    """

    def __init__(self, inputs: Iterable[str | Path], config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.skipped_files: list[str] = []
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
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
            found = []
            for child in sorted(path.rglob("*"), key=lambda p: p.relative_to(path).as_posix()):
                if not child.is_file():
                    continue
                kind, _ = split_suffix(child)
                if kind in JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES:
                    found.append((child, path, _location(child, path)))
                else:
                    self.skipped_files.append(child.as_posix())
            if self.skipped_files:
                log.warning(
                    "%s: ignored %d file(s) that are not .txt, .jsonl or .parquet (first: %s)",
                    raw, len(self.skipped_files), self.skipped_files[0],
                )
            return found
        if not path.exists():
            raise InputError(raw, "no such file or folder")
        kind, _ = split_suffix(path)
        if kind not in JSONL_SUFFIXES + TEXT_SUFFIXES + PARQUET_SUFFIXES:
            raise InputError(
                raw, "unknown input format: name files .jsonl, .txt or .parquet (optionally .gz/.zst)"
            )
        return [(path, None, path.as_posix())]

    def _spool_stdin(self) -> Path:
        if self._tempdir is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="dedupe-stdin-")
        target = Path(self._tempdir.name) / f"stdin-{len(self.files)}.jsonl"
        with open(target, "wb") as out:
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

    # -- formats -------------------------------------------------------------

    def _read_text(
        self, path: Path, root: Path | None, shown: str, compression: str, index: int
    ) -> Iterator[Record]:
        name = _location(path, root) if root is not None else path.name
        if compression:
            name = name[: -len(compression)]
        try:
            with _open_binary(path, compression) as handle:
                data = handle.read()
        except (OSError, EOFError) as exc:
            yield _bad(index, shown, shown, "unreadable-file", f"cannot read file: {exc}", b"")
            return
        doc_id = name
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
        line_no = 0
        try:
            with _open_binary(path, compression) as raw:
                for line_no, line in enumerate(raw, start=1):
                    if not line.strip():
                        continue
                    yield parse_json_record(line, index, f"{shown}:{line_no}", cfg)
                    index += 1
        except (OSError, EOFError) as exc:
            yield _bad(index, f"{shown}:{line_no + 1}", f"{shown}:{line_no + 1}", "corrupt-file",
                       f"cannot read past line {line_no}: {exc}", b"")
        except Exception as exc:  # zstandard raises its own ZstdError
            if type(exc).__name__ != "ZstdError":
                raise
            yield _bad(index, f"{shown}:{line_no + 1}", f"{shown}:{line_no + 1}", "corrupt-file",
                       f"cannot read past line {line_no}: {exc}", b"")

    def _read_parquet(self, path: Path, shown: str, index: int) -> Iterator[Record]:
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise MissingExtraError("reading Parquet", "parquet", "pyarrow") from exc
        cfg = self.config
        row_no = 0
        try:
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=1024):
                for row in batch.to_pylist():
                    row_no += 1
                    yield _record_from_object(row, index, f"{shown}:row {row_no}", cfg)
                    index += 1
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            yield _bad(index, f"{shown}:row {row_no + 1}", shown, "corrupt-file",
                       f"cannot read Parquet: {exc}", b"")


def parse_json_record(line: bytes, index: int, location: str, config: ReadConfig) -> Record:
    """Parse one JSONL line into a :class:`Record` (``error`` set if unusable)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _bad(index, location, location, "invalid-utf8",
                    f"invalid UTF-8 at byte {exc.start} of the line", line)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return _bad(index, location, location, "invalid-json",
                    f"not valid JSON ({exc.msg} at column {exc.colno})", line)
    except RecursionError:
        return _bad(index, location, location, "invalid-json", "JSON nested too deeply", line)
    if not isinstance(obj, dict):
        return _bad(index, location, location, "not-an-object",
                    f"expected a JSON object, got {type(obj).__name__}", line)
    return _record_from_object(obj, index, location, config, raw=line)


def _record_from_object(
    obj: dict[str, Any], index: int, location: str, config: ReadConfig, raw: bytes = b""
) -> Record:
    raw_id = obj.get(config.id_field)
    doc_id = location if raw_id is None else str(raw_id)
    if config.text_field not in obj:
        return _bad(index, doc_id, location, "missing-text",
                    f"no {config.text_field!r} field (name another with --text-field)",
                    raw or json.dumps(obj, ensure_ascii=False).encode())
    text = obj[config.text_field]
    if text is None:
        text = ""
    if not isinstance(text, str):
        return _bad(index, doc_id, location, "text-not-string",
                    f"field {config.text_field!r} is {type(text).__name__}, not a string",
                    raw or json.dumps(obj, ensure_ascii=False, default=str).encode())
    return Record(index, doc_id, text, location, fields=obj)


def _bad(index: int, doc_id: str, location: str, rule: str, message: str, raw: bytes) -> Record:
    snippet = raw[: MAX_BAD_SNIPPET_CHARS * 4].decode("utf-8", errors="replace")
    return Record(index, doc_id, snippet[:MAX_BAD_SNIPPET_CHARS], location,
                  error=message, error_rule=rule)


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
        for index, doc in enumerate(docs):
            record = self._convert(index, doc)
            pickle.dump(record, self._spool, protocol=pickle.HIGHEST_PROTOCOL)
            yield record

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
            return _bad(index, location, location, "not-an-object",
                        f"expected a dict or str, got {type(doc).__name__}", repr(doc).encode())
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


def _make_parent(path: Path) -> Path:
    """Create the folder an output goes in, as users expect of ``-o out/x.jsonl``."""
    parent = path.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path}: cannot create folder {parent}: {exc.strerror}") from exc
    return parent


class AtomicFile:
    """A file written to a temporary name and renamed into place on :meth:`commit`.

    ``-`` writes to standard output (which cannot be atomic). Compression
    follows the suffix: ``.gz`` or ``.zst``.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = str(target)
        self._tmp: str | None = None
        self._raw: IO[bytes]
        if self.target == "-":
            self._raw = sys.stdout.buffer
            self.handle: IO[bytes] = self._raw
            return
        path = Path(self.target)
        if path.is_dir():
            raise OutputError(f"{self.target}: is a folder; name a file")
        _make_parent(path)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.chmod(self._tmp, _FILE_MODE)  # mkstemp makes 0600; outputs get the usual mode
        self._raw = os.fdopen(fd, "wb")
        _, compression = split_suffix(path)
        if compression == ".gz":
            # mtime=0 keeps the bytes identical from run to run
            self.handle = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        elif compression == ".zst":
            import zstandard

            self.handle = zstandard.ZstdCompressor().stream_writer(self._raw, closefd=False)  # type: ignore[assignment]
        else:
            self.handle = self._raw

    def write(self, data: bytes) -> None:
        self.handle.write(data)

    def commit(self) -> None:
        if self._tmp is None:
            self._raw.flush()
            return
        if self.handle is not self._raw:
            self.handle.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self._tmp, self.target)
        self._tmp = None

    def abort(self) -> None:
        if self._tmp is None:
            return
        with contextlib.suppress(Exception):
            if self.handle is not self._raw:
                self.handle.close()
            self._raw.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)
        self._tmp = None


def dumps_jsonl(obj: dict[str, Any]) -> bytes:
    """One JSONL line, UTF-8, keys in the given order (stable output)."""
    return (json.dumps(obj, ensure_ascii=False) + "\n").encode("utf-8")


class DocumentWriter(Protocol):
    def write(self, record: Record, text: str) -> None: ...

    def commit(self) -> None: ...

    def abort(self) -> None: ...


class JsonlWriter:
    """Cleaned documents as JSONL: the input's fields with the text replaced."""

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.file = AtomicFile(target)

    def write(self, record: Record, text: str) -> None:
        self.file.write(dumps_jsonl(output_fields(record, text, self.config)))

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


class FolderWriter:
    """Cleaned documents as ``.txt`` files in a folder, named like their inputs.

    Each file holds exactly the cleaned text (UTF-8, with the byte-order mark
    its input file had): a document nothing was removed from comes out byte
    for byte as it went in. The folder is built beside the target and swapped
    in when the run succeeds.
    """

    def __init__(self, target: str | Path) -> None:
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise OutputError(f"{target}: exists and is not a folder")
        parent = _make_parent(self.target)
        self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.target.name}.", dir=parent))
        os.chmod(self._tmp, _FILE_MODE | 0o111 & ~_UMASK)
        self._names: set[str] = set()

    def _name(self, record: Record) -> str:
        if record.name:
            base = record.name if record.name.endswith(".txt") else record.name + ".txt"
        else:
            base = (_UNSAFE_NAME.sub("_", record.doc_id).strip("._") or f"doc-{record.index}") + ".txt"
        name, counter = base, 1
        while name.casefold() in self._names:
            counter += 1
            name = f"{base[:-4]}~{counter}.txt"
        self._names.add(name.casefold())
        return name

    def write(self, record: Record, text: str) -> None:
        path = self._tmp / self._name(record)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        path.write_bytes(codecs.BOM_UTF8 + data if record.extra.get("bom") else data)

    def commit(self) -> None:
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
        os.replace(self._tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


class ParquetWriter:
    """Cleaned documents as Parquet (needs the ``parquet`` extra)."""

    BATCH = 1024

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        try:
            import pyarrow  # noqa: F401
        except ImportError as exc:
            raise MissingExtraError("writing Parquet", "parquet", "pyarrow") from exc
        self.config = config
        self.target = Path(target)
        _make_parent(self.target)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                   dir=self.target.resolve().parent)
        os.close(fd)
        os.chmod(tmp, _FILE_MODE)
        self._tmp = tmp
        self._rows: list[dict[str, Any]] = []
        self._writer: Any = None
        self._schema: Any = None

    def write(self, record: Record, text: str) -> None:
        self._rows.append(output_fields(record, text, self.config))
        if len(self._rows) >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self._rows:
            return
        if self._schema is None:
            self._schema = pa.Table.from_pylist(self._rows).schema
            self._writer = pq.ParquetWriter(self._tmp, self._schema)
        unknown = {k for row in self._rows for k in row} - set(self._schema.names)
        if unknown:
            raise OutputError(
                f"{self.target}: field(s) {sorted(unknown)} appear after the first batch; "
                "Parquet needs one schema — write JSONL instead"
            )
        self._writer.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
        self._rows = []

    def commit(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._flush()
        if self._writer is None:  # no documents: an empty file with id and text
            schema = pa.schema([(self.config.id_field, pa.string()), (self.config.text_field, pa.string())])
            pq.write_table(schema.empty_table(), self._tmp)
        else:
            self._writer.close()
        os.replace(self._tmp, self.target)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            if self._writer is not None:
                self._writer.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._tmp)


def open_writer(target: str | Path | None, config: ReadConfig = ReadConfig()) -> DocumentWriter:
    """Writer for ``target`` chosen by its name.

    ``None`` or ``-``: JSONL on stdout. ``.jsonl`` (``.gz``/``.zst``): JSONL.
    ``.parquet``: Parquet. A folder, a name ending in ``/`` or a name without a
    suffix: one ``.txt`` file per document.
    """
    if target is None or str(target) == "-":
        return JsonlWriter("-", config)
    kind, _ = split_suffix(target)
    if kind in JSONL_SUFFIXES:
        return JsonlWriter(target, config)
    if kind in PARQUET_SUFFIXES:
        return ParquetWriter(target, config)
    if str(target).endswith(("/", os.sep)) or Path(target).is_dir() or not kind:
        return FolderWriter(target)
    raise OutputError(
        f"{target}: unknown output format {kind!r}; use .jsonl(.gz/.zst), .parquet, or a folder"
    )


def open_text_output(target: str | Path) -> AtomicFile:
    """An atomic file for the removal record or stats (``-`` for stdout)."""
    return AtomicFile(target)
