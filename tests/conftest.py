"""Shared fixtures: paths, small corpora, and a CLI runner."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest
from hypothesis import strategies as st
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CASES = Path(__file__).resolve().parent / "cases"
SEED_PAGE = SEEDS / "000_8306feab76a8b91b.txt"
#: The shared evaluation sets sit beside the checkout on the team's machines
#: only; tests that use them skip elsewhere.
SHARED_EVAL = ROOT.parent / "shared" / "eval"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def invoke_one_job(runner: CliRunner, *args, input=None):
    """The CLI in this process; clean and strip on one worker, since a pool costs more than these small runs."""
    from dedupe.cli import app

    jobs = ["-j", "1"] if args[0] in ("clean", "strip") else []
    return runner.invoke(app, [str(a) for a in args] + jobs, input=input)


def assert_one_line_failure(result, *needles) -> None:
    """Exit 1 with one ``dedupe: error:`` line naming every needle, and no traceback."""
    assert result.exit_code == 1, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output and "Traceback" not in (result.stderr or "")
    lines = result.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("dedupe: error:"), result.stderr
    for needle in needles:
        assert needle in lines[-1], lines[-1]


def load_case(name: str) -> dict:
    return json.loads((CASES / name).read_text(encoding="utf-8"))


ARTICLE = [
    ("Storm Ada reached the northern coast late on Monday, bringing gusts of more than 120 km/h and "
    "flooding several harbour towns."),
    ("Power was cut to about 40,000 homes overnight, and the regional rail operator suspended all "
    "services until the lines could be inspected."),
    ("Emergency services said they had rescued eleven people from cars caught by rising water, and "
    "that nobody had been seriously hurt."),
    ("Forecasters expect the wind to ease by Wednesday, but warned that heavy rain could keep rivers "
    "high for the rest of the week."),
]
OTHER = [
    ("The city orchestra opened its season with a programme of Haydn and a new commission by a local "
    "composer, to a nearly full hall."),
    ("Under the new music director the strings played with a warmer tone than last year, and the slow "
    "movement was especially fine."),
    "Only the closing piece felt under-rehearsed, with several entries that did not quite land together on the night.",
]


# -- documents with a layout: line endings, indentation, blank runs, entities ----

#: Lines a generated document is made of: article text, chrome, mojibake, HTML
#: entities (line breaks among them), control characters, markup, code.
LAYOUT_LINES = ARTICLE + OTHER + [
    "Share this:", "No comments:", "Post a Comment", "Home", "Ten Tips For Gardening", "Why The Bus Is Late",
    "CafÃ© owners on the market square say the new parking rules have cut their trade by a third.",
    "Tom &amp; Jerry &mdash; a review of the restored film, forty years after it was first shown.",
    ARTICLE[0] + "&#10;" + OTHER[0], ARTICLE[1] + "&NewLine;Share this:", OTHER[1] + "&#13;" + ARTICLE[2],
    "No comments:&#x0A;" + OTHER[2], ARTICLE[3] + "&#13;&#10;&#13;&#10;Post a Comment",
    "\x00\x07", "\x1b[31m" + OTHER[2] + "\x1b[0m", "x < y &amp; z holds for every pair in the table below",
    "&lt;b&gt;Bold&lt;/b&gt; words in the middle of a long and otherwise ordinary line of text.",
    "def storm_gusts(speed_kmh):", "return speed_kmh * 1.2",
]
_LINE_ENDINGS = ["\n", "\r\n", "\r"]
_layout_line = st.tuples(
    st.sampled_from(["", "  ", "\t", "    "]),
    st.sampled_from(LAYOUT_LINES + ["", "", " "]),
    st.sampled_from(["", "", " ", "\t"]),
    st.sampled_from(_LINE_ENDINGS),
)


def _join_layout(parts: tuple[list[tuple[str, str, str, str]], bool]) -> str:
    lines, final_break = parts
    text = "".join(indent + body + trailing + ending for indent, body, trailing, ending in lines)
    return text if final_break else text.rstrip("\r\n")


#: A document with a layout (hypothesis strategy).
layout_documents = st.tuples(st.lists(_layout_line, max_size=10), st.booleans()).map(_join_layout)

_BREAK_AFTER = re.compile(r"(?<=\n)|(?<=\r)(?!\n)")


def reference_take_out(text: str, removed: set[int]) -> str:
    """The layout rule, written paragraph by paragraph (a second statement of
    ``dedupe.layout.take_out`` to test it against)."""
    lines = [line for line in _BREAK_AFTER.split(text) if line]
    where = [i for i, line in enumerate(lines) if line.strip()]  # line of each paragraph
    if not where:
        return text
    kept = [n for n in range(len(where)) if n not in removed]
    if not kept:
        return ""
    between = ["".join(lines[a + 1:b]) for a, b in itertools.pairwise(where)]
    filled = [run for run in between if run]
    separator = max(filled, key=lambda run: (filled.count(run), -filled.index(run))) if filled else ""
    out = "".join(lines[:where[0]])
    for position, number in enumerate(kept):
        if position:
            previous = kept[position - 1]
            runs = [run for run in between[previous:number] if run]
            out += runs[0] if len(runs) == 1 else separator if runs else ""
        out += lines[where[number]]
    out += "".join(lines[where[-1] + 1:])
    if text and not text.endswith(("\n", "\r")) and out.endswith(("\n", "\r")):
        out = out[:-2] if out.endswith("\r\n") else out[:-1]
    return out
