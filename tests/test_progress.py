"""Progress on stderr: log lines in pipes, a bar on terminals, nothing in the data."""

from __future__ import annotations

import io
import re

import pytest
from typer.testing import CliRunner

from dedupe.cli import app
from dedupe.progress import LogProgress, ProgressEvent, choose_mode, show_progress

from .conftest import SEEDS


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_log_mode_prints_stages_documents_megabytes_rate_and_eta_and_leaves_stdout_alone():
    logged = invoke("clean", SEEDS, "--progress", "log", "--progress-interval", "0")
    silent = invoke("clean", SEEDS, "--progress", "none")
    assert logged.exit_code == silent.exit_code == 0
    kept = int(re.search(r"documents\s+in\s+23\s+kept\s+(\d+)", logged.stderr).group(1))
    assert logged.stdout == silent.stdout and logged.stdout.count("\n") == kept  # the cleaned documents
    lines = [line for line in logged.stderr.splitlines() if line.startswith("dedupe: ")]
    stages = [line.split(":")[1].strip() for line in lines]
    assert stages.index("fingerprint") < stages.index("resolve") < stages.index("assemble")
    # the first pass of a run knows no total yet (with the context pass that is the line count)
    assert re.search(r"^dedupe: count lines: 23 documents, [\d.]+ MB, [\d.]+ MB/s, \d:\d\d:\d\d elapsed$",
                     logged.stderr, re.MULTILINE)
    # the second pass knows the totals from the first: share done and an ETA
    assert re.search(r"^dedupe: assemble: 23/23 documents \(100%\), ([\d.]+)/\1 MB, [\d.]+ MB/s, ETA 0:00:00$",
                     logged.stderr, re.MULTILINE)
    for step in ("grouping candidates", "boilerplate and keep policy", "sentences", "duplicate documents"):
        assert f"dedupe: resolve: {step}" in logged.stderr
    assert "dedupe: resolve: grouping candidates, band 1 of " in logged.stderr
    assert "documents  in        23" in logged.stderr  # the summary follows


def test_strip_logs_its_single_pass():
    result = invoke("strip", SEEDS, "--progress", "log", "--progress-interval", "0", "-q")
    assert result.exit_code == 0
    assert re.search(r"^dedupe: strip: 23/23 documents \(100%\), ", result.stderr, re.MULTILINE)
    rules_only = invoke("strip", SEEDS, "--no-context", "--progress", "log", "--progress-interval", "0", "-q")
    assert re.search(r"^dedupe: strip: 23 documents, ", rules_only.stderr, re.MULTILINE)


def test_a_short_run_in_a_pipe_prints_no_progress_by_default_and_quiet_prints_nothing():
    default = invoke("clean", SEEDS)  # stderr is not a terminal here: log mode, 10 s apart
    assert default.exit_code == 0
    assert not [line for line in default.stderr.splitlines() if line.startswith("dedupe: ")]
    assert "documents  in" in default.stderr
    assert invoke("clean", SEEDS, "-q").stderr == ""
    # an explicit mode is shown even with --quiet
    assert "dedupe: fingerprint:" in invoke("clean", SEEDS, "-q", "--progress", "log",
                                            "--progress-interval", "0").stderr


def test_bar_mode_in_a_pipe_keeps_stdout_to_the_data():
    bar = invoke("clean", SEEDS, "--progress", "bar")
    assert bar.exit_code == 0 and bar.stdout == invoke("clean", SEEDS, "-q").stdout


def test_log_lines_come_once_per_interval_and_announce_stages_after_the_first():
    clock, out = _Clock(), io.StringIO()
    show = LogProgress(out, interval_seconds=10, clock=clock)
    show(ProgressEvent("fingerprint"))
    for _ in range(5):  # 5 batches in 4 s: nothing yet
        clock.now += 0.8
        show(ProgressEvent("fingerprint", documents=256, chars=1_000_000))
    assert out.getvalue() == ""
    clock.now = 10.5
    show(ProgressEvent("fingerprint", documents=256, chars=1_000_000))
    clock.now = 11.0
    show(ProgressEvent("fingerprint", documents=256, chars=1_000_000))  # within the interval: quiet
    clock.now = 12.0
    show(ProgressEvent("resolve", step="grouping candidates", detail="1,234 paragraphs"))
    clock.now = 12.5
    show(ProgressEvent("resolve", step="grouping candidates", detail="band 1 of 32"))  # same step: quiet
    clock.now = 14.0
    show(ProgressEvent("assemble", total_documents=1792, total_chars=7_000_000))
    clock.now = 24.0
    show(ProgressEvent("assemble", documents=896, chars=3_500_000, total_documents=1792, total_chars=7_000_000))
    assert out.getvalue().splitlines() == [
        "dedupe: fingerprint: 1,536 documents, 6.0 MB, 0.57 MB/s, 0:00:10 elapsed",
        "dedupe: resolve: grouping candidates, 1,234 paragraphs",
        "dedupe: assemble: started",
        "dedupe: assemble: 896/1,792 documents (50%), 3.5/7.0 MB, 0.35 MB/s, ETA 0:00:10",
    ]


def test_auto_is_a_bar_on_a_terminal_and_log_lines_in_ci(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    assert choose_mode("auto", False, Terminal()) == "bar"
    assert choose_mode("auto", False, io.StringIO()) == "log"
    assert choose_mode("auto", True, Terminal()) == "none"
    monkeypatch.setenv("CI", "1")
    assert choose_mode("auto", False, Terminal()) == "log"
    assert choose_mode("bar", False, Terminal()) == "bar"
    with pytest.raises(ValueError):
        choose_mode("fancy", False, Terminal())


def test_bar_mode_draws_on_a_terminal(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    screen = Terminal()
    with show_progress("auto", stream=screen) as show:
        assert show is not None
        show(ProgressEvent("fingerprint"))
        show(ProgressEvent("fingerprint", documents=256, chars=1_000_000))
        show(ProgressEvent("resolve", step="grouping candidates", detail="band 3 of 32"))
    assert "fingerprint" in screen.getvalue() and "band 3 of 32" in screen.getvalue()
