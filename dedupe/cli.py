"""The ``dedupe`` command: argument parsing, error translation and progress only.

All the work happens in the library (:mod:`dedupe.pipeline`); this module maps
options onto :class:`~dedupe.config.CleanConfig`, draws a progress bar when
stderr is a terminal, and turns :class:`~dedupe.errors.DedupeError` into one
line on stderr and exit code 1.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import __version__
from .config import CleanConfig, load_config
from .errors import DedupeError
from .io import AtomicFile, FileSource, dumps_jsonl, open_writer
from .pipeline import Cleaner, ProgressCallback
from .strip import load_catalogue

app = typer.Typer(
    name="dedupe",
    help="Clean scraped web text: repair encoding, strip page chrome, and remove "
    "repeated and near-duplicate paragraphs, recording every removal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
log = logging.getLogger("dedupe")


class Shingle(str, Enum):
    char = "char"
    word = "word"


class Engine(str, Enum):
    local = "local"
    dask = "dask"


class Keep(str, Enum):
    first = "first"
    earliest = "earliest"
    longest = "longest"


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
    Optional[str],
    typer.Option("--output", "-o", help="Output: .jsonl(.gz/.zst), .parquet, or a folder of .txt files. Default: JSONL on stdout."),
]
Removed = Annotated[
    Optional[Path],
    typer.Option("--removed", help="Write the removal record (JSONL, one line per removed paragraph or document).", dir_okay=False),
]
StatsOpt = Annotated[
    Optional[Path], typer.Option("--stats", help="Write counts and timings as JSON.", dir_okay=False)
]
ConfigOpt = Annotated[
    Optional[Path],
    typer.Option("--config", help="TOML file with [read], [normalize], [strip], [dedup] tables.",
                 exists=True, dir_okay=False, readable=True),
]
TextField = Annotated[Optional[str], typer.Option("--text-field", help="JSON field with the text. [default: text]")]
IdField = Annotated[Optional[str], typer.Option("--id-field", help="JSON field with the document id. [default: id]")]
SkipBad = Annotated[
    bool,
    typer.Option("--skip-bad", help="Skip unreadable records (recorded as bad-input) instead of stopping."),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")]
FallbackEncoding = Annotated[
    Optional[str],
    typer.Option("--fallback-encoding", help="Decode .txt files that are not UTF-8 with this encoding (e.g. cp1252) instead of rejecting them."),
]
Jobs = Annotated[int, typer.Option("--jobs", "-j", min=0, help="Worker processes; 0 uses every core. [default: 0]")]
Context = Annotated[
    Optional[bool],
    typer.Option("--context/--no-context",
                 help="Judge each line of a web page by its neighbours and how often it recurs on its site, or use "
                 "the catalogue and related-link runs only (--no-context: keeps every short line of a page, "
                 "and runs faster). [default: --context]"),
]


class Comments(str, Enum):
    keep = "keep"
    drop = "drop"


CommentsOpt = Annotated[
    Optional[Comments],
    typer.Option("--comments", help="Keep user comments, or drop a page's comment section (after a comment "
                 "counter that follows the main text, up to the comment form). [default: keep]"),
]
ContextThreshold = Annotated[
    Optional[float],
    typer.Option("--context-threshold", min=0.0, max=1.0,
                 help="Keep lines whose context score reaches this (lower keeps more). [default: the model's]"),
]


def _configure_logging(quiet: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("dedupe: %(message)s"))
    root = logging.getLogger("dedupe")
    root.handlers[:] = [handler]
    root.setLevel(logging.ERROR if quiet else logging.WARNING)
    root.propagate = False


def _build_config(
    config_file: Optional[Path], read: dict[str, Any], sections: dict[str, dict[str, Any]]
) -> CleanConfig:
    config = load_config(config_file) if config_file else CleanConfig()
    changes = {"read": {k: v for k, v in read.items() if v is not None}}
    for name, values in sections.items():
        changes[name] = {k: v for k, v in values.items() if v is not None}
    return config.replace(**{k: v for k, v in changes.items() if v})


def _configure(
    quiet: bool, config_file: Optional[Path], read: dict[str, Any], sections: dict[str, dict[str, Any]]
) -> CleanConfig:
    """Logging set up, and the configuration from file and flags (a bad one exits 1)."""
    _configure_logging(quiet)
    try:
        return _build_config(config_file, read, sections)
    except DedupeError as exc:
        raise _fail(str(exc)) from None


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress bar on an interactive stderr; nothing in pipes and CI."""
    if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, advance: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], advance=advance, total=total)

        yield update


