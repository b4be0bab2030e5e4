"""Shared fixtures: paths, small corpora, and a CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


def load_case(name: str) -> dict:
    return json.loads((CASES / name).read_text(encoding="utf-8"))


ARTICLE = [
    "Storm Ada reached the northern coast late on Monday, bringing gusts of more than 120 km/h and flooding several harbour towns.",
    "Power was cut to about 40,000 homes overnight, and the regional rail operator suspended all services until the lines could be inspected.",
    "Emergency services said they had rescued eleven people from cars caught by rising water, and that nobody had been seriously hurt.",
    "Forecasters expect the wind to ease by Wednesday, but warned that heavy rain could keep rivers high for the rest of the week.",
]
OTHER = [
    "The city orchestra opened its season with a programme of Haydn and a new commission by a local composer, to a nearly full hall.",
    "Under the new music director the strings played with a warmer tone than last year, and the slow movement was especially fine.",
    "Only the closing piece felt under-rehearsed, with several entries that did not quite land together on the night.",
]
