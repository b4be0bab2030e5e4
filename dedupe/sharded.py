"""Passes whose tasks read their own shard of the input, and write their own part files.

With ``--engine dask`` on files (and with ``--parts`` on either engine), the
driver does not read the documents: it lists the input into shards
(:mod:`dedupe.shards`) and hands each task a shard description. Every pass
runs one task per shard, which reads the shard itself and runs the same
stages as a local run, batch by batch (:mod:`dedupe.stages`):

- the context pass (:func:`count_shard`) returns each document's site and
  line hashes;
- pass 1 (:func:`fingerprint_shard`) returns the documents' ids, sites and
  dates, and the paragraphs' numbers (hashes, lengths, placement,
  signatures), numbered within the shard: the driver numbers the shards'
  documents one after another, so every id and number is a local run's;
- pass 2 (:func:`assemble_shard`) gets the resolver's decisions on its
  documents (:class:`~dedupe.assemble.ShardPlan`: numbers, and the ids of
  the documents duplicates name), assembles them, and writes its part files
  (``--parts``), returning only counts; without ``--parts`` it returns the
  assembled documents for the driver to write.

So the driver holds numbers only (text reaches it only when it writes a
single output file). Every result it receives passes :func:`_receive`.

>>> import tempfile, pathlib
>>> from dedupe.config import CleanConfig
>>> from dedupe.readers import Piece
>>> path = pathlib.Path(tempfile.mkdtemp()) / "in.jsonl"
>>> _ = path.write_text('{"id": "a", "text": "One line.\\\\nShare this:"}\\n{"id": "b", "text": 5}\\n')
>>> job = ShardJob(Shard(0, (Piece(str(path), "in.jsonl", "in.jsonl"),), 60))
>>> printed = fingerprint_shard(StageContext(CleanConfig()), job)
>>> printed.read.ids, printed.read.errors, printed.fingerprinted.documents.tolist()
(['a', 'b'], [(1, 'in.jsonl:2', "field 'text' is int, not a string")], [0])
>>> done = assemble_shard(StageContext(CleanConfig()), job)
>>> [(r.record.doc_id, r.text, [x.rule for x in r.removals]) for r in done.results]
[('a', 'One line.', ['share']), ('b', None, ['text-not-string'])]
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from .assemble import DocResult, Plan, ShardPlan, assemble_batch
from .config import ReadConfig
from .errors import InputError
from .features import Fingerprinted
from .outputs import PartTargets, write_parts
from .readers import FileSource, PieceReader, Record, repair_surrogates, timestamp
from .record import Stats
from .schema import concat
from .shards import Shard, list_shards, number_lines
from .stages import (
    BATCH_DOCS,
    Batch,
    StageContext,
    count_lines,
    fingerprint_batch,
    fingerprinter_for,
    in_batches,
    prepare_batch,
)
from .store import SignatureStore
from .templates import TemplateBuilder, TemplateTable, site_of

if TYPE_CHECKING:
    from .config import CleanConfig
    from .executors import Executor
    from .pipeline import DocumentFacts


class PartSink(Protocol):
    """Where part files go (a :class:`~dedupe.outputs.RunOutputs` with ``parts_format``)."""

    def part_targets(self) -> PartTargets | None: ...

    def add_parts(self, written: dict[str, tuple[str, str]]) -> None: ...


@dataclass(slots=True)
class ShardJob:
    """A task's work: its shard, and in pass 2 where its documents start, what pass 1 read
    there (to check the input did not change), the decisions on them, and where its parts go."""

    shard: Shard
    offset: int = 0
    records: int = -1
    digest: str = ""
    plan: ShardPlan | None = None
    parts: PartTargets | None = None

    @property
    def chars(self) -> int:
        """The shard's size: how executors weigh a job."""
        return self.shard.size


