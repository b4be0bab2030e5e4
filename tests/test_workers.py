"""Worker processes: how many start, that they never outlive the run, Ctrl-C, scripts without a guard.

The process tests run the real command in a subprocess and watch its children
through /proc (Linux only).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dedupe import Cleaner
from dedupe.executors import workers
from dedupe.executors.workers import available_cores, worker_count

from .conftest import ROOT, SEEDS

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="watches processes through /proc")

#: CPU seconds a worker has used once it is surely past its start (imports and
#: catalogue take about 0.6 s) and inside its first batch (about 4 s of work).
BUSY_CPU_SECONDS = 1.2


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _dedupe(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "dedupe", *map(str, args)], env=_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)  # type: ignore[call-overload]


def _stat(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _workers_of(parent: int) -> list[int]:
    """Pool workers (spawned interpreters) whose parent is ``parent``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(int(name))
            if stat is not None and int(stat[1]) == parent:
                try:
                    cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline:
                    found.append(int(name))
    return found


def _alive(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z"


def _cpu_seconds(pid: int) -> float:
    stat = _stat(pid)
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK") if stat else 0.0


def _wait_for_workers(proc: subprocess.Popen[bytes], count: int, cpu: float = 0.0,
                      timeout: float = 90.0) -> list[int]:
    """Wait until ``proc`` has ``count`` workers that each used ``cpu`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1].decode()
        found = _workers_of(proc.pid)
        if len(found) >= count and all(_cpu_seconds(pid) >= cpu for pid in found):
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {count} busy workers after {timeout} s")


def _gone_within(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """400 documents of 45 KB: two batches big enough to start workers and keep them busy for seconds."""
    rng = random.Random(7)
    words = [f"w{n}" for n in range(3000)]
    paragraphs = [" ".join(rng.choice(words) for _ in range(70)) for _ in range(300)]
    path = tmp_path_factory.mktemp("heavy") / "heavy.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for doc in range(400):
            text = "\n".join(f"{doc}.{n} {paragraphs[(doc * 31 + n) % 300]}" for n in range(100))
            handle.write(json.dumps({"id": f"d{doc}", "text": text}) + "\n")
    return path


def _stop(proc: subprocess.Popen[bytes], pids: list[int] = ()) -> None:  # type: ignore[assignment]
    if proc.poll() is None:
        proc.kill()
    proc.communicate()
    for pid in pids:
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)


# -- how many ------------------------------------------------------------------


def test_worker_count_is_capped_at_the_cores():
    assert worker_count(1000) == available_cores()
    assert worker_count(0) == available_cores()
    assert worker_count(1) == 1
    with pytest.raises(ValueError):
        Cleaner(jobs=-1)


@linux_only
@pytest.mark.parametrize("jobs", ["1000", "0"])
def test_a_small_input_starts_no_worker_whatever_jobs_asks(tmp_path, jobs):
    proc = _dedupe("clean", SEEDS, "-o", tmp_path / "out.jsonl", "-q", "--jobs", jobs)
    most = 0
    while proc.poll() is None:
        found = _workers_of(proc.pid)
        most = max(most, len(found))
        if most > 0:  # stop a build without the cap before it starts a thousand processes
            _stop(proc, found)
            pytest.fail(f"--jobs {jobs} started worker processes for 23 documents")
        time.sleep(0.01)
    _, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    assert (tmp_path / "out.jsonl").stat().st_size > 0


def test_a_pool_never_holds_more_workers_than_cores_or_batches_and_ends_with_pass_one(monkeypatch):
    monkeypatch.setattr(workers, "MIN_POOL_CHARS", 0)  # three batches of short documents start a pool
    docs = [f"Report {n} on the storm that reached the coast on day {n}, with its damage." for n in range(600)]
    children: dict[str, set[int]] = {}

    def count(event):
        children.setdefault(event.stage, set()).add(len(multiprocessing.active_children()))

    # more than the cores, but not so many that a build without the cap would swamp the machine
    list(Cleaner(jobs=available_cores() + 2, progress=count).run(docs))
    assert max(children["fingerprint"]) == min(available_cores(), 3)
    # pass 2 reads what pass 1 spilled: resolve and assembly get the workers' memory back
    assert children["resolve"] == children["assemble"] == {0}
    assert multiprocessing.active_children() == []


def test_output_and_removals_are_the_same_in_process_and_with_workers(monkeypatch, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from make_corpus import write  # reposts, site chrome, mojibake

    corpus = write(tmp_path / "corpus.jsonl", 800)
    docs = [json.loads(line) for line in corpus.read_text(encoding="utf-8").splitlines()]

    def run(jobs: int) -> list[tuple[str | None, list[dict]]]:
        return [(r.text, [x.to_dict() for x in r.removals]) for r in Cleaner(jobs=jobs).run(docs)]

    alone = run(1)
    monkeypatch.setattr(workers, "MIN_POOL_CHARS", 0)  # four batches: workers start
    assert run(2) == alone
    assert any(removals for _, removals in alone)


# -- they never outlive the run ------------------------------------------------------


@linux_only
def test_workers_exit_when_the_parent_is_killed(heavy, tmp_path):
    proc = _dedupe("clean", heavy, "-o", tmp_path / "out.jsonl", "-q", "-j", "2")
    pids: list[int] = []
    try:
        pids = _wait_for_workers(proc, min(2, available_cores()), cpu=BUSY_CPU_SECONDS)
        proc.kill()  # as the out-of-memory killer does: no handler runs
        assert _gone_within(pids, 3.0), "workers outlived their parent"
    finally:
        _stop(proc, pids)


@linux_only
def test_a_killed_worker_ends_the_run_with_one_line_instead_of_a_hang(heavy, tmp_path):
    proc = _dedupe("clean", heavy, "-o", tmp_path / "out.jsonl", "-q", "-j", "2")
    pids: list[int] = []
    try:
        pids = _wait_for_workers(proc, min(2, available_cores()), cpu=BUSY_CPU_SECONDS)
        os.kill(pids[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert err.decode().splitlines() == [
            ("dedupe: error: a worker process was killed by SIGKILL (most often the out-of-memory killer: "
             "try fewer --jobs)")]
        assert not (tmp_path / "out.jsonl").exists()
        assert _gone_within(pids, 3.0)
    finally:
        _stop(proc, pids)


@linux_only
def test_ctrl_c_to_the_process_group_prints_one_line_and_no_worker_traceback(heavy, tmp_path):
    proc = _dedupe("clean", heavy, "-o", tmp_path / "out.jsonl", "-j", "2", start_new_session=True)
    pids: list[int] = []
    try:
        # while the workers are still starting: the moment their tracebacks used to show
        pids = _wait_for_workers(proc, min(2, available_cores()))
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130
        assert err.decode().splitlines() == ["dedupe: error: interrupted; no output was written"]
        assert _gone_within(pids, 3.0)
    finally:
        _stop(proc, pids)


# -- scripts without a guard ------------------------------------------------------------


def _readme_library_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's library section has no python block"
    return match.group(1)


def _run_script(path: Path, source: str) -> subprocess.CompletedProcess[str]:
    path.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], check=False, cwd=path.parent, env=_env(),
                          capture_output=True, text=True, timeout=120)


def test_the_readme_library_example_runs_as_a_plain_script(tmp_path):
    source = _readme_library_example()
    assert "__main__" not in source
    done = _run_script(tmp_path / "example.py", source)
    assert done.returncode == 0, done.stderr
    assert "'documents': {'in': 2" in done.stdout


def test_a_script_without_a_main_guard_starts_workers_that_do_not_rerun_it(tmp_path):
    source = (
        "import multiprocessing\n"
        "import dedupe.executors.workers\n"
        "from dedupe import Cleaner\n"
        "dedupe.executors.workers.MIN_POOL_CHARS = 0  # three small batches start a pool\n"
        "print('script ran')\n"
        "docs = [f'Report {n} on the storm that reached the coast on day {n}.' for n in range(600)]\n"
        "seen = set()\n"
        "cleaner = Cleaner(jobs=2, progress=lambda event: seen.add(len(multiprocessing.active_children())))\n"
        "list(cleaner.run(docs))\n"
        "workers = max(seen)\n"
        "print('workers', workers, 'documents', cleaner.stats.documents_in)\n"
    )
    done = _run_script(tmp_path / "unguarded.py", source)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["script ran", f"workers {min(2, available_cores())} documents 600"]
