"""The write stage: cleaned documents as JSONL, Parquet or a folder of text files.

Outputs never destroy what they did not write: a regular file is written to a
temporary beside it and renamed into place when the run succeeds
(:class:`AtomicFile`); a device, a FIFO or a process's open file is written
through; a folder output only adds files and replaces or removes the files
dedupe wrote there before. Every writer mirrors the input's format.

>>> dumps_jsonl({"id": "a", "text": "x"})
b'{"id": "a", "text": "x"}\\n'
"""

from __future__ import annotations

import codecs
import contextlib
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
from pathlib import Path
from typing import IO, Any, Protocol

from .config import ReadConfig
from .errors import MissingExtraError, OutputError
from .readers import (
    JSONL_SUFFIXES,
    OUTPUT_MANIFEST,
    PARQUET_SUFFIXES,
    TEXT_SUFFIXES,
    Record,
    json_default,
    split_suffix,
)
from .scratch import link_beside, make_temp_beside, make_temp_dir_beside, sweep

log = logging.getLogger(__name__)


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
            self.handle = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)  # type: ignore[assignment]
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


class _OneFile:
    """A writer of one :class:`AtomicFile`: publishing is the file's."""

    file: AtomicFile

    def publish(self, keep_previous: bool = False) -> None:
        self.file.publish(keep_previous)

    def restore_previous(self) -> None:
        self.file.restore_previous()

    def discard_previous(self) -> None:
        self.file.discard_previous()

    def finish(self) -> None:
        self.file.finish()

    def commit(self) -> None:
        self.finish()
        self.publish()

    def abort(self) -> None:
        self.file.abort()


class JsonlWriter(_OneFile):
    """Cleaned documents as JSONL: the input's fields with the text replaced."""

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.file = AtomicFile(target)

    def write(self, record: Record, text: str) -> None:
        self.file.write(dumps_jsonl(output_fields(record, text, self.config)))


class TextFileWriter(_OneFile):
    """One cleaned document as a text file (``-o out.txt``): its text, as a folder output writes it.

    A text file has no room for a second document: a second kept document
    is an :class:`~dedupe.errors.OutputError` (write a folder or JSONL). No
    kept document writes an empty file. Fields besides the text and id are
    not written, with a warning, as in a folder output.
    """

    def __init__(self, target: str | Path, config: ReadConfig = ReadConfig()) -> None:
        self.config = config
        self.file = AtomicFile(target)
        self._first: str | None = None

    def write(self, record: Record, text: str) -> None:
        if self._first is not None:
            raise OutputError(f"{self.file.target}: a .txt output holds one document, and {self._first!r} and "
                              f"{record.doc_id!r} are both kept; write a folder (name ending in /) or JSONL "
                              "(.jsonl) for more")
        self._first = record.doc_id
        dropped = sorted(map(str, (record.fields or {}).keys() - {self.config.text_field, self.config.id_field}))
        if dropped:
            log.warning("%s: a .txt output holds the text only; not written: %s. An output named .jsonl or "
                        ".parquet keeps every field", self.file.target, ", ".join(map(repr, dropped)))
        self.file.write((codecs.BOM_UTF8 if record.extra.get("bom") else b"") + text.encode("utf-8"))


def output_fields(record: Record, text: str, config: ReadConfig) -> dict[str, Any]:
    """The output object for a record: its fields, in order, with the cleaned text."""
    fields = dict(record.fields) if record.fields is not None else {config.id_field: record.doc_id}
    fields[config.text_field] = text
    return fields


_UNSAFE_NAME = re.compile(r"[^\w.\-]+")
#: The file in a folder output that lists what dedupe wrote there, with each file's hash.
FOLDER_MANIFEST = OUTPUT_MANIFEST
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
        log.warning("%s: unreadable (%s); files in %s are replaced only with overwrite=True", path, exc, folder)
        return {}