@dataclass(slots=True)
class ShardRead:
    """What a task tells the driver of its shard's records: ids, sites, dates and counts, no text."""

    ids: list[str] = field(default_factory=list)
    sites: list[str | None] = field(default_factory=list)
    dates: list[float] = field(default_factory=list)
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (number in the shard, location, message)
    chars: int = 0  # characters of the readable texts
    id_counts: dict[str, tuple[int, int, str, str]] = field(default_factory=dict)
    digest: str = ""  # of the ids, in order: pass 2 checks it reads the same records


@dataclass(slots=True)
class ShardCount:
    """The context pass over a shard: each readable document's site and line hashes."""

    read: ShardRead
    counted: list[tuple[str | None, np.ndarray]]


@dataclass(slots=True)
class ShardPrint:
    """Pass 1 over a shard: its records, and its paragraphs' numbers (documents numbered from 0)."""

    read: ShardRead
    fingerprinted: Fingerprinted


@dataclass(slots=True)
class ShardDone:
    """Pass 2 over a shard: its counts, its parts, and its documents when the driver writes them."""

    stats: Stats
    written: dict[str, tuple[str, str]]
    results: list[DocResult] | None
    chars: int
    read: ShardRead | None = None  # its records, when no earlier pass read the shard


def _ids_digest(ids: Iterable[str]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for doc_id in ids:
        digest.update(doc_id.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def _read(context: StageContext, shard: Shard, offset: int) -> tuple[Iterator[list[Record]], ShardRead]:
    """The shard's records in batches (numbered from ``offset``), and what they tell the driver,
    filled in as the batches are read."""
    config = context.config
    reader = PieceReader(config.read, defer_ids=True)
    summary = ShardRead()

    def records() -> Iterator[Record]:
        index = offset
        for piece in shard.pieces:
            for record in reader.read_piece(piece, index):
                yield record
                index += 1

    def noted() -> Iterator[Record]:
        # what the driver keeps of each record, noted as it passes
        for record in repair_surrogates(records(), config.normalize.repair, config.read.text_field):
            fields = record.fields or {}
            summary.ids.append(record.doc_id)
            summary.sites.append(site_of(fields.get(config.read.url_field)))
            summary.dates.append(timestamp(fields.get(config.read.date_field)))
            if record.error is not None:
                summary.errors.append((record.index - offset, record.location, record.error))
            else:
                summary.chars += len(record.text)
            yield record
        summary.id_counts = reader.id_counts()
        summary.digest = _ids_digest(summary.ids)

    return in_batches(noted(), BATCH_DOCS), summary


def _batch(chunk: list[Record], sites: list[str | None], offset: int) -> Batch:
    return Batch([(r.index, r.text, sites[r.index - offset]) for r in chunk if r.error is None])


def count_shard(context: StageContext, job: ShardJob) -> ShardCount:
    """The context pass over a shard (:func:`~dedupe.stages.count_lines`, batch by batch)."""
    chunks, summary = _read(context, job.shard, 0)
    counted: list[tuple[str | None, np.ndarray]] = []
    for chunk in chunks:
        counted.extend(count_lines(context, _batch(chunk, summary.sites, 0)))
    return ShardCount(summary, counted)


def fingerprint_shard(context: StageContext, job: ShardJob) -> ShardPrint:
    """Pass 1 over a shard (:func:`~dedupe.stages.fingerprint_batch`, batch by batch), documents numbered from 0."""
    chunks, summary = _read(context, job.shard, 0)
    done = [fingerprint_batch(context, _batch(chunk, summary.sites, 0)) for chunk in chunks]
    seconds: dict[str, float] = {}
    for part in done:
        for name, value in part.seconds.items():
            seconds[name] = seconds.get(name, 0.0) + value
    width = context.fingerprinter.num_perm
    joined = Fingerprinted(
        concat([part.paragraphs for part in done]),
        np.concatenate([part.signatures for part in done]) if done else np.empty((0, width), np.uint32),
        np.concatenate([part.documents for part in done]) if done else np.empty(0, np.int64),
        np.concatenate([part.chars for part in done]) if done else np.empty(0, np.int64),
        seconds,
    )
    return ShardPrint(summary, joined)


def assemble_shard(context: StageContext, job: ShardJob) -> ShardDone:
    """Pass 2 over a shard: prepare and assemble its documents, and write its parts (``job.parts``)."""
    chunks, summary = _read(context, job.shard, job.offset)
    stats = Stats()
    results: list[DocResult] = []
    for chunk in chunks:
        prepared = prepare_batch(context, _batch(chunk, summary.sites, job.offset))
        results.extend(assemble_batch(chunk, prepared, job.plan, stats, context.config.read))
    if job.records >= 0 and (len(summary.ids) != job.records or summary.digest != job.digest):
        where = job.shard.pieces[0].shown
        raise InputError(where, f"input changed between the two passes ({job.records} then {len(summary.ids)} "
                         "records in its shard, or other ids)")
    # a run without pass 1 (strip) learns of bad records and id fields here
    read = summary if job.plan is None else None
    if job.parts is None:
        return ShardDone(stats, {}, results, summary.chars, read)
    return ShardDone(stats, write_parts(job.parts, job.shard.number, results), None, summary.chars, read)


def _receive(result: Any) -> Any:
    """Every result the driver gets from a shard's task passes here (tests count its text)."""
    return result


class _IdChecks(PieceReader):
    """The id field's checks of a local run, on counts the shards' tasks gathered: a file's
    pieces may lie in several shards, so they are checked once every shard is read."""

    def __init__(self, config: ReadConfig) -> None:
        super().__init__(config)
        self.totals: dict[str, tuple[int, int, str, str]] = {}

    def add(self, counts: dict[str, tuple[int, int, str, str]]) -> None:
        for shown, (found, missing, first_missing, first_fields) in counts.items():
            was = self.totals.get(shown, (0, 0, "", ""))
            self.totals[shown] = (was[0] + found, was[1] + missing, was[2] or first_missing, was[3] or first_fields)

    def check(self) -> None:
        totals, self.totals = self.totals, {}
        self.check_ids(totals)


class ShardedPasses:
    """The passes of :class:`~dedupe.pipeline.Cleaner` over shards (mixed into it)."""

    if TYPE_CHECKING:  # the Cleaner's, which these passes share
        config: CleanConfig
        stats: Stats
        _totals: tuple[int, int] | None

        def _tick(self, stage: str, documents: int = 0, chars: int = 0) -> None: ...

        def _resolve(self, documents: DocumentFacts, batches: list[Fingerprinted], store: SignatureStore,
                     executor: Executor, spill: str | None) -> Plan: ...

    def _run_sharded(self, source: FileSource, executor: Executor, parts: PartSink | None,
                     shard_bytes: int | None, scratch: str) -> Iterator[DocResult]:
        """Every pass over ``source``'s shards; ``scratch`` takes signatures past ``--memory-limit``."""
        shards = number_lines(list_shards(source.files, shard_bytes),
                              lambda stage, pieces: map(_receive, executor.map(stage, pieces)))
        reader = _IdChecks(self.config.read)
        strip = self.config.strip
        counted = strip.enabled and strip.context and strip.templates
        if counted:
            executor.share(self._count_shards(shards, executor, reader))
        offsets: list[int] = []
        digests: list[str] = []
        plan = None
        if self.config.dedup.enabled:
            plan = self._fingerprint_shards(shards, executor, reader, offsets, digests, scratch)
        yield from self._assemble_shards(shards, executor, plan, offsets, digests, parts,
                                         None if counted or plan is not None else reader)

    def _admit(self, read: ShardRead, reader: _IdChecks) -> None:
        if read.errors and not self.config.read.skip_bad:
            _, location, message = read.errors[0]
            raise InputError(location, f"{message} (use --skip-bad to skip such records)")
        reader.add(read.id_counts)

    def _count_shards(self, shards: list[Shard], executor: Executor, reader: _IdChecks) -> TemplateTable:
        started = time.perf_counter()
        builder = TemplateBuilder()
        self._tick("count lines")
        for counted in map(_receive, executor.map(count_shard, [ShardJob(shard) for shard in shards])):
            self._admit(counted.read, reader)
            for site, hashes in counted.counted:
                builder.add(site, hashes)
            self._tick("count lines", len(counted.read.ids), counted.read.chars)
        reader.check()
        self.stats.seconds["count lines"] = time.perf_counter() - started
        return builder.finish()

    def _fingerprint_shards(self, shards: list[Shard], executor: Executor, reader: _IdChecks,
                            offsets: list[int], digests: list[str], scratch: str) -> Plan:
        from .pipeline import DocumentFacts

        started = time.perf_counter()
        documents = DocumentFacts(self.config.read)
        store = SignatureStore(fingerprinter_for(self.config.dedup).rows, self.config.dedup.memory_limit, scratch)
        batches: list[Fingerprinted] = []
        self._tick("fingerprint")
        for printed in map(_receive, executor.map(fingerprint_shard, [ShardJob(shard) for shard in shards])):
            read, done = printed.read, printed.fingerprinted
            self._admit(read, reader)
            offset = len(documents.ids)
            offsets.append(offset)
            digests.append(read.digest)
            for doc_id, site, date in zip(read.ids, read.sites, read.dates):
                documents.add_read(doc_id, site, date)
            self.stats.bytes_in += read.chars
            store.append(done.signatures)
            done.signatures = np.empty((0, 0), np.uint32)  # the store holds them now
            done.paragraphs.doc = done.paragraphs.doc + offset
            done.documents = done.documents + offset
            batches.append(done)
            for name, seconds in done.seconds.items():
                self.stats.seconds[name] += seconds
            self._tick("fingerprint", len(read.ids), read.chars)
        reader.check()
        self._totals = self._totals or (len(documents.ids), self.stats.bytes_in)
        self.stats.seconds["pass1"] = time.perf_counter() - started
        started = time.perf_counter()
        plan = self._resolve(documents, batches, store, executor, None)
        self.stats.seconds["resolve"] = time.perf_counter() - started
        return plan

    def _assemble_shards(self, shards: list[Shard], executor: Executor, plan: Plan | None,
                         offsets: list[int], digests: list[str], parts: PartSink | None,
                         reader: _IdChecks | None) -> Iterator[DocResult]:
        """Pass 2; ``reader`` checks the records when no earlier pass did (then ``plan`` is None)."""
        started = time.perf_counter()
        targets = parts.part_targets() if parts is not None else None
        stage = "assemble" if plan is not None else "strip"

        def jobs() -> Iterator[ShardJob]:
            for number, shard in enumerate(shards):
                if plan is None:
                    # without pass 1 nothing numbers the documents: no plan needs their numbers
                    yield ShardJob(shard, parts=targets)
                    continue
                offset = offsets[number]
                stop = offsets[number + 1] if number + 1 < len(shards) else plan.n_input
                yield ShardJob(shard, offset, stop - offset, digests[number], plan.shard(offset, stop), targets)

        self._tick(stage)
        seen = 0
        for done in map(_receive, executor.map(assemble_shard, jobs())):
            if reader is not None and done.read is not None:
                self._admit(done.read, reader)
            self.stats.merge(done.stats)
            if parts is not None:
                parts.add_parts(done.written)
            documents = done.stats.documents_in
            seen += documents
            if done.results is not None:
                yield from done.results
            self._tick(stage, documents, done.chars)
        if reader is not None:
            reader.check()
        if plan is not None and seen != plan.n_input:
            raise InputError("input", f"input changed between the two passes ({plan.n_input} then {seen} records)")
        self.stats.seconds["pass2"] = time.perf_counter() - started

