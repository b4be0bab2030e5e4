"""The Dask engine gives the local engine's output, byte for byte."""

from __future__ import annotations

import contextlib
import itertools
import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_generated_corpus_on_a_scheduler_matches_the_local_engine(runner, tmp_path, cluster, monkeypatch):
    from make_corpus import write

    from dedupe.executors import dask_engine

    # 16 batches of documents (more than the pool keeps in flight), and smaller
    # shuffle partitions than the default so that the grouping shuffles split
    # into more partitions than there are workers, as on a big corpus
    monkeypatch.setattr(dask_engine, "PARTITION_BYTES", 8 << 20)
    corpus = write(tmp_path / "corpus.jsonl", 4000)
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


def test_components_on_the_cluster_number_clusters_like_the_local_step(cluster):
    """Label propagation (used past the driver's edge budget) equals scipy's components."""
    import numpy as np
    import pandas as pd
    from distributed import Client

    from dedupe.executors.dask_engine import _propagate
    from dedupe.resolve.candidates import component_labels

    rng = np.random.default_rng(7)
    # one long path with its nodes in random order (plain label propagation
    # would need a round per link), then random graphs, beside unlinked nodes
    chain = rng.permutation(3000)
    u, v = [chain[:-1]], [chain[1:]]
    n = 3100
    for _ in range(5):
        size = int(rng.integers(50, 400))
        u.append(n + rng.integers(0, size, size // 2))
        v.append(n + rng.integers(0, size, size // 2))
        n += size
    u, v = np.concatenate(u), np.concatenate(v)
    with Client(cluster.scheduler_address) as client:
        chunks = [client.scatter(pd.DataFrame({"u": part_u, "v": part_v}))
                  for part_u, part_v in zip(np.array_split(u, 3), np.array_split(v, 3))]
        assert _propagate(chunks, n).tolist() == component_labels(n, u, v).tolist()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cuts=st.lists(st.integers(0, 60), max_size=4))
def test_verification_at_the_signatures_keeps_the_local_rules_edges(seed, cuts):
    """The two hops over signature blocks (without a cluster: the same functions, called here)
    keep exactly the candidate pairs the driver's own verification keeps, however the blocks fall."""
    import numpy as np
    import pandas as pd

    from dedupe.executors.dask_engine import _attach_first, _split_by_block, _verify_second
    from dedupe.resolve.candidates import band_edges
    from dedupe.schema import ParagraphTable
    from dedupe.store import SignatureStore

    rng = np.random.default_rng(seed)
    n, width, rows = 70, 16, 2
    base = rng.integers(0, 6, (4, width)).astype(np.uint32)
    # near copies of four texts: a few slots changed, so some pairs pass the threshold and some fail
    signatures = base[rng.integers(0, 4, n)] + (rng.random((n, width)) < 0.3).astype(np.uint32)
    sig_row = np.where(rng.random(n) < 0.8, 0, -1)
    signed = np.flatnonzero(sig_row >= 0)
    sig_row[signed] = np.arange(signed.shape[0])
    total = signed.shape[0]
    table = ParagraphTable.build(
        doc=rng.integers(0, 12, n), para=np.zeros(n, np.int64), exact=rng.integers(0, 30, n),
        ident=rng.integers(0, 2, n), text_hash=rng.integers(0, 30, n), length=rng.integers(10, 200, n),
        sig_row=sig_row, signatures=SignatureStore.of(signatures[signed], rows))
    a, b = rng.integers(0, total, 300), rng.integers(0, total, 300)
    keep = a != b
    codes = np.unique(np.minimum(a, b)[keep] * total + np.maximum(a, b)[keep])
    rule = (rows, 0.6, 80, 0.8)
    expected = band_edges(table, signed[codes // total], signed[codes % total], *rule[1:])
    # empty blocks too (a shard without paragraphs): they share their start with the next
    starts = np.sort(np.clip([0, *cuts], 0, total)).astype(np.int64)
    bounds = [*starts.tolist(), total]
    columns = [{name: getattr(table, name)[signed[lo:hi]] for name in ("exact", "doc", "ident", "text_hash", "length")}
               for lo, hi in itertools.pairwise(bounds)]
    blocks = [signatures[signed][lo:hi] for lo, hi in itertools.pairwise(bounds)]
    frames = [pd.DataFrame({"pair": part}) for part in np.array_split(codes, 3)]
    firsts = [_split_by_block(frame, starts, total, True) for frame in frames]
    attached = [_attach_first(blocks[k], bounds[k], columns[k], total, *[p[k] for p in firsts])
                for k in range(len(blocks))]
    seconds = [_split_by_block(half, starts, total, False) for half in attached]
    found = [_verify_second(blocks[k], bounds[k], columns[k], rule, *[p[k] for p in seconds])
             for k in range(len(blocks))]
    got = sorted((int(signed[x]), int(signed[y])) for fa, fb in found for x, y in zip(fa, fb))
    assert got == sorted(zip(expected[0].tolist(), expected[1].tolist()))


def test_the_driver_never_optimises_while_an_in_process_scheduler_builds_a_graph(cluster, monkeypatch):
    """Components on a LocalCluster cannot deadlock the driver (a hang seen in CI on Python 3.11).

    The scheduler builds each submitted graph in a thread of the driver's
    process; on Python 3.11 it shares class-wide cached-property locks with
    the driver's optimiser, so the two must never overlap. Both are slowed
    down here so that an overlap, were one possible, happens every time.

    The one test that reaches into dask's private names: the race it guards
    against is between two of dask's own internal steps, and only slowing
    those down makes it happen on every run. It skips if they move.
    """
    import threading
    import time

    dask_expr = pytest.importorskip("dask._expr")
    import distributed.scheduler
    import numpy as np
    import pandas as pd
    from distributed import Client

    from dedupe.executors.dask_engine import _propagate
    from dedupe.resolve.candidates import component_labels

    spans: dict[str, list[tuple[float, float]]] = {"build": [], "optimise": []}

    def timed(kind, func, pause):
        def wrapper(*args, **kwargs):
            start = time.monotonic()
            time.sleep(pause)
            try:
                return func(*args, **kwargs)
            finally:
                if kind == "build" or threading.current_thread() is threading.main_thread():
                    spans[kind].append((start, time.monotonic()))
        return wrapper

    if not hasattr(distributed.scheduler, "_materialize_graph") or not hasattr(dask_expr, "optimize_until"):
        pytest.skip("the dask internals this test slows down have moved")
    monkeypatch.setattr(distributed.scheduler, "_materialize_graph",
                        timed("build", distributed.scheduler._materialize_graph, 0.2))
    monkeypatch.setattr(dask_expr, "optimize_until", timed("optimise", dask_expr.optimize_until, 0.05))
    rng = np.random.default_rng(3)
    u, v = rng.integers(0, 300, 200), rng.integers(0, 300, 200)
    with Client(cluster.scheduler_address) as client:
        chunks = [client.scatter(pd.DataFrame({"u": u, "v": v}))]
        assert _propagate(chunks, 300).tolist() == component_labels(300, u, v).tolist()
    assert spans["build"] and spans["optimise"], "the probes should have seen both sides"
    overlaps = [(b, o) for b in spans["build"] for o in spans["optimise"] if b[0] < o[1] and o[0] < b[1]]
    assert not overlaps


def test_edges_past_the_memory_limit_give_the_same_output(runner, tmp_path, cluster, monkeypatch):
    """A tiny --memory-limit spills the driver's signatures, so the candidate pairs are verified on
    the workers that hold the signatures, and sends the verified edges to the cluster: the output
    stays the local engine's (byte ranges: the index test below)."""
    from make_corpus import write

    from dedupe.executors import dask_engine

    calls, verified = [], []
    original, verify = dask_engine._propagate, dask_engine._verify_at_signatures
    monkeypatch.setattr(dask_engine, "_propagate", lambda chunks, n: calls.append(n) or original(chunks, n))
    monkeypatch.setattr(dask_engine, "_verify_at_signatures", lambda *args: verified.extend(verify(*args)) or verified)
    corpus = write(tmp_path / "corpus.jsonl", 1500)
    local = run(runner, tmp_path, "local", corpus, "--jobs", "1")
    dask = run(runner, tmp_path, "dask", corpus, "--engine", "dask", "--scheduler", cluster.scheduler_address,
               "--memory-limit", "64KB")
    assert calls, "the edges should have gone to the cluster"
    assert verified, "the candidates should have been verified where the signatures are"
    assert dask == local


@pytest.mark.parametrize("shards", [[], ["--shard-size", "200KB"], ["--shard-size", "200KB", "--memory-limit", "64KB"]],
                         ids=["one-shard-per-file", "byte-ranges", "verified-on-the-workers"])
def test_an_index_gives_the_same_output_on_both_engines(runner, tmp_path, cluster, shards):
    """Rows of an index of earlier runs reach the cluster's grouping (and, past --memory-limit, its
    verification) from the driver, whole files or byte ranges."""
    from make_corpus import write

    corpus = write(tmp_path / "corpus.jsonl", 1000)
    lines = corpus.read_text(encoding="utf-8").splitlines(keepends=True)
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first.write_text("".join(lines[:500]), encoding="utf-8")
    second.write_text("".join(lines[500:]), encoding="utf-8")
    outputs = {}
    for engine in ("local", "dask"):
        options = ["--engine", "dask", "--scheduler", cluster.scheduler_address, *shards] if engine == "dask" else []
        index = tmp_path / f"index-{engine}"
        run(runner, tmp_path, f"{engine}-1", first, "--index", index, *options)
        outputs[engine] = run(runner, tmp_path, f"{engine}-2", second, "--index", index, *options)
    assert outputs["dask"] == outputs["local"]
    assert outputs["local"][2]["paragraphs"]["removed_by_reason"]["duplicate"] > 0


def test_context_on_a_remote_scheduler_gets_the_line_counts_through_the_cluster(runner, tmp_path, cluster,
                                                                                monkeypatch):
    """--context needs no shared disk: the line counts travel to the workers."""
    from dedupe.executors.dask_engine import DaskExecutor

    shipped = []
    original = DaskExecutor._ship
    monkeypatch.setattr(DaskExecutor, "_ship", lambda self, counts: shipped.append(counts) or original(self, counts))
    local = run(runner, tmp_path, "local", SEEDS, "--context", "--jobs", "2")
    from dedupe.templates import TemplateTable

    loads = []
    original_load = TemplateTable.load
    monkeypatch.setattr(TemplateTable, "load", classmethod(lambda cls, path: loads.append(path) or original_load(path)))
    dask = run(runner, tmp_path, "dask", SEEDS, "--context", "--engine", "dask", "--scheduler",
               cluster.scheduler_address)
    assert dask == local
    assert local[2]["removals_by_rule"].get("chrome/context", 0) > 0
    assert shipped, "the counts should have been sent through the cluster"
    assert not loads, "the driver holds the counts: it should not read them back from disk"


def test_peer_to_peer_shuffles_give_the_local_engines_output(runner, tmp_path, cluster, monkeypatch):
    """Past P2P_ROWS band rows the grouping shuffles go peer to peer; with the bar at 0 a
    small corpus takes that path, and the output must not change."""
    import dask
    from make_corpus import write

    from dedupe.executors import dask_engine

    corpus = write(tmp_path / "corpus.jsonl", 2_000)
    local = run(runner, tmp_path, "local", corpus, "--jobs", "1")
    methods = []
    group = dask_engine.DaskExecutor._group
    monkeypatch.setattr(dask_engine, "P2P_ROWS", 0)
    monkeypatch.setattr(dask_engine.DaskExecutor, "_group", lambda self, table, config: methods.append(
        dask.config.get("dataframe.shuffle.method")) or group(self, table, config))
    dask_out = run(runner, tmp_path, "dask", corpus, "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert methods == ["p2p"]
    assert dask_out == local
    assert local[2]["paragraphs"]["removed_by_reason"]["duplicate"] > 100


def test_identifiers_and_template_families_give_the_same_output_on_both_engines(runner, tmp_path, cluster):
    """The cluster's grouping applies the identifier rule as the local step does."""
    from .test_resolve import CHAIN_A, CHAIN_B, CHAIN_C, CVE, _changelog

    docs = [{"id": f"changelog-{n}", "text": _changelog(n)} for n in range(24)]
    docs += [{"id": "c", "text": f"{CHAIN_A}\n{CVE}"}, {"id": "d", "text": f"{CHAIN_B}\n{CVE.replace('0794', '0795')}"},
             {"id": "e", "text": f"{CHAIN_C}\n{CVE}"}]
    source = write_jsonl(tmp_path / "in.jsonl", docs)
    local = run(runner, tmp_path, "local", source, "--jobs", "1")
    dask = run(runner, tmp_path, "dask", source, "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert dask == local
    rules = local[2]["removals_by_rule"]
    assert rules["boilerplate/templated-docs"] == 72 and rules["duplicate/minhash"] == 1


def joined_parts(folder):
    return b"".join(path.read_bytes() for path in sorted(folder.glob("part-*.jsonl")))


def test_shards_read_by_the_workers_give_the_local_engines_output(runner, tmp_path, cluster):
    """Byte ranges of a big file, read by the tasks themselves, in single files and in parts."""
    from make_corpus import write

    corpus = write(tmp_path / "corpus.jsonl", 1500)
    local = run(runner, tmp_path, "local", corpus, SEEDS, "--jobs", "1")
    address = cluster.scheduler_address
    dask = run(runner, tmp_path, "dask", corpus, SEEDS, "--engine", "dask", "--scheduler", address,
               "--shard-size", "300KB")
    assert dask == local
    parts, removed = tmp_path / "parts", tmp_path / "removed"
    result = invoke(runner, "clean", corpus, SEEDS, "-o", parts, "--removed", removed, "--parts", "--shard-size",
                    "300KB", "--engine", "dask", "--scheduler", address, "-q")
    assert result.exit_code == 0, result.output
    assert len(list(parts.glob("part-*.jsonl"))) > 4
    assert (joined_parts(parts), joined_parts(removed)) == local[:2]
    assert local[2]["paragraphs"]["removed_by_reason"]["duplicate"] > 300


def test_strip_parts_on_the_cluster_are_the_local_single_file(runner, tmp_path, cluster):
    """``strip --parts --engine dask``: every part written by the task that read its shard."""
    from .test_shards import chrome_corpus

    corpus = chrome_corpus(tmp_path / "corpus.jsonl", 300)
    out, rec = tmp_path / "single.jsonl", tmp_path / "single.removed.jsonl"
    result = invoke(runner, "strip", corpus, SEEDS, "-o", out, "--removed", rec, "--skip-bad", "-q", "--jobs", "1")
    assert result.exit_code == 0, result.output
    for context in ("--context", "--no-context"):
        parts, removed = tmp_path / f"parts{context}", tmp_path / f"removed{context}"
        result = invoke(runner, "strip", corpus, SEEDS, "-o", parts, "--removed", removed, "--parts", "--shard-size",
                        "20KB", "--skip-bad", "--engine", "dask", "--scheduler", cluster.scheduler_address, "-q",
                        *(() if context == "--context" else (context,)))
        assert result.exit_code == 0, result.output
        assert len(list(parts.glob("part-*.jsonl"))) > 4
        if context == "--context":
            assert (joined_parts(parts), joined_parts(removed)) == (out.read_bytes(), rec.read_bytes())
        else:  # fewer removals than with context, the same on both engines
            local = tmp_path / "local-no-context"
            assert invoke(runner, "strip", corpus, SEEDS, "-o", local, "--parts", "--shard-size", "20KB",
                          "--skip-bad", "--no-context", "-q").exit_code == 0
            assert joined_parts(parts) == joined_parts(local) != out.read_bytes()


def test_the_driver_receives_document_text_only_to_write_a_single_file(runner, tmp_path, cluster, monkeypatch):
    from make_corpus import write

    from .test_shards import paragraphs_in, texts_received

    corpus = write(tmp_path / "corpus.jsonl", 600)
    texts = [json.loads(line)["text"] for line in corpus.read_text(encoding="utf-8").splitlines()]
    received = texts_received(monkeypatch)
    address = cluster.scheduler_address
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "parts", "--removed", tmp_path / "removed", "--parts",
                    "--shard-size", "200KB", "--engine", "dask", "--scheduler", address, "-q")
    assert result.exit_code == 0, result.output
    assert len(received) > 6
    assert paragraphs_in(received, texts) == 0
    # the same count, where the driver writes one output file: the documents come back to it
    received.clear()
    run(runner, tmp_path, "single", corpus, "--engine", "dask", "--scheduler", address, "--shard-size", "200KB")
    assert paragraphs_in(received, texts) > 100_000


@pytest.fixture
def deployed(tmp_path):
    """``dask scheduler`` and one ``dask worker``, separate processes on loopback, always stopped."""
    import os
    import shutil
    import signal
    import subprocess
    import time

    dask = shutil.which("dask") or str(Path(sys.executable).parent / "dask")
    if not Path(dask).exists():
        pytest.skip("no dask command")
    info = tmp_path / "scheduler.json"
    started = []
    try:
        started.append(subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(info)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        started.append(subprocess.Popen(
            [dask, "worker", "--scheduler-file", str(info), "--host", "127.0.0.1", "--nworkers", "1", "--nthreads",
             "1", "--memory-limit", "2GB", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))
        from distributed import Client

        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
        yield address
    finally:
        for process in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_a_scheduler_and_a_worker_started_as_separate_processes_clean_a_corpus(runner, tmp_path, deployed):
    from .conftest import ARTICLE, OTHER

    rows = [{"id": f"d{n}", "text": "\n".join((ARTICLE if n % 2 else OTHER) + [f"Line {n} of its own."])}
            for n in range(40)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", rows)
    local = run(runner, tmp_path, "local", corpus, "--jobs", "1")
    parts = tmp_path / "parts"
    result = invoke(runner, "clean", corpus, "-o", parts, "--removed", tmp_path / "removed", "--parts",
                    "--shard-size", "2KB", "--engine", "dask", "--scheduler", deployed, "-q")
    assert result.exit_code == 0, result.output
    assert joined_parts(parts) == local[0] and joined_parts(tmp_path / "removed") == local[1]
    assert local[2]["paragraphs"]["removed"] > 30