def _write_folder_manifest(folder: Path, files: dict[str, list[str]], ids: dict[str, str] | None = None) -> None:
    out = AtomicFile(folder / FOLDER_MANIFEST)
    try:
        body: dict[str, Any] = {
            "format": 1, "about": "files written by dedupe: a later run may replace or remove them "
            "while their hash is listed here; it leaves every other file alone",
            "files": dict(sorted(files.items()))}
        if ids:
            # a file name cannot always be the id (slashes, length, case): this maps back
            body["ids"] = dict(sorted(ids.items()))
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
    written to or inside of. A file holds the text only: fields of a
    document besides its text and id (JSONL or Parquet input) are not
    written, and the run warns once, naming them.
    """

    def __init__(self, target: str | Path, *, protected: Iterable[str | Path] = (),
                 overwrite: bool = False, config: ReadConfig = ReadConfig()) -> None:
        self.target = Path(target)
        self._kept_fields = {config.text_field, config.id_field}
        self._dropped_fields: dict[str, int] = {}  # field -> documents that had it
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
        self._ids: dict[str, str] = {}  # name -> the id of the document written there
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
                          f"(document {record.doc_id!r}); pass overwrite=True to replace such files, "
                          "or write to another folder")

    # -- writing ------------------------------------------------------------------

    def write(self, record: Record, text: str) -> None:
        for key in (record.fields or {}).keys() - self._kept_fields:
            self._dropped_fields[key] = self._dropped_fields.get(key, 0) + 1
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
        self._ids[name] = str(record.doc_id)

    def finish(self) -> None:
        """Every file is already written and synced by :meth:`write`; say which fields were not."""
        if self._dropped_fields:
            names = sorted(self._dropped_fields, key=lambda k: (-self._dropped_fields[k], str(k)))
            total = len(self._written)
            shown = ", ".join(f"{name!r} ({self._dropped_fields[name]:,} of {total:,} documents)" for name in names[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            log.warning("%s: a folder output holds each document's text only; not written: %s%s. An output "
                        "named .jsonl or .parquet keeps every field", self.target, shown, more)

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
            _write_folder_manifest(self._real, {name: [digest] for name, digest in self._written.items()},
                                   self._ids)
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


#: ``--parts-format`` choices: the part files' suffix.
PART_FORMATS = ("jsonl", "jsonl.gz", "jsonl.zst", "parquet")


def part_name(number: int, suffix: str) -> str:
    """The name of part ``number``: ``part-00000.jsonl`` and so on, in input order.

    >>> part_name(3, ".jsonl.gz")
    'part-00003.jsonl.gz'
    """
    return f"part-{number:05d}{suffix}"


class PartsWriter(FolderWriter):
    """A folder of part files (``-o DIR --parts``): one per input shard, written by whoever
    assembled the shard into :attr:`staging`, and published by the driver as one.

    Each part is written atomically into the staging folder (a locked
    temporary folder inside the target, as :class:`FolderWriter` writes);
    :meth:`add` checks its name as a folder output checks a file's (a file
    no dedupe run wrote stops the run unless ``overwrite``), and
    :meth:`publish` moves the parts into place, removes the parts of an
    earlier run this one did not write again (unchanged ones only), and
    writes the manifest (:data:`FOLDER_MANIFEST`) last: it lists every
    part with its hash, so a reader takes the parts it lists.
    """

    @property
    def staging(self) -> str:
        """The folder part files are written to before they are published."""
        return str(self._tmp)

    def write(self, record: Record, text: str) -> None:
        raise OutputError(f"{self.target}: a folder of parts is written part by part")

    def add(self, name: str, digest: str) -> None:
        """Part ``name``, with the hash of its bytes, is written in the staging folder."""
        dest = self._real / name
        if str(dest) in self._protected:
            raise OutputError(f"{self.target / name}: is an input or another output; write the parts elsewhere")
        if dest.exists() and not self.overwrite and digest not in self._previous.get(name, ()) \
                and _digest_of(dest) not in self._previous.get(name, ()):
            raise OutputError(f"{self.target / name}: exists and was not written by an earlier dedupe run; "
                              "pass --overwrite to replace such files, or write to another folder")
        self._written[name] = digest


def write_part(path: str, lines: Iterable[bytes]) -> str:
    """Write a JSONL part (compressed by its suffix) atomically; the hash of its bytes.

    >>> folder = Path(tempfile.mkdtemp())
    >>> len(write_part(str(folder / "part-00000.jsonl"), [b'{"id": 1}\\n'])), (folder / "part-00000.jsonl").read_text()
    (32, '{"id": 1}\\n')
    """
    out = AtomicFile(path)
    try:
        for line in lines:
            out.write(line)
        out.commit()
    finally:
        out.abort()
    return _digest_of(Path(path)) or ""


def part_digest(path: str) -> str:
    """The hash a folder's manifest lists for the file at ``path``."""
    return _digest_of(Path(path)) or ""


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


class ParquetWriter(_OneFile):
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
    ``.parquet``: Parquet. ``.txt``: one document's text
    (:class:`TextFileWriter`). A device, FIFO or open file of a process
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
        return FolderWriter(target, protected=protected, overwrite=overwrite, config=config)
    if kind in JSONL_SUFFIXES or is_special_output(target):
        return JsonlWriter(target, config)
    if kind in TEXT_SUFFIXES:
        return TextFileWriter(target, config)
    raise OutputError(
        f"{target}: unknown output format {kind!r}; use .jsonl(.gz/.zst), .parquet, .txt (one document), "
        "or a folder"
    )
