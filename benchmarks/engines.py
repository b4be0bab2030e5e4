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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--corpus", type=Path)
    args = parser.parse_args()
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
