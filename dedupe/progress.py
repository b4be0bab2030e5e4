"""Progress of a run: the events the pipeline sends, and the two ways the CLI shows them.

:class:`~dedupe.pipeline.Cleaner` calls its ``progress`` callback with a
:class:`ProgressEvent` after every batch of documents and at every step of the
resolver. The command line shows them as a bar on a terminal
(:class:`BarProgress`) or as a line every few seconds on stderr
(:class:`LogProgress`) when stderr is a pipe, a log file or a CI console;
stdout carries data only, whatever the mode.

>>> import io
>>> out = io.StringIO()
>>> show = LogProgress(out, interval_seconds=0)
>>> show(ProgressEvent("assemble", documents=50, chars=2_000_000, total_documents=200, total_chars=8_000_000))
>>> "assemble: 50/200 documents (25%), 2.0/8.0 MB" in out.getvalue()
True
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal, TextIO, get_args

#: ``--progress`` modes: a bar on a terminal and log lines elsewhere, or one of them, or none.
ProgressMode = Literal["auto", "bar", "log", "none"]
PROGRESS_MODES: tuple[str, ...] = get_args(ProgressMode)
#: ``--progress`` when not given.
PROGRESS_MODE: ProgressMode = "auto"
#: Seconds between two progress lines in log mode (``--progress-interval``).
LOG_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Work done since the last event of the same stage.

    ``stage`` is ``count lines``, ``fingerprint``, ``resolve`` or
    ``assemble`` (``strip`` when nothing is deduplicated); ``step`` names the
    resolver's current step and ``detail`` how far into it. ``chars`` counts
    characters of document text (the unit of ``Stats.bytes_in``). Totals are
    known from the second pass over the input on.
    """

    stage: str
    documents: int = 0
    chars: int = 0
    total_documents: int | None = None
    total_chars: int | None = None
    step: str = ""
    detail: str = ""


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(slots=True)
class _Stage:
    name: str
    started: float
    documents: int = 0
    chars: int = 0
    total_documents: int | None = None
    total_chars: int | None = None
    step: str = ""
    detail: str = ""

    def add(self, event: ProgressEvent) -> None:
        self.documents += event.documents
        self.chars += event.chars
        self.total_documents = event.total_documents if event.total_documents is not None else self.total_documents
        self.total_chars = event.total_chars if event.total_chars is not None else self.total_chars
        self.detail = event.detail

    def describe(self, now: float) -> str:
        """One line: documents, MB, MB/s and, with a total, the share done and an ETA."""
        if self.name == "resolve":
            return "resolve: " + ", ".join(part for part in (self.step, self.detail) if part)
        if not self.documents:
            return f"{self.name}: started"
        seconds = max(now - self.started, 1e-9)
        rate = self.chars / 1e6 / seconds
        parts = []
        if self.total_documents:
            share = min(self.documents / self.total_documents, 1.0)
            parts.append(f"{self.documents:,}/{self.total_documents:,} documents ({share:.0%})")
        else:
            parts.append(f"{self.documents:,} documents")
        if self.total_chars:
            parts.append(f"{_megabytes(self.chars)}/{_megabytes(self.total_chars)} MB")
        else:
            parts.append(f"{_megabytes(self.chars)} MB")
        parts.append(f"{rate:.2f} MB/s" if rate < 1 else f"{rate:.1f} MB/s")
        if self.total_chars and self.chars:
            left = max(self.total_chars - self.chars, 0) / (self.chars / seconds)
            parts.append(f"ETA {format_seconds(left)}")
        else:
            parts.append(f"{format_seconds(seconds)} elapsed")
        return f"{self.name}: " + ", ".join(parts)


def _megabytes(chars: int) -> str:
    """Millions of characters, with two decimals below one million."""
    return f"{chars / 1e6:.2f}" if chars < 1_000_000 else f"{chars / 1e6:.1f}"