class _Terminated(Exception):
    """SIGTERM arrived: unwind like Ctrl-C so temporary outputs are removed."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"dedupe: error: {message}", err=True)
    return typer.Exit(code)


def _run(
    inputs: list[str],
    output: Optional[str],
    removed: Optional[Path],
    stats_path: Optional[Path],
    config: CleanConfig,
    jobs: int,
    quiet: bool,
    explain: bool = False,
    index_dir: Optional[Path] = None,
    engine: str = "local",
    scheduler: Optional[str] = None,
) -> None:
    writers: list[Any] = []
    source = None
    index = None
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        source = FileSource(inputs, config.read)
        # --explain prints to stdout, so documents go there only when asked for with -o
        doc_writer = open_writer(output, config.read) if (output or not explain) else None
        if doc_writer is not None:
            writers.append(doc_writer)
        record = AtomicFile(removed) if removed else None
        if record is not None:
            writers.append(record)
        if index_dir is not None:  # after the outputs: a bad output path leaves no new index folder
            from .index import Index

            index = Index.open(index_dir, config)
        with _progress(quiet) as progress:
            # output does not depend on the number of workers, so use them all by default
            cleaner = Cleaner(config, jobs=jobs or os.cpu_count() or 1, progress=progress, index=index,
                              engine=engine, scheduler=scheduler)
            # closed explicitly so that an interrupted run stops its workers now,
            # not whenever the suspended generator is collected
            with contextlib.closing(cleaner.run(source)) as results:
                for result in results:
                    if doc_writer is not None and result.text is not None:
                        doc_writer.write(result.record, result.text)
                    if record is not None:
                        for removal in result.removals:
                            record.write(dumps_jsonl(removal.to_dict()))
                    if explain:
                        _explain(result)
        if stats_path:
            stats_file = AtomicFile(stats_path)
            writers.append(stats_file)
            stats_file.write((json.dumps(cleaner.stats.to_dict(), indent=2) + "\n").encode())
        for writer in writers:
            writer.commit()
        writers.clear()
        if index is not None:
            # after the outputs: an index never lists a batch whose output was not written
            index.commit()
        if not quiet:
            typer.echo(cleaner.stats.summary(), err=True)
    except DedupeError as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted; no output was written", 130) from None
    except _Terminated:
        raise _fail("terminated; no output was written", 143) from None
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); nothing more to say.
        with contextlib.suppress(Exception):
            sys.stdout = open(os.devnull, "w")
        raise typer.Exit(1) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or 'output'}: {exc.strerror or exc}") from None
    finally:
        signal.signal(signal.SIGTERM, previous)
        for writer in writers:
            writer.abort()
        if index is not None:
            index.close()
        if source is not None:
            source.close()


def _explain(result: Any) -> None:
    """Print a document's paragraphs with their verdicts (strip --explain)."""
    removed = {r.paragraph: r for r in result.removals if r.paragraph is not None}
    typer.echo(f"== {result.record.doc_id}")
    for number, text in enumerate(result.paragraphs):
        verdict = removed.get(number)
        if verdict is None:
            typer.echo(f"  + {text}")
        else:
            typer.echo(f"  - {text}    [{verdict.reason}: {verdict.rule}]")
    for r in result.removals:
        if r.paragraph is None:
            typer.echo(f"  x whole document dropped [{r.reason}: {r.rule}]")


