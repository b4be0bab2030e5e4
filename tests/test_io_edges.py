"""Input, output and command-line edges: every path either works or says what to do, and nothing is lost."""

from __future__ import annotations

import json

from dedupe.cli import app

from .conftest import ARTICLE, OTHER, read_jsonl, write_jsonl


def invoke(runner, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_quiet_still_shows_warnings(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    (folder / "notes.md").write_text("not read", encoding="utf-8")
    result = invoke(runner, "clean", folder, "-o", tmp_path / "out.jsonl", "-q")
    assert result.exit_code == 0, result.output
    assert "ignored 1 file" in result.stderr and "notes.md" in result.stderr
    assert "documents  in" not in result.stderr  # the summary stays quiet
