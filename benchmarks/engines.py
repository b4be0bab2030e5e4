"""The local engine and the Dask engine on the same corpus.

    python benchmarks/engines.py [--documents 20000] [--jobs 2] [--corpus FILE.jsonl]

Runs ``dedupe clean`` on a generated corpus (``make_corpus.py``) with the local
engine (``--jobs N`` worker processes) and with the Dask engine (a local cluster
of N workers started by the run), checks that their outputs are byte-identical,
and prints wall time, documents/s, the resolve step's seconds, and the peak
resident memory of the driver and of the largest worker process, sampled from
the process tree every 0.1 s (needs psutil, which the dask extra brings).

A third run, ``dask-1MB``, gives the Dask engine ``--memory-limit 1MB``: the
verified edges no longer fit the driver's budget, so the connected components
run on the cluster too (and the signatures spill to the driver's disk).

    python benchmarks/engines.py --deployed [--workers 1 2] [--corpus FILE.jsonl ...] [--documents 20000]

``--deployed`` measures a real deployment instead: ``dask scheduler`` and
``dask worker`` (one thread each, 4 GB memory limit) started as separate
processes on loopback, one run per worker count and corpus with ``--parts``
(the tasks read their shards and write their parts), and prints each run's
wall time and the CPU seconds of the driver, the scheduler and the workers
(the driver's from ``wait4``, the others as the growth of their process
trees' CPU times over the run), with the driver's share of the total. The
concatenated parts are checked against a local run's single file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))


def measure(cmd: list[str]) -> dict[str, float]:
    """Wall seconds, driver peak RSS and largest other process's peak RSS (MB)."""
    import psutil

    started = time.perf_counter()
    proc = subprocess.Popen(cmd)
    driver = psutil.Process(proc.pid)
    peaks: dict[int, float] = {}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            try:
                for p in [driver, *driver.children(recursive=True)]:
                    try:
                        rss = p.memory_info().rss / 2**20
                    except psutil.Error:
                        continue
                    peaks[p.pid] = max(peaks.get(p.pid, 0.0), rss)
            except psutil.Error:
                pass
            time.sleep(0.1)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    code = proc.wait()
    done.set()
    thread.join()
    if code:
        raise SystemExit(f"{' '.join(cmd)} failed with {code}")
    others = [v for k, v in peaks.items() if k != proc.pid]
    return {"wall": time.perf_counter() - started, "driver_mb": peaks.get(proc.pid, 0.0),
            "worker_mb": max(others, default=0.0), "processes": len(peaks)}


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its descendants, now."""
    import psutil

    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            try:
                times = proc.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
    except psutil.Error:
        pass
    return total


class Deployment:
    """``dask scheduler`` and ``dask worker`` (``workers`` processes, one thread each) on loopback."""

    def __init__(self, workers: int, folder: Path) -> None:
        import os
        import shutil

        dask = shutil.which("dask") or str(Path(sys.executable).parent / "dask")
        info = folder / f"scheduler-{workers}.json"
        nice = ["nice", "-n", "10"]
        self.processes: list[subprocess.Popen[bytes]] = []
        try:
            self.processes.append(subprocess.Popen(
                [*nice, dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                 "--scheduler-file", str(info)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True))
            self.processes.append(subprocess.Popen(
                [*nice, dask, "worker", "--scheduler-file", str(info), "--host", "127.0.0.1", "--nworkers",
                 str(workers), "--nthreads", "1", "--memory-limit", "4GB", "--no-dashboard"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ)))
            deadline = time.monotonic() + 60
            while not info.exists() and time.monotonic() < deadline:
                time.sleep(0.1)
            self.address = json.loads(info.read_text())["address"]
            from distributed import Client

            with Client(self.address, timeout="30s") as client:
                client.wait_for_workers(workers, timeout=120)
        except BaseException:
            self.stop()
            raise

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of the scheduler's and the workers' process trees."""
        return tree_cpu(self.processes[0].pid), tree_cpu(self.processes[1].pid)

    def stop(self) -> None:
        import os
        import signal

        for proc in reversed(self.processes):
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for proc in reversed(self.processes):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def run_deployed(cmd: list[str], deployment: Deployment) -> dict[str, float]:
    """Wall seconds and CPU seconds of the driver, the scheduler and the workers over one run."""
    import os

    scheduler, workers = deployment.cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(["nice", "-n", "10", *cmd])
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed with {proc.returncode}")
    scheduler_after, workers_after = deployment.cpu()
    driver = usage.ru_utime + usage.ru_stime
    return {"wall": wall, "driver": driver, "scheduler": scheduler_after - scheduler,
            "workers": workers_after - workers}


