"""The ``dedupe`` command: argument parsing, error translation and progress only.

All the work happens in the library (:mod:`dedupe.pipeline`); this module maps
options onto :class:`~dedupe.config.CleanConfig`, shows progress on stderr
(:mod:`dedupe.progress`), and turns :class:`~dedupe.errors.DedupeError` into
one line on stderr and exit code 1, in one place, which also ends a run
cleanly on SIGINT, SIGTERM or SIGHUP. Every default shown in ``--help`` is
read from the configuration's constants and dataclasses, and every choice
from its ``Literal`` types, never typed twice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from . import __version__
from .assemble import DocResult
from .config import (
    ENGINE,
    MAX_DOCUMENT_BYTES,
    PARTS_FORMAT,
    CleanConfig,
    CommentsPolicy,
    DedupConfig,
    EngineName,
    KeepPolicy,
    PartsFormat,
    ReadConfig,
    ShingleKind,
    SignatureScheme,
    StripConfig,
    load_config,
    parse_size,
)
from .display import escape_controls
from .errors import DedupeError
from .executors.workers import MIN_POOL_CHARS, available_cores
from .outputs import RunOutputs
from .pipeline import BATCH_DOCS, Cleaner
from .progress import LOG_INTERVAL_SECONDS, PROGRESS_MODE, ProgressMode, show_progress
from .readers import INPUT_SUFFIXES, FileSource, split_suffix
from .record import RECORD_FULL, RecordMode, read_record
from .shards import MIN_SHARD_BYTES, SHARD_BYTES, SHARDS
from .strip import load_catalogue

#: Worker processes when ``--jobs`` is not given: every core (0), since the
#: output does not depend on the number of workers.
JOBS = 0

app = typer.Typer(
    name="dedupe",
    help="Clean scraped web text: repair encoding, strip page chrome, and remove "
    "repeated and near-duplicate paragraphs, recording every removal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help: rich markup would take "[dedup]" or "[default: 5]" in a help text for a tag and drop it
    rich_markup_mode=None,
)
log = logging.getLogger("dedupe")

#: Settings given as a size (``2GB``): their help shows the size, not the number of bytes.
_SIZES = ("memory_limit", "max_document_bytes")


def _field_default(section: type, name: str) -> Any:
    """The default of field ``name`` of the configuration dataclass ``section``."""
    return next(f.default for f in dataclasses.fields(section) if f.name == name)


def _default(section: type, name: str) -> str:
    """`` [default: X]`` for a help text, X read from the configuration dataclass ``section``."""
    value = _field_default(section, name)
    return f" [default: {format_size(value) if name in _SIZES else value}]"


def format_size(size: int) -> str:
    """``2GB`` for 2 << 30 (the largest binary unit that divides it).

    >>> format_size(2 << 30), format_size(256 << 20), format_size(1000)
    ('2GB', '256MB', '1000')
    """
    for unit, shift in (("TB", 40), ("GB", 30), ("MB", 20), ("KB", 10)):
        if size and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dedupe {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """dedupe: turn scraped web text into a clean corpus."""


# -- shared options -----------------------------------------------------------

Inputs = Annotated[
    list[str],
    typer.Argument(help="Files (.jsonl, .txt, .parquet; .gz/.zst), folders (searched recursively), or - for stdin."),
]
Output = Annotated[
    str | None,
    typer.Option("--output", "-o",
                 help="Output: .jsonl(.gz/.zst), .parquet, or a folder of .txt files. Default: JSONL on stdout."),
]
Removed = Annotated[
    Path | None,
    # a folder with --parts; a folder without it is refused when the output opens
    typer.Option("--removed",
                 help="Write the removal record (JSONL, one line per removed paragraph or document; with --parts, "
                 "a folder of part files)."),
]
RecordOpt = Annotated[
    RecordMode,
    typer.Option("--record", help="What the removal record holds: full (every removed text, once) or ids "
                 "(ids, paragraph numbers, reasons, kept copies; no text — for runs whose input is kept)."),
]
StatsOpt = Annotated[
    Path | None, typer.Option("--stats", help="Write counts and timings as JSON.", dir_okay=False)
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="TOML file with [read], [normalize], [strip], [dedup] tables "
                 "(fields as in dedupe/config.py); flags override it.",
                 exists=True, dir_okay=False, readable=True),
]
TextField = Annotated[
    str | None, typer.Option("--text-field", help="JSON field with the text." + _default(ReadConfig, "text_field"))
]
IdField = Annotated[
    str | None,
    typer.Option("--id-field", help="JSON field with the document id." + _default(ReadConfig, "id_field")),
]
SkipBad = Annotated[
    bool,
    typer.Option("--skip-bad", help="Skip unreadable records (recorded as bad-input) instead of stopping."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary (warnings and errors only).")]
Overwrite = Annotated[
    bool,
    typer.Option("--overwrite", help="Let a folder output (-o DIR) replace files that no earlier dedupe run "
                 "wrote there; files it did not write are never removed."),
]
Progress = Annotated[
    ProgressMode,
    typer.Option("--progress",
                 help="Progress on stderr: a bar, a line every --progress-interval seconds (log), or none. "
                 "auto: a bar on a terminal, log lines when stderr is a pipe or a file or CI is set, "
                 "none with --quiet."),
]
ProgressInterval = Annotated[
    float,
    typer.Option("--progress-interval", min=0.0,
                 help="Seconds between two progress lines with --progress log (each stage is also "
                 "announced once a run has lasted this long)."),
]
FallbackEncoding = Annotated[
    str | None,
    typer.Option("--fallback-encoding", help="Decode .txt files that are not UTF-8 with this encoding "
                 "(e.g. cp1252) instead of rejecting them."),
]
MaxDocumentBytes = Annotated[
    str | None,
    typer.Option("--max-document-bytes", help="Longest document read (a JSONL line, a text file or a Parquet "
                 "text cell, after decompression), "
                 "e.g. 64MB, 1GB; longer ones are bad input; 0: no limit. "
                 f"[default: {format_size(MAX_DOCUMENT_BYTES)}]"),
]
Jobs = Annotated[
    int,
    typer.Option("--jobs", "-j", min=0,
                 help="Worker processes; 0 uses every core. Never more than the cores this process may use "
                 f"({available_cores()} here); an input holding less than {MIN_POOL_CHARS // 1_000_000} million "
                 f"characters beyond its largest batch ({BATCH_DOCS} documents) runs in one process."),
]
Context = Annotated[
    bool | None,
    typer.Option("--context/--no-context",
                 help="Judge each line of a web page by its neighbours and how often it recurs on its site, or use "
                 "the catalogue and related-link runs only (--no-context: keeps every short line of a page, "
                 "and runs faster). [default: "
                 f"{'--context' if _field_default(StripConfig, 'context') else '--no-context'}]"),
]
CommentsOpt = Annotated[
    CommentsPolicy | None,
    typer.Option("--comments", help="Keep user comments, or drop a page's comment section (after a comment "
                 "counter that follows the main text, up to the comment form)." + _default(StripConfig, "comments")),
]
Engine = Annotated[
    EngineName,
    typer.Option("--engine", help="Where per-document work runs: worker processes here, or a Dask cluster "
                 "(needs the dask extra)."),
]
Scheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="With --engine dask: the scheduler's address (e.g. tcp://10.0.0.5:8786); "
                 "without it a local cluster of --jobs workers starts."),
]
Parts = Annotated[
    bool,
    typer.Option("--parts", help="Write -o FOLDER (and --removed FOLDER) as part files, part-00000.jsonl and on, one "
                 "per input shard in input order, committed by a manifest written last; concatenated, they are the "
                 "single-file output. With --engine dask every part is written by the task that read its shard."),
]
PartsFormatOpt = Annotated[
    PartsFormat | None,
    typer.Option("--parts-format", help="Format of the documents' part files (the removal record's are JSONL, "
                 f"compressed alike). [default: {PARTS_FORMAT}]"),
]
ShardSize = Annotated[
    str | None,
    typer.Option("--shard-size", help="Input per shard (a task, and a part file), e.g. 64MB: big JSONL files are "
                 "split into byte ranges, Parquet files into row groups, small files grouped. Used with --parts "
                 f"and with --engine dask. [default: the input's size over {SHARDS}, from "
                 f"{format_size(MIN_SHARD_BYTES)} to {format_size(SHARD_BYTES)}]"),
]
ContextThreshold = Annotated[
    float | None,
    typer.Option("--context-threshold", min=0.0, max=1.0,
                 help="Keep lines whose context score reaches this (lower keeps more). [default: the model's]"),
]


# -- errors, signals and logging -------------------------------------------------


#: Signals that end a run cleanly (one line, no output, no temporaries), and what the line says.
_ENDING_SIGNALS = {getattr(signal, name): says for name, says in (
    ("SIGINT", "interrupted"), ("SIGTERM", "terminated"), ("SIGHUP", "hung up (SIGHUP)")) if hasattr(signal, name)}


class _RunEnded(KeyboardInterrupt):
    """One of :data:`_ENDING_SIGNALS` arrived: the run unwinds like Ctrl-C, so temporary outputs go."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @classmethod
    def raise_for(cls, signum: int, frame: object) -> None:
        raise cls(signum)


