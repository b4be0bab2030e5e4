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


def test_a_folder_output_can_be_cleaned_again(runner, tmp_path):
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.mkdir()
    (first / "one.txt").write_text("\n".join(ARTICLE) + "\n", encoding="utf-8")
    (first / "two.txt").write_text("\n".join(OTHER) + "\n", encoding="utf-8")
    assert invoke(runner, "clean", first, "-o", f"{second}/", "-q").exit_code == 0
    assert (second / ".dedupe-output.json").exists()
    result = invoke(runner, "clean", second, "-o", f"{third}/", "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # the manifest is ours: skipped without a word
    assert sorted(p.name for p in third.glob("*.txt")) == ["one.txt", "two.txt"]
    assert (third / "one.txt").read_bytes() == (second / "one.txt").read_bytes()


def test_a_folder_read_skips_hidden_files_and_says_so(runner, tmp_path):
    folder = tmp_path / "in"
    (folder / ".git").mkdir(parents=True)
    (folder / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    (folder / ".draft.txt").write_text("\n".join(OTHER), encoding="utf-8")
    (folder / ".git" / "notes.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "clean", folder, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in read_jsonl(out)] == ["a.txt"]
    assert "2 hidden file(s)" in result.stderr and ".draft.txt" in result.stderr
    # named on the command line, a hidden file is read
    assert invoke(runner, "clean", folder / ".draft.txt", "-o", out, "-q").exit_code == 0
    assert [d["id"] for d in read_jsonl(out)] == [".draft.txt"]
