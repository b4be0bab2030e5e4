"""The outputs of one run, checked and opened together, committed together or not at all.

A run writes up to three outputs: the cleaned documents, the removal record and
the stats. :class:`RunOutputs` refuses paths that would overwrite an input, the
index or one another (before anything is read), opens every output, and on
:meth:`RunOutputs.commit` first writes and syncs every temporary, then renames
them all; if a rename fails, the ones already renamed are put back. So an error
on a full disk names the file it hit and leaves every earlier output as it was.

Writes that cannot be undone are the exceptions: standard output, devices and
FIFOs receive data as the run goes, and a folder output's files are moved
into place one by one.

>>> import tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> with RunOutputs(str(folder / "out.jsonl"), stats=folder / "stats.json") as outputs:
...     outputs.commit({"documents": 0})
>>> sorted(p.name for p in folder.iterdir())
['out.jsonl', 'stats.json']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .config import ReadConfig
from .errors import OutputError
from .readers import Record
from .record import RECORD_FULL, DocumentRemovals
from .writers import (
    AtomicFile,
    DocumentWriter,
    FolderWriter,
    ParquetWriter,
    PartsWriter,
    dumps_json,
    dumps_jsonl,
    is_folder_output,
    is_special_output,
    open_writer,
    output_fields,
    part_digest,
    part_name,
    write_part,
)

DOCUMENTS = "documents"
RECORD = "removal record"
STATS = "stats"


class Result(Protocol):
    """What :class:`RunOutputs` writes for one document (a :class:`~dedupe.pipeline.DocResult`)."""

    record: Record
    text: str | None
    removed: DocumentRemovals


@dataclass(frozen=True, slots=True)
class _Output:
    label: str
    shown: str
    real: str
    folder: bool


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def check_output_paths(
    outputs: Sequence[tuple[str, str | Path | None, bool]],
    inputs: Iterable[str | Path] = (),
    index_dir: str | Path | None = None,
) -> list[str]:
    """Refuse outputs that would overwrite an input, the index or one another.

    ``outputs`` are ``(label, path or None, is a folder)``. Paths are compared
    after following symbolic links. Refused: two outputs on one file (or both
    on standard output); an output that is an input file, or is or lies in an
    input folder (a later run would read it) or the index folder; an index
    inside an input folder. Devices and FIFOs may be shared (``/dev/null``).
    Returns the real paths a folder output must not write to or into.

    >>> check_output_paths([("documents", "a.jsonl", False), ("stats", "./a.jsonl", False)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dedupe.errors.OutputError: ./a.jsonl: the documents and the stats would be the same file; give each output ...
    """
    on_stdout = [label for label, target, _ in outputs if target is not None and str(target) == "-"]
    if len(on_stdout) > 1:
        raise OutputError(f"-: the {on_stdout[0]} and the {on_stdout[1]} would both go to standard output; "
                          f"give the {on_stdout[1]} a file")
    checked: list[_Output] = []
    for label, target, folder in outputs:
        if target is None or str(target) == "-" or is_special_output(target):
            continue
        out = _Output(label, str(target), os.path.realpath(target), folder)
        for other in checked:
            if out.real == other.real:
                raise OutputError(f"{out.shown}: the {other.label} and the {out.label} would be the same file; "
                                  "give each output its own path")
        checked.append(out)
    input_files: list[tuple[str, str]] = []
    input_dirs: list[tuple[str, str]] = []
    for raw in inputs:
        if str(raw) == "-":
            continue
        real = os.path.realpath(raw)
        (input_dirs if os.path.isdir(real) else input_files).append((str(raw), real))
    index_real = os.path.realpath(index_dir) if index_dir is not None else None
    for out in checked:
        for _, real in input_files:
            if out.real == real:
                raise OutputError(f"{out.shown}: is also an input; write the {out.label} elsewhere")
        for raw, real in input_dirs:
            if _inside(out.real, real):
                where = "is the input folder" if out.real == real else "is inside the input folder"
                raise OutputError(f"{out.shown}: {where} {raw}, where it would be read as input; "
                                  f"write the {out.label} elsewhere")
        if index_real is not None and _inside(out.real, index_real):
            where = "is the index folder" if out.real == index_real else f"is inside the index folder {index_dir}"
            raise OutputError(f"{out.shown}: {where}; write the {out.label} elsewhere")
    if index_real is not None:
        for raw, real in input_dirs:
            if _inside(index_real, real):
                raise OutputError(f"{index_dir}: the index folder is inside the input folder {raw}, where its "
                                  "files would be read as input; keep the index elsewhere")
    protected = [real for _, real in input_files + input_dirs] + [o.real for o in checked if not o.folder]
    return protected + ([index_real] if index_real is not None else [])


@dataclass(frozen=True, slots=True)
class PartTargets:
    """Where whoever assembles a shard writes its part files (see :func:`write_parts`)."""

    documents: str | None  # the staging folder of the documents' parts
    suffix: str  # of the documents' parts: .jsonl, .jsonl.gz, .jsonl.zst or .parquet
    record: str | None  # the staging folder of the removal record's parts
    record_suffix: str
    record_mode: str
    read: ReadConfig


def write_parts(targets: PartTargets, number: int, results: Sequence[Result]) -> dict[str, tuple[str, str]]:
    """Shard ``number``'s documents and removals as part files; ``{output: (part name, hash)}``.

    Each part is written atomically into its staging folder; the driver
    publishes them (:meth:`RunOutputs.add_parts`, :meth:`RunOutputs.commit`).
    """
    written = {}
    if targets.documents is not None:
        name = part_name(number, targets.suffix)
        path = os.path.join(targets.documents, name)
        kept = [r for r in results if r.text is not None]
        if targets.suffix == ".parquet":
            writer = ParquetWriter(path, targets.read)
            try:
                for result in kept:
                    writer.write(result.record, result.text or "")
                writer.commit()
            finally:
                writer.abort()
            written[DOCUMENTS] = (name, part_digest(path))
        else:
            written[DOCUMENTS] = (name, write_part(path, (
                dumps_jsonl(output_fields(r.record, r.text or "", targets.read)) for r in kept)))
    if targets.record is not None:
        name = part_name(number, targets.record_suffix)
        written[RECORD] = (name, write_part(os.path.join(targets.record, name), (
            r.removed.dumps(targets.record_mode) for r in results)))
    return written


class RunOutputs:
    """The documents, removal record and stats of one run, all or none.

    ``documents``: a path as for :func:`~dedupe.writers.open_writer` (``-`` for
    stdout) or ``None`` for no documents; ``record`` and ``stats``: paths or
    ``None``; ``record_mode``: ``full`` or ``ids`` (see
    :func:`~dedupe.record.record_entries`). ``inputs`` and ``index_dir`` are only checked against, never
    opened. ``overwrite`` lets a folder output replace files dedupe did not
    write. Use as a context manager: leaving it without :meth:`commit`
    removes every temporary.
    """

    def __init__(
        self,
        documents: str | Path | None,
        record: str | Path | None = None,
        stats: str | Path | None = None,
        *,
        inputs: Iterable[str | Path] = (),
        index_dir: str | Path | None = None,
        read: ReadConfig = ReadConfig(),
        overwrite: bool = False,
        record_mode: str = RECORD_FULL,
        parts_format: str | None = None,
    ) -> None:
        folder = documents is not None and (parts_format is not None or is_folder_output(documents))
        parts = parts_format is not None
        protected = check_output_paths(
            [(DOCUMENTS, documents, folder), (RECORD, record, parts), (STATS, stats, False)], inputs, index_dir)
        self.record_mode = record_mode
        self.read = read
        self.parts_format = parts_format
        self.documents: DocumentWriter | None = None
        self.record: AtomicFile | None = None
        self.stats: AtomicFile | None = None
        self._committed = False
        try:
            if parts:
                if documents is not None:
                    self.documents = PartsWriter(documents, protected=protected, overwrite=overwrite)
                if record is not None:
                    self.record = PartsWriter(record, protected=protected, overwrite=overwrite)  # type: ignore[assignment]
            else:
                if documents is not None:
                    self.documents = open_writer(documents, read, protected=protected, overwrite=overwrite)
                if record is not None:
                    self.record = AtomicFile(record)
            if stats is not None:
                self.stats = AtomicFile(stats)
        except BaseException:
            self.abort()
            raise

    def _writers(self) -> list[Any]:
        """Files first, a folder last: a folder's moves are the only ones not undone."""
        writers = [w for w in (self.documents, self.record, self.stats) if w is not None]
        return sorted(writers, key=lambda w: isinstance(w, FolderWriter))

    def __enter__(self) -> RunOutputs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()

    def part_targets(self) -> PartTargets | None:
        """Where the parts go, with ``parts_format`` (else None: the outputs are written here)."""
        if self.parts_format is None:
            return None
        compression = self.parts_format.removeprefix("jsonl")
        documents, record = self.documents, self.record
        return PartTargets(
            documents.staging if isinstance(documents, PartsWriter) else None, "." + self.parts_format,
            record.staging if isinstance(record, PartsWriter) else None, ".jsonl" + compression * (
                compression != "parquet"), self.record_mode, self.read)

    def add_parts(self, written: dict[str, tuple[str, str]]) -> None:
        """A shard's parts (see :func:`write_parts`) are in the staging folders: they join the outputs."""
        for label, (name, digest) in written.items():
            writer = self.documents if label == DOCUMENTS else self.record
            if isinstance(writer, PartsWriter):
                writer.add(name, digest)

    def write(self, result: Result) -> None:
        """The document (unless dropped) and its removals."""
        if self.documents is not None and result.text is not None:
            self.documents.write(result.record, result.text)
        if self.record is not None:
            self.record.write(result.removed.dumps(self.record_mode))

    def commit(self, stats: dict[str, Any] | None = None) -> None:
        """Write ``stats``, sync every temporary, then put every output in place."""
        if self.stats is not None:
            self.stats.write((dumps_json(stats or {}, indent=2) + "\n").encode("utf-8"))
        writers = self._writers()
        for writer in writers:
            writer.finish()
        published: list[Any] = []
        try:
            for writer in writers:
                writer.publish(keep_previous=True)
                published.append(writer)
        except BaseException:
            for writer in reversed(published):
                writer.restore_previous()
            raise
        for writer in published:
            writer.discard_previous()
        self._committed = True

    def abort(self) -> None:
        """Remove every unpublished temporary (nothing, after :meth:`commit`)."""
        if self._committed:
            return
        for writer in reversed(self._writers()):
            writer.abort()