def deployed(args: argparse.Namespace, work: Path) -> None:
    corpora = list(args.corpus_files or [])
    if args.documents:
        from make_corpus import write

        corpora.append(write(work / f"generated-{args.documents // 1000}k.jsonl", args.documents))
    for corpus in corpora:
        reference = work / "local.jsonl"
        subprocess.run([sys.executable, "-m", "dedupe", "clean", str(corpus), "-o", str(reference), "-q",
                        "--jobs", "2"], check=True)
        with open(corpus, "rb") as lines:
            documents = sum(1 for _ in lines)
        print(f"corpus {corpus.name}: {documents:,} documents, {corpus.stat().st_size / 1e6:.1f} MB")
        walls = {}
        for workers in args.workers:
            deployment = Deployment(workers, work)
            try:
                parts = work / f"parts-{workers}"
                stats = work / f"stats-{workers}.json"
                cmd = [sys.executable, "-m", "dedupe", "clean", str(corpus), "-o", str(parts), "--parts",
                       "--removed", str(work / f"removed-{workers}"), "--stats", str(stats), "--engine", "dask",
                       "--scheduler", deployment.address, "-q", "--overwrite", *args.options]
                r = run_deployed(cmd, deployment)
                seconds = json.loads(stats.read_text())["seconds"]
            finally:
                deployment.stop()
            same = b"".join(p.read_bytes() for p in sorted(parts.glob("part-*.jsonl"))) == reference.read_bytes()
            total = r["driver"] + r["scheduler"] + r["workers"]
            walls[workers] = r["wall"]
            print(f"  {workers} worker(s): {r['wall']:6.1f} s wall  CPU s: driver {r['driver']:5.1f}  scheduler "
                  f"{r['scheduler']:5.1f}  workers {r['workers']:6.1f}  driver share {100 * r['driver'] / total:4.1f}%"
                  f"  parts == local output: {same}")
            print("    wall s by pass: " + "  ".join(f"{name} {seconds[name]:.1f}" for name in (
                "count lines", "pass1", "resolve", "pass2") if name in seconds))
        if 1 in walls and 2 in walls:
            print(f"  wall, 2 workers against 1: {walls[1] / walls[2]:.2f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--deployed", action="store_true", help="a scheduler and workers as separate processes")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--corpus-files", type=Path, nargs="*", help="with --deployed: corpora besides the generated")
    parser.add_argument("--options", nargs="*", default=[], help="with --deployed: more options for dedupe clean")
    args = parser.parse_args()
    if args.deployed:
        if max(args.workers) > 2:
            raise SystemExit("at most 2 workers: this machine has 2 cores")
        with tempfile.TemporaryDirectory(prefix="dedupe-engines-") as tmp:
            deployed(args, Path(tmp))
        return
    with tempfile.TemporaryDirectory(prefix="dedupe-engines-") as tmp:
        work = Path(tmp)
        corpus = args.corpus
        if corpus is None:
            from make_corpus import write

            corpus = write(work / "corpus.jsonl", args.documents)
        with open(corpus, "rb") as lines:
            documents = sum(1 for _ in lines)
        results = {}
        runs = {"local": ["--engine", "local"], "dask": ["--engine", "dask"],
                "dask-1MB": ["--engine", "dask", "--memory-limit", "1MB"]}
        for name, options in runs.items():
            cmd = [sys.executable, "-m", "dedupe", "clean", str(corpus), "-o", str(work / f"{name}.jsonl"),
                   "--removed", str(work / f"{name}.removed.jsonl"), "--stats", str(work / f"{name}.stats.json"),
                   "--jobs", str(args.jobs), "-q", *options]
            results[name] = measure(cmd)
            results[name]["resolve"] = json.loads((work / f"{name}.stats.json").read_text())["seconds"]["resolve"]
        same = all((work / f"local{s}").read_bytes() == (work / f"{name}{s}").read_bytes()
                   for name in runs for s in (".jsonl", ".removed.jsonl"))
        print(f"corpus: {documents:,} documents, {corpus.stat().st_size / 1e6:.1f} MB; --jobs {args.jobs}")
        for name, r in results.items():
            print(f"{name:<8} {r['wall']:7.1f} s wall  {documents / r['wall']:6.0f} docs/s  "
                  f"resolve {r['resolve']:5.1f} s  driver peak {r['driver_mb']:5.0f} MB  "
                  f"largest worker peak {r['worker_mb']:5.0f} MB  ({r['processes']} processes)")
        print(f"outputs and removal records byte-identical: {same}")


if __name__ == "__main__":
    main()