@contextlib.contextmanager
def _signals_end_the_run() -> Iterator[None]:
    """Within the block, each of :data:`_ENDING_SIGNALS` raises :class:`_RunEnded`."""
    previous = {signum: signal.signal(signum, _RunEnded.raise_for) for signum in _ENDING_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _fail(message: str, code: int = 1) -> typer.Exit:
    # one line, whatever ids, paths or text the message quotes
    typer.echo(f"dedupe: error: {escape_controls(message)}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def _errors_as_exit(target: str = "output") -> Iterator[None]:
    """Library errors, an ending signal, a closed pipe or an OSError: one stderr line and an exit code.

    ``target`` names the file of an OSError that names none.
    """
    try:
        yield
    except DedupeError as exc:
        raise _fail(speak_flags(str(exc))) from None
    except _RunEnded as exc:
        raise _fail(f"{_ENDING_SIGNALS[exc.signum]}; no output was written", 128 + exc.signum) from None
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stays open: it replaces stdout
        raise typer.Exit(1) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or target}: {exc.strerror or exc}") from None


class _EscapingFormatter(logging.Formatter):
    """Log lines with control characters escaped (warnings quote ids and fields from the input),
    settings named by their flags."""

    def format(self, record: logging.LogRecord) -> str:
        return escape_controls(speak_flags(super().format(record)))


#: A setting as the library names it in a message: ``read.skip_bad``.
_SETTING = re.compile(r"\b(?:read|normalize|strip|dedup)\.[a-z_]+\b")
#: Library phrases with no ``section.name`` setting in them, as the command line says them.
_PHRASES = {"with normalize.repair on it is replaced": "without --no-repair it is replaced",
            "overwrite=True": "--overwrite", "try fewer jobs": "try fewer --jobs"}


@functools.cache
def _flag_of_setting() -> dict[str, str]:
    """``read.skip_bad`` -> ``--skip-bad``, for every setting ``clean`` or ``strip`` has a flag for."""
    group = typer.main.get_command(app)
    flags = {name for command in ("clean", "strip") for param in group.commands[command].params  # type: ignore[attr-defined]
             for name in (*param.opts, *param.secondary_opts)}
    return {f"{section}.{item.name}": f"--{item.name.replace('_', '-')}"
            for section, config in (("read", ReadConfig), ("dedup", DedupConfig), ("strip", StripConfig))
            for item in dataclasses.fields(config) if f"--{item.name.replace('_', '-')}" in flags}


def speak_flags(message: str) -> str:
    """A library message as the command line says it: settings named by their flags.

    >>> speak_flags("a.jsonl:3: too long (with read.skip_bad such records are skipped); dedup.seed")
    'a.jsonl:3: too long (with --skip-bad such records are skipped); dedup.seed'
    """
    for phrase, said in _PHRASES.items():
        message = message.replace(phrase, said)
    flags = _flag_of_setting()
    return _SETTING.sub(lambda match: flags.get(match.group(0), match.group(0)), message)


def _configure_logging(quiet: bool) -> None:
    """Warnings and errors on stderr, ``quiet`` or not: ``--quiet`` drops progress and the
    summary, never a warning (one says that data was skipped or changed)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter("dedupe: %(message)s"))
    root = logging.getLogger("dedupe")
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    root.propagate = False


def _configure(quiet: bool, config_file: Path | None, **sections: dict[str, Any]) -> CleanConfig:
    """Logging set up, and the configuration from file and flags (``None``: not given; a bad one exits 1)."""
    _configure_logging(quiet)
    config = CleanConfig()
    if config_file:
        try:
            config = load_config(config_file)
        except DedupeError as exc:  # a setting of the file: named as the file names it
            raise _fail(str(exc)) from None
    with _errors_as_exit():
        given = {name: {k: v for k, v in values.items() if v is not None} for name, values in sections.items()}
        return config.replace(**{name: values for name, values in given.items() if values})


# -- running -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Run:
    """What a ``clean`` or ``strip`` run writes, and how it runs (the configuration aside)."""

    inputs: list[str]
    output: str | None
    removed: Path | None
    stats: Path | None
    record_mode: RecordMode = RECORD_FULL
    jobs: int = JOBS
    quiet: bool = False
    overwrite: bool = False
    progress: ProgressMode = PROGRESS_MODE
    progress_interval: float = LOG_INTERVAL_SECONDS
    explain: bool = False
    index_dir: Path | None = None
    engine: EngineName = ENGINE
    scheduler: str | None = None
    parts: bool = False
    parts_format: PartsFormat | None = None
    shard_size: str | None = None

    def check(self) -> None:
        """Refuse option combinations that mean nothing (exit 1)."""
        if self.scheduler and self.engine != "dask":
            raise _fail("--scheduler needs --engine dask")
        if self.parts and (self.output is None or self.output == "-"):
            raise _fail("--parts needs -o FOLDER")
        if self.parts:
            for flag, target in (("-o", self.output), ("--removed", self.removed)):
                named = Path(str(target)) if target is not None else None
                # a name like out.jsonl would become a folder of that name: a typo, not a wish
                if named is not None and not named.is_dir() and split_suffix(named)[0] in INPUT_SUFFIXES:
                    raise _fail(f"--parts writes a folder of part files: {flag} {target} names a file; "
                                f"give a folder (e.g. {named.with_name(named.name.split('.')[0] or 'parts')}/)")
        if self.parts_format is not None and not self.parts:
            raise _fail("--parts-format needs --parts")
        if self.parts and self.explain:
            # the documents stay with the tasks that write the parts: nothing here to print
            raise _fail("--explain prints the documents here; it cannot be used with --parts")
        if self.record_mode != RECORD_FULL and self.removed is None:
            raise _fail("--record ids needs --removed FILE")


def _run(run: _Run, config: CleanConfig) -> None:
    """Clean ``run.inputs``: every output committed together, or none written."""
    run.check()
    with _errors_as_exit(), _signals_end_the_run(), contextlib.ExitStack() as stack:
        # checked and opened before any input is read; --explain prints to stdout,
        # so documents go there only when asked for with -o
        outputs = stack.enter_context(RunOutputs(
            run.output or (None if run.explain else "-"), run.removed, run.stats, inputs=run.inputs,
            index_dir=run.index_dir, read=config.read, overwrite=run.overwrite, record_mode=run.record_mode,
            parts_format=(run.parts_format or PARTS_FORMAT) if run.parts else None))
        shard_bytes = parse_size(run.shard_size) if run.shard_size is not None else None
        if shard_bytes is not None and shard_bytes < 1:
            raise _fail("--shard-size must be positive")
        source = stack.enter_context(contextlib.closing(FileSource(run.inputs, config.read)))
        index = None
        if run.index_dir is not None:  # after the outputs: a bad output path leaves no new index folder
            from .index import Index

            index = stack.enter_context(Index.open(run.index_dir, config))
        with show_progress(run.progress, run.quiet, run.progress_interval) as progress:
            cleaner = Cleaner(config, jobs=run.jobs, progress=progress, index=index, engine=run.engine,
                              scheduler=run.scheduler, parts=outputs if run.parts else None, shard_bytes=shard_bytes)
            # closed explicitly so that an interrupted run stops its workers now,
            # not whenever the suspended generator is collected
            with contextlib.closing(cleaner.run(source)) as results:  # type: ignore[type-var]
                for result in results:
                    outputs.write(result)
                    if run.explain:
                        _explain(result)
        outputs.commit(cleaner.stats.to_dict())
        if index is not None:
            # after the outputs: an index never lists a batch whose output was not written
            index.commit()
        if not run.quiet:
            typer.echo(cleaner.stats.summary(), err=True)


def _explain(result: DocResult) -> None:
    """Print a document's paragraphs with their verdicts (strip --explain)."""
    removed = {r.paragraph: r for r in result.removals if r.paragraph is not None}
    show = escape_controls  # ids and text come from the input: no terminal escapes get through
    typer.echo(f"== {show(str(result.record.doc_id))}")
    for number, text in enumerate(result.paragraphs):
        verdict = removed.get(number)
        if verdict is None:
            typer.echo(f"  + {show(text)}")
        else:
            typer.echo(f"  - {show(text)}    [{verdict.reason}: {show(str(verdict.rule))}]")
    for r in result.removals:
        if r.paragraph is None:
            typer.echo(f"  x whole document dropped [{r.reason}: {show(str(r.rule))}]")


# -- commands ----------------------------------------------------------------------


@app.command()
def clean(
    inputs: Inputs,
    output: Output = None,
    removed: Removed = None,
    record_mode: RecordOpt = RECORD_FULL,
    stats: StatsOpt = None,
    config_file: ConfigOpt = None,
    text_field: TextField = None,
    id_field: IdField = None,
    url_field: Annotated[str | None, typer.Option(
        "--url-field", help="Field with the page URL; its host groups pages into sites."
        + _default(ReadConfig, "url_field"))] = None,
    date_field: Annotated[str | None, typer.Option(
        "--date-field", help="Field read by --keep earliest." + _default(ReadConfig, "date_field"))] = None,
    threshold: Annotated[float | None, typer.Option(
        "--threshold", min=0.01, max=1.0,
        help="Estimated Jaccard at or above which paragraphs are copies." + _default(DedupConfig, "threshold"))] = None,
    num_perm: Annotated[int | None, typer.Option(
        "--num-perm", min=2, help="MinHash permutations." + _default(DedupConfig, "num_perm"))] = None,
    shingle: Annotated[ShingleKind | None, typer.Option(
        "--shingle", help="Shingle kind: character or word n-grams." + _default(DedupConfig, "shingle"))] = None,
    ngram: Annotated[int | None, typer.Option(
        "--ngram", min=1, help="Characters (or words) per shingle." + _default(DedupConfig, "ngram"))] = None,
    scheme: Annotated[SignatureScheme | None, typer.Option(
        "--scheme", help="MinHash signatures: datasketch's (a permutation per slot) or one permutation hashing "
        "(one hash per shingle)." + _default(DedupConfig, "scheme"))] = None,
    bands: Annotated[int | None, typer.Option(
        "--bands", min=0, help="LSH bands (0: chosen from the threshold)." + _default(DedupConfig, "bands"))] = None,
    boilerplate_docs: Annotated[int | None, typer.Option(
        "--boilerplate-docs", min=2, help="A paragraph in this many documents is boilerplate: every copy goes."
        + _default(DedupConfig, "boilerplate_docs"))] = None,
    boilerplate_sites: Annotated[int | None, typer.Option(
        "--boilerplate-sites", min=2, help="With URLs: a paragraph on this many sites is boilerplate."
        + _default(DedupConfig, "boilerplate_sites"))] = None,
    min_kept: Annotated[float | None, typer.Option(
        "--min-kept", min=0.0, max=1.0, help="Drop documents keeping less than this share of their text."
        + _default(DedupConfig, "min_kept"))] = None,
    novel_chars: Annotated[int | None, typer.Option(
        "--novel-chars", min=0, help="Keep a mostly-duplicate document that keeps a paragraph this long found "
        "nowhere else; 0 drops it anyway." + _default(DedupConfig, "novel_chars"))] = None,
    typo_words: Annotated[int | None, typer.Option(
        "--typo-words", min=0, help="Short lines of at most this many words are copies when one word is a typo "
        "apart; 0 turns it off." + _default(DedupConfig, "typo_words"))] = None,
    related_evidence: Annotated[float | None, typer.Option(
        "--related-evidence", min=0.0, max=1.0, help="Keep an unheaded link list after an article when its lines "
        "occur on no other page and at least this share of its site's lists name other pages' titles; 0 never "
        "keeps one." + _default(DedupConfig, "related_evidence"))] = None,
    keep: Annotated[KeepPolicy | None, typer.Option(
        "--keep", help="Which copy of a duplicate to keep." + _default(DedupConfig, "keep"))] = None,
    engine: Engine = ENGINE,
    scheduler: Scheduler = None,
    parts: Parts = False,
    parts_format: PartsFormatOpt = None,
    shard_size: ShardSize = None,
    index_dir: Annotated[Path | None, typer.Option(
        "--index", file_okay=False, help="Clean against every batch cleaned before with this index folder, then "
        "add this batch to it (needs pyarrow).")] = None,
    memory_limit: Annotated[str | None, typer.Option(
        "--memory-limit", help="Signatures held in RAM before they spill to TMPDIR, e.g. 512MB, 4GB; 0 never "
        "spills." + _default(DedupConfig, "memory_limit"))] = None,
    no_repair: Annotated[bool, typer.Option("--no-repair", help="Do not repair encoding.")] = False,
    no_strip: Annotated[bool, typer.Option("--no-strip", help="Do not apply chrome rules.")] = False,
    context: Context = None,
    context_threshold: ContextThreshold = None,
    comments: CommentsOpt = None,
    skip_bad: SkipBad = False,
    fallback_encoding: FallbackEncoding = None,
    max_document_bytes: MaxDocumentBytes = None,
    jobs: Jobs = JOBS,
    quiet: Quiet = False,
    overwrite: Overwrite = False,
    progress: Progress = PROGRESS_MODE,
    progress_interval: ProgressInterval = LOG_INTERVAL_SECONDS,
) -> None:
    """Clean documents: repair, strip chrome, remove duplicate and boilerplate paragraphs."""
    config = _configure(
        quiet, config_file,
        read={"text_field": text_field, "id_field": id_field, "url_field": url_field, "date_field": date_field,
              "skip_bad": skip_bad or None, "fallback_encoding": fallback_encoding,
              "max_document_bytes": max_document_bytes},
        dedup={"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "bands": bands, "shingle": shingle,
               "scheme": scheme, "boilerplate_docs": boilerplate_docs, "boilerplate_sites": boilerplate_sites,
               "min_kept": min_kept, "novel_chars": novel_chars, "keep": keep,
               "related_evidence": related_evidence, "typo_words": typo_words, "memory_limit": memory_limit},
        normalize={"repair": False if no_repair else None},
        strip={"enabled": False if no_strip else None, "context": context,
               "context_threshold": context_threshold, "comments": comments},
    )
    _run(_Run(inputs, output, removed, stats, record_mode, jobs, quiet, overwrite, progress, progress_interval,
              index_dir=index_dir, engine=engine, scheduler=scheduler, parts=parts, parts_format=parts_format,
              shard_size=shard_size), config)


@app.command("strip")
def strip_command(
    inputs: Inputs,
    output: Output = None,
    removed: Removed = None,
    record_mode: RecordOpt = RECORD_FULL,
    stats: StatsOpt = None,
    config_file: ConfigOpt = None,
    text_field: TextField = None,
    id_field: IdField = None,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Print every document's lines with their verdict and rule.")] = False,
    context: Context = None,
    context_threshold: ContextThreshold = None,
    comments: CommentsOpt = None,
    skip_bad: SkipBad = False,
    fallback_encoding: FallbackEncoding = None,
    max_document_bytes: MaxDocumentBytes = None,
    jobs: Jobs = JOBS,
    engine: Engine = ENGINE,
    scheduler: Scheduler = None,
    parts: Parts = False,
    parts_format: PartsFormatOpt = None,
    shard_size: ShardSize = None,
    quiet: Quiet = False,
    overwrite: Overwrite = False,
    progress: Progress = PROGRESS_MODE,
    progress_interval: ProgressInterval = LOG_INTERVAL_SECONDS,
) -> None:
    """Repair and strip chrome only (no duplicate removal)."""
    config = _configure(
        quiet, config_file,
        read={"text_field": text_field, "id_field": id_field, "skip_bad": skip_bad or None,
              "fallback_encoding": fallback_encoding, "max_document_bytes": max_document_bytes},
        dedup={"enabled": False},
        strip={"context": context, "context_threshold": context_threshold, "comments": comments},
    )
    _run(_Run(inputs, output, removed, stats, record_mode, jobs, quiet, overwrite, progress, progress_interval,
              explain=explain, engine=engine, scheduler=scheduler, parts=parts, parts_format=parts_format,
              shard_size=shard_size), config)


@app.command()
def rules(
    family: Annotated[str | None, typer.Option("--family", help="Only rules of this family.")] = None,
) -> None:
    """List the chrome rules: name, family, and an example of what each removes."""
    catalogue = load_catalogue()
    families = sorted({rule.family for rule in catalogue.rules})
    if family is not None and family not in families:
        raise typer.BadParameter(f"no family {family!r}; the families are: {', '.join(families)}",
                                 param_hint="'--family'")
    for rule in catalogue.rules:
        if family and rule.family != family:
            continue
        example = rule.examples[0] if rule.examples else ""
        typer.echo(f"{rule.name:<16} {rule.family:<15} {example}")


@app.command()
def explain(
    doc_id: Annotated[str, typer.Argument(help="The document id to show.")],
    removed: Annotated[Path, typer.Option("--removed", help="A removal record written by clean or strip.",
                                          exists=True, dir_okay=False, readable=True)],
) -> None:
    """Show why paragraphs of one document were removed, from a removal record.

    The verdict on the whole document comes first. Reading stops after the
    first document with this id (a document's removals are written together).
    """
    with _errors_as_exit(str(removed)):
        entries = list(read_record(removed, doc_id))
    if not entries:
        raise _fail(f"no removals of document {doc_id!r} in {removed}")
    if all(entry.get("paragraph") is not None for entry in entries):
        # no line for the document itself: it was kept, less these paragraphs
        typer.echo(f"{'document':<14} kept, {len(entries):,} paragraph(s) removed")
    # records written before the document's line came first list it last
    for entry in sorted(entries, key=lambda e: e.get("paragraph") is not None):
        where = "document" if entry.get("paragraph") is None else f"paragraph {entry['paragraph']}"
        why = f"{entry.get('reason')}/{entry.get('rule')}"
        if entry.get("kept_doc_id") is not None:
            sim = entry.get("similarity")
            kept_par = entry.get("kept_paragraph")
            why += f" -> kept in {entry['kept_doc_id']}" + (
                f" paragraph {kept_par}" if kept_par is not None else "")
            if isinstance(sim, (int, float)):
                why += f" (similarity {sim:.2f})"
        text = entry.get("text")
        # a preview on one line: a dropped document's text is the whole document
        shown = "(text not recorded)" if text is None else " ".join(str(text).split())[:200]
        # every field comes from a file: no terminal escapes get through
        typer.echo(f"{escape_controls(where):<14} {escape_controls(why)}\n    {escape_controls(shown)}")


@app.command()
def report(
    inputs: Annotated[list[str] | None, typer.Argument(
        help="The run's inputs, for the per-document view (optional).")] = None,
    removed: Annotated[Path, typer.Option("--removed", help="The removal record of a clean or strip run.",
                                          exists=True, dir_okay=False, readable=True)] = ...,  # type: ignore[assignment]
    stats: Annotated[Path | None, typer.Option(
        "--stats", help="The run's stats file.", exists=True, dir_okay=False)] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the HTML page.")] = "report.html",
    text_field: TextField = None,
    id_field: IdField = None,
) -> None:
    """Write one self-contained HTML page showing what a run removed and why."""
    from .report import write_report

    config = _configure(False, None, read={"text_field": text_field, "id_field": id_field})
    with _errors_as_exit(output):
        write_report(output, removed, stats, inputs or None, config)
    typer.echo(f"wrote {output}", err=True)


index_app = typer.Typer(help="Inspect an index of earlier runs (clean --index).", no_args_is_help=True)
app.add_typer(index_app, name="index")


@index_app.command("info")
def index_info(
    folder: Annotated[Path, typer.Argument(help="The index folder.", exists=True, file_okay=False)],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show what an index holds (batches, documents, rows, size) and its parameters."""
    from .index import Index

    _configure_logging(False)
    with _errors_as_exit(str(folder)), Index.open(folder, CleanConfig(), create=False) as index:
        info = index.info()
    if as_json:
        typer.echo(json.dumps(info, indent=2, sort_keys=True))
        return
    typer.echo(f"index      {info['path']} (format {info['format']})")
    typer.echo(f"batches    {info['batches']}")
    typer.echo(f"documents  {info['documents']}")
    typer.echo(f"rows       {info['rows']} ({info['rows_kept']} kept paragraphs, "
               f"{info['rows_boilerplate']} boilerplate)")
    typer.echo(f"size       {info['bytes'] / 1e6:.1f} MB")
    typer.echo("parameters")
    for key, value in sorted(info["parameters"].items()):
        typer.echo(f"  {key:<20} {value}")
    for batch in info["history"]:
        typer.echo(f"batch {batch['number']:>4}  {batch.get('created', '')}  "
                   f"{batch['documents']} documents, {batch['rows']} rows")


def main() -> None:
    """Entry point of the ``dedupe`` command."""
    app()