@app.command()
def clean(
    inputs: Inputs,
    output: Output = None,
    removed: Removed = None,
    stats: StatsOpt = None,
    config_file: ConfigOpt = None,
    text_field: TextField = None,
    id_field: IdField = None,
    url_field: Annotated[Optional[str], typer.Option("--url-field", help="Field with the page URL; its host groups pages into sites. [default: url]")] = None,
    date_field: Annotated[Optional[str], typer.Option("--date-field", help="Field read by --keep earliest. [default: date]")] = None,
    threshold: Annotated[Optional[float], typer.Option("--threshold", min=0.01, max=1.0, help="Estimated Jaccard at or above which paragraphs are copies. [default: 0.5]")] = None,
    num_perm: Annotated[Optional[int], typer.Option("--num-perm", min=2, help="MinHash permutations. [default: 128]")] = None,
    shingle: Annotated[Optional[Shingle], typer.Option("--shingle", help="Shingle kind: character or word n-grams. [default: char]")] = None,
    ngram: Annotated[Optional[int], typer.Option("--ngram", min=1, help="Characters (or words) per shingle. [default: 5]")] = None,
    bands: Annotated[Optional[int], typer.Option("--bands", min=0, help="LSH bands (0: chosen from the threshold).")] = None,
    boilerplate_docs: Annotated[Optional[int], typer.Option("--boilerplate-docs", min=2, help="A paragraph in this many documents is boilerplate: every copy goes. [default: 20]")] = None,
    boilerplate_sites: Annotated[Optional[int], typer.Option("--boilerplate-sites", min=2, help="With URLs: a paragraph on this many sites is boilerplate. [default: 50]")] = None,
    min_kept: Annotated[Optional[float], typer.Option("--min-kept", min=0.0, max=1.0, help="Drop documents keeping less than this share of their text. [default: 0.03]")] = None,
    novel_chars: Annotated[Optional[int], typer.Option("--novel-chars", min=0, help="Keep a mostly-duplicate document that keeps a paragraph this long found nowhere else; 0 drops it anyway. [default: 140]")] = None,
    typo_words: Annotated[Optional[int], typer.Option("--typo-words", min=0, help="Short lines of at most this many words are copies when one word is a typo apart; 0 turns it off. [default: 6]")] = None,
    related_evidence: Annotated[Optional[float], typer.Option("--related-evidence", min=0.0, max=1.0, help="Keep an unheaded link list after an article when its lines occur on no other page and at least this share of its site's lists name other pages' titles; 0 never keeps one. [default: 0.5]")] = None,
    keep: Annotated[Optional[Keep], typer.Option("--keep", help="Which copy of a duplicate to keep. [default: first]")] = None,
    engine: Annotated[Engine, typer.Option("--engine", help="Where per-document work runs: worker processes here, or a Dask cluster (needs the dask extra).")] = Engine.local,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="With --engine dask: the scheduler's address (e.g. tcp://10.0.0.5:8786); without it a local cluster of --jobs workers starts.")] = None,
    index_dir: Annotated[Optional[Path], typer.Option("--index", help="Clean against every batch cleaned before with this index folder, then add this batch to it (needs pyarrow).", file_okay=False)] = None,
    memory_limit: Annotated[Optional[str], typer.Option("--memory-limit", help="Signatures held in RAM before they spill to TMPDIR, e.g. 512MB, 4GB; 0 never spills. [default: 2GB]")] = None,
    no_repair: Annotated[bool, typer.Option("--no-repair", help="Do not repair encoding.")] = False,
    no_strip: Annotated[bool, typer.Option("--no-strip", help="Do not apply chrome rules.")] = False,
    context: Context = None,
    context_threshold: ContextThreshold = None,
    comments: CommentsOpt = None,
    skip_bad: SkipBad = False,
    fallback_encoding: FallbackEncoding = None,
    jobs: Jobs = 0,
    quiet: Quiet = False,
) -> None:
    """Clean documents: repair, strip chrome, remove duplicate and boilerplate paragraphs."""
    config = _configure(
        quiet, config_file,
        {"text_field": text_field, "id_field": id_field, "url_field": url_field, "date_field": date_field,
         "skip_bad": skip_bad or None, "fallback_encoding": fallback_encoding},
        {
            "dedup": {"threshold": threshold, "num_perm": num_perm, "ngram": ngram, "bands": bands,
                      "shingle": shingle.value if shingle else None,
                      "boilerplate_docs": boilerplate_docs, "boilerplate_sites": boilerplate_sites,
                      "min_kept": min_kept, "novel_chars": novel_chars, "keep": keep.value if keep else None,
                      "related_evidence": related_evidence, "typo_words": typo_words,
                      "memory_limit": memory_limit},
            "normalize": {"repair": False if no_repair else None},
            "strip": {"enabled": False if no_strip else None, "context": context,
                      "context_threshold": context_threshold, "comments": comments.value if comments else None},
        },
    )
    if scheduler and engine != Engine.dask:
        raise _fail("--scheduler needs --engine dask")
    _run(inputs, output, removed, stats, config, jobs, quiet, index_dir=index_dir, engine=engine.value,
         scheduler=scheduler)