def format_seconds(seconds: float) -> str:
    """``H:MM:SS``.

    >>> format_seconds(3725.4)
    '1:02:05'
    """
    whole = round(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class LogProgress:
    """Progress as lines on a stream: at most one per ``interval_seconds``, plus each new stage.

    A run shorter than the interval prints nothing (a pipe gets no chatter
    from a quick job); a longer one prints a line whenever the interval has
    passed since the last, and announces each stage and resolver step as it
    begins.
    """

    def __init__(self, stream: TextIO, interval_seconds: float = LOG_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.interval = interval_seconds
        self.clock = clock
        self.started = clock()
        self.last_line = self.started
        self.stage: _Stage | None = None
        self.lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        with self.lock:
            now = self.clock()
            begins = self.stage is None or self.stage.name != event.stage or self.stage.step != event.step
            if self.stage is None or self.stage.name != event.stage:
                self.stage = _Stage(event.stage, now)
            self.stage.step = event.step
            self.stage.add(event)
            if (begins and now - self.started >= self.interval) or now - self.last_line >= self.interval:
                self.last_line = now
                self.stream.write(f"dedupe: {self.stage.describe(now)}\n")
                self.stream.flush()


class BarProgress:
    """Progress as a rich bar per stage (documents, MB, MB/s, ETA once the total is known)."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.tasks: dict[str, Any] = {}
        self.stages: dict[str, _Stage] = {}
        self.clock = time.monotonic

    def __call__(self, event: ProgressEvent) -> None:
        now = self.clock()
        resolving = event.stage == "resolve"  # steps, not documents: no total
        stage = self.stages.get(event.stage)
        if stage is None:
            stage = self.stages[event.stage] = _Stage(event.stage, now)
            self.tasks[event.stage] = self.bar.add_task(event.stage, total=None, rate="")
        stage.step = event.step
        stage.add(event)
        seconds = max(now - stage.started, 1e-9)
        self.bar.update(self.tasks[event.stage], advance=event.documents,
                        total=None if resolving else stage.total_documents,
                        description=f"resolve: {event.step}" if resolving else event.stage,
                        rate=event.detail if resolving
                        else f"{_megabytes(stage.chars)} MB {stage.chars / 1e6 / seconds:.1f} MB/s")


def choose_mode(mode: str, quiet: bool, stream: TextIO) -> str:
    """``bar``, ``log`` or ``none`` for ``--progress MODE``.

    ``auto`` is ``none`` with ``--quiet``; ``log`` when ``CI`` is set (CI
    consoles that claim to be terminals render a redrawn bar as thousands of
    lines) or stderr is not a terminal; otherwise ``bar``. ``bar`` asked for
    on a stream that is not a terminal is ``log``: a pipe or a file cannot
    show a redrawn bar (it got an empty line).

    >>> import io
    >>> choose_mode("auto", False, io.StringIO()), choose_mode("auto", True, io.StringIO())
    ('log', 'none')
    >>> choose_mode("bar", False, io.StringIO())
    'log'
    """
    if mode not in PROGRESS_MODES:
        raise ValueError(f"progress mode must be one of {', '.join(PROGRESS_MODES)}")
    if mode == "bar" and not stream.isatty():
        return "log"
    if mode != "auto":
        return mode
    if quiet:
        return "none"
    if os.environ.get("CI") or not stream.isatty():
        return "log"
    return "bar"


@contextmanager
def show_progress(mode: str, quiet: bool = False, interval_seconds: float = LOG_INTERVAL_SECONDS,
                  stream: TextIO | None = None) -> Iterator[ProgressCallback | None]:
    """The callback for ``--progress MODE`` on ``stream`` (stderr), or ``None`` for no progress."""
    stream = stream if stream is not None else sys.stderr
    chosen = choose_mode(mode, quiet, stream)
    if chosen == "none":
        yield None
    elif chosen == "log":
        yield LogProgress(stream, interval_seconds)
    else:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(
            TextColumn("{task.description:<12}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(elapsed_when_finished=True),
            console=Console(file=stream), transient=True,
        ) as bar:
            yield BarProgress(bar)
