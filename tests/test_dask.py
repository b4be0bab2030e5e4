"""The Dask engine gives the local engine's output, byte for byte."""

from __future__ import annotations

import json
import sys

import pytest

pytest.importorskip("distributed")

from .conftest import ROOT, SEEDS, write_jsonl
from .test_cli import invoke

sys.path.insert(0, str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def run(runner, tmp_path, name, inputs, *options):
    out, rec, st = (tmp_path / f"{name}.jsonl", tmp_path / f"{name}.removed.jsonl", tmp_path / f"{name}.stats.json")
    result = invoke(runner, "clean", inputs, "-o", out, "--removed", rec, "--stats", st, "-q", *options)
    assert result.exit_code == 0, result.output
    stats = json.loads(st.read_text())
    counts = {k: stats[k] for k in ("documents", "paragraphs", "removals_by_rule", "clusters")}
    return out.read_bytes(), rec.read_bytes(), counts


def test_seeds_on_a_local_dask_cluster_match_the_local_engine(runner, tmp_path):
    local = run(runner, tmp_path, "local", SEEDS, "--jobs", "1")
    dask = run(runner, tmp_path, "dask", SEEDS, "--engine", "dask", "--jobs", "2")
    assert dask == local


def test_generated_corpus_on_a_scheduler_matches_the_local_engine(runner, tmp_path, cluster):
    from make_corpus import write

    corpus = write(tmp_path / "corpus.jsonl", 20_000)
    local = run(runner, tmp_path, "local", corpus, "--jobs", "2")
    dask = run(runner, tmp_path, "dask", corpus, "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert dask == local
    assert local[2]["paragraphs"]["removed_by_reason"]["duplicate"] > 1000


def test_dask_engine_with_an_index_and_bad_input(runner, tmp_path, cluster):
    from .conftest import ARTICLE, OTHER

    first = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "text": "\n".join(ARTICLE)}])
    second = write_jsonl(tmp_path / "b.jsonl", [{"id": "b", "text": "\n".join(ARTICLE[:2] + OTHER)}])
    address = cluster.scheduler_address
    for batch in (first, second):
        result = invoke(runner, "clean", batch, "-o", tmp_path / f"{batch.stem}.out.jsonl", "--index", tmp_path / "ix",
                        "--engine", "dask", "--scheduler", address, "-q")
        assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "b.out.jsonl").read_text())["text"] == "\n".join(OTHER)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "text": "fine"}\n{"id": "y", "text": 5}\n', encoding="utf-8")
    result = invoke(runner, "clean", bad, "--engine", "dask", "--scheduler", address, "-q")
    assert result.exit_code == 1 and "bad.jsonl:2" in result.output


def test_scheduler_needs_the_dask_engine(runner):
    result = invoke(runner, "clean", SEEDS, "--scheduler", "tcp://127.0.0.1:8786", "-q")
    assert result.exit_code == 1 and "--engine dask" in result.output