@app.command("strip")
def strip_command(
    inputs: Inputs,
    output: Output = None,
    removed: Removed = None,
    stats: StatsOpt = None,
    config_file: ConfigOpt = None,
    text_field: TextField = None,
    id_field: IdField = None,
    explain: Annotated[bool, typer.Option("--explain", help="Print every document's lines with their verdict and rule.")] = False,
    context: Context = None,
    context_threshold: ContextThreshold = None,
    comments: CommentsOpt = None,
    skip_bad: SkipBad = False,
    fallback_encoding: FallbackEncoding = None,
    jobs: Jobs = 0,
    quiet: Quiet = False,
) -> None:
    """Repair and strip chrome only (no duplicate removal)."""
    config = _configure(
        quiet, config_file,
        {"text_field": text_field, "id_field": id_field, "skip_bad": skip_bad or None,
         "fallback_encoding": fallback_encoding},
        {"dedup": {"enabled": False},
         "strip": {"context": context, "context_threshold": context_threshold,
                   "comments": comments.value if comments else None}},
    )
    _run(inputs, output, removed, stats, config, jobs, quiet, explain=explain)


@app.command()
def rules(
    family: Annotated[Optional[str], typer.Option("--family", help="Only rules of this family.")] = None,
) -> None:
    """List the chrome rules: name, family, and an example of what each removes."""
    for rule in load_catalogue().rules:
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
    """Show why paragraphs of one document were removed, from a removal record."""
    found = 0
    try:
        with open(removed, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    raise _fail(f"{removed}:{line_no}: not valid JSON") from None
                if not isinstance(entry, dict) or str(entry.get("doc_id")) != doc_id:
                    continue
                found += 1
                where = "document" if entry.get("paragraph") is None else f"paragraph {entry['paragraph']}"
                why = f"{entry.get('reason')}/{entry.get('rule')}"
                if entry.get("kept_doc_id") is not None:
                    sim = entry.get("similarity")
                    kept_par = entry.get("kept_paragraph")
                    why += f" -> kept in {entry['kept_doc_id']}" + (
                        f" paragraph {kept_par}" if kept_par is not None else "")
                    if sim is not None:
                        why += f" (similarity {sim:.2f})"
                text = str(entry.get("text", ""))
                typer.echo(f"{where:<14} {why}\n    {text[:200]}")
    except UnicodeDecodeError:
        raise _fail(f"{removed}: not UTF-8 text") from None
    if not found:
        raise _fail(f"no removals of document {doc_id!r} in {removed}")


@app.command()
def report(
    inputs: Annotated[Optional[list[str]], typer.Argument(help="The run's inputs, for the per-document view (optional).")] = None,
    removed: Annotated[Path, typer.Option("--removed", help="The removal record of a clean or strip run.",
                                          exists=True, dir_okay=False, readable=True)] = ...,  # type: ignore[assignment]
    stats: Annotated[Optional[Path], typer.Option("--stats", help="The run's stats file.", exists=True, dir_okay=False)] = None,
    output: Annotated[str, typer.Option("--output", "-o", help="Where to write the HTML page.")] = "report.html",
    text_field: TextField = None,
    id_field: IdField = None,
) -> None:
    """Write one self-contained HTML page showing what a run removed and why."""
    from .report import build_report

    _configure_logging(False)
    try:
        config = _build_config(None, {"text_field": text_field, "id_field": id_field}, {})
        page = build_report(removed, stats, inputs or None, config)
        target = AtomicFile(output)
        try:
            target.write(page.encode("utf-8"))
            target.commit()
        finally:
            target.abort()
    except DedupeError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or output}: {exc.strerror or exc}") from None
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
    try:
        with Index.open(folder, CleanConfig(), create=False) as index:
            info = index.info()
    except DedupeError as exc:
        raise _fail(str(exc)) from None
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
