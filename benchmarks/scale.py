"""Benchmark runs on corpus size: dedupe against the floor and against its peers.

    python benchmarks/scale.py [--sizes 1000,10000,100000] [--peer-sample 2000] [--plot] [--no-clean]
                               [--jobs 1,2] [--compare "--no-context"]

For each size a deterministic corpus is generated (``make_corpus.py``) and, in
the same process run and on the same data, measured:

1. **floor**: read the JSONL, split each text on newlines, one xxh3_64 per
   paragraph — the least any paragraph-level tool must do;
2. **fingerprint**: dedupe's fingerprint stage alone (match key, character
   5-gram shingles, 128-permutation MinHash, band keys) over every paragraph,
   with the match keys computed line by line and a batch at a time;
3. **fingerprints from keys, on the same shingles**: dedupe's ``Fingerprinter``
   (shingles, signatures and exact hashes, as the pipeline asks for them)
   for each signature scheme, in numpy and in the compiled kernels (loaded
   before the clock starts; the load and the first-run compilation are
   measured apart, in child processes with an empty and a filled cache),
   rensa's batch paths (when rensa is installed: ``pip install
   'dedupe-corpus[bench]'``) given the shingles as byte strings
   (``digest_matrix_from_token_sets``) and as the very shingle hashes dedupe
   computes (``digest_matrix_from_flat_token_hashes``, and its one-permutation
   ``_rho`` variant), over the minhashed paragraphs of the first 20,000
   documents in batches of 8,192; datasketch ``MinHash.bulk`` and per-shingle
   ``update`` on a sample. Per-paragraph costs are scaled to the whole corpus;
4. **dedupe clean end to end**, ``--jobs 1`` and ``--jobs 2`` (``--jobs``), as a
   child process, with the peak memory of its largest process (main or
   worker); with ``--compare OPTIONS`` also with those options, right after;
5. **per stage**: ``dedupe clean --jobs 1`` once more, in a fresh process that
   wraps each stage's function in a CPU clock (read, count lines, normalise,
   strip, fingerprint, candidates, resolve, assemble, write, and the rest), so
   the next bottleneck is visible; each stage in CPU seconds and × the floor.

CPU seconds (process time) are reported for in-process stages, wall seconds and
peak RSS for the end-to-end runs. Results go to ``benchmarks/out/scale.json``;
``--plot`` draws ``benchmarks/scale.png`` (needs matplotlib).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xxhash

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_corpus import write  # noqa: E402

from dedupe.config import DedupConfig  # noqa: E402
from dedupe.fingerprint import SCHEMES, Fingerprinter, char_shingle_hash32, load_kernels, shingles  # noqa: E402
from dedupe.keys import match_keys  # noqa: E402
from dedupe.normalize import match_key  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
#: Paragraphs per fingerprinting call, as the pipeline's batches give them.
PEER_BATCH = 8192


def cpu() -> float:
    return time.process_time()


def floor(path: Path) -> tuple[float, int, int]:
    started = cpu()
    paragraphs = 0
    size = 0
    with open(path, "rb") as handle:
        for line in handle:
            size += len(line)
            for paragraph in json.loads(line)["text"].split("\n"):
                xxhash.xxh3_64_intdigest(paragraph.encode("utf-8"))
                paragraphs += 1
    return cpu() - started, paragraphs, size


def load_keys(path: Path, documents: int = 20_000) -> list[str]:
    """Match keys of the first ``documents`` documents: the peers' sample is drawn from them
    (keys of a million documents would take gigabytes for a sample of a thousand)."""
    keys = []
    with open(path, "rb") as handle:
        for number, line in enumerate(handle):
            if number == documents:
                break
            keys.extend(k for k in (match_key(p) for p in json.loads(line)["text"].split("\n")) if k)
    return keys


def fingerprint_stage(path: Path, batch_keys: bool = False) -> tuple[float, int]:
    """Match keys, shingles, signatures and band keys for every paragraph, in batches.

    The match keys are computed line by line, or with ``batch_keys`` a batch
    of lines at a time (:func:`dedupe.keys.match_keys`, the same keys).
    """
    d = DedupConfig()
    fp = Fingerprinter(num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
                       threshold=d.threshold, shingle=d.shingle)
    started = cpu()
    batch: list[str] = []
    minhashed = 0
    with open(path, "rb") as handle:
        for line in handle:
            paragraphs = json.loads(line)["text"].split("\n")
            batch.extend(paragraphs if batch_keys else (k for k in map(match_key, paragraphs) if k))
            if len(batch) >= PEER_BATCH:
                keys = [k for k in match_keys(batch) if k] if batch_keys else batch
                minhashed += int(fp.fingerprint(keys).minhashed.sum())
                batch = []
    if batch:
        keys = [k for k in match_keys(batch) if k] if batch_keys else batch
        minhashed += int(fp.fingerprint(keys).minhashed.sum())
    return cpu() - started, minhashed


def peers(keys: list[str], sample: int) -> dict[str, float]:
    """CPU seconds per minhashed paragraph for dedupe's schemes and each peer, on the same shingles."""
    d = DedupConfig()
    eligible = [k for k in keys if d.min_minhash_length <= len(k) <= d.max_minhash_chars]
    batches = [eligible[i : i + PEER_BATCH] for i in range(0, len(eligible), PEER_BATCH)]
    out: dict[str, float] = {}
    for scheme in SCHEMES:
        for compiled in (True, False):
            fp = Fingerprinter(num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
                               threshold=d.threshold, shingle=d.shingle, scheme=scheme, compiled=compiled)
            if compiled and load_kernels() is None:
                continue
            started = cpu()
            for batch in batches:
                fp.fingerprint(batch, with_bands=False)  # as the pipeline asks: band keys come from the store
            out[f"dedupe {scheme}, {'compiled' if compiled else 'numpy'}"] = (cpu() - started) / len(eligible)
    try:
        from rensa import RMinHash
    except ImportError:
        RMinHash = None
    if RMinHash is not None:
        fp = Fingerprinter(ngram=d.ngram, min_length=d.min_minhash_length, compiled=False)
        spent = {"rensa, shingles as bytes": 0.0, "rensa, dedupe's shingle hashes": 0.0,
                 "rensa rho, dedupe's shingle hashes": 0.0}
        for batch in batches:
            sets = [shingles(k, d.ngram, "char") for k in batch]
            hashes, counts = fp._char_shingles(batch)
            flat = hashes.astype(np.uint64)
            offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.uint64)
            for name, call, arguments in (
                ("rensa, shingles as bytes", RMinHash.digest_matrix_from_token_sets, (sets,)),
                ("rensa, dedupe's shingle hashes", RMinHash.digest_matrix_from_flat_token_hashes, (flat, offsets)),
                ("rensa rho, dedupe's shingle hashes", RMinHash.digest_matrix_from_flat_token_hashes_rho,
                 (flat, offsets)),
            ):
                started = cpu()
                call(*arguments, d.num_perm, d.seed)
                spent[name] += cpu() - started
        out.update({name: seconds / len(eligible) for name, seconds in spent.items()})
    from datasketch import MinHash

    rng = np.random.default_rng(0)
    chosen = [eligible[i] for i in sorted(rng.choice(len(eligible), min(sample, len(eligible)), replace=False))]
    sets = [shingles(k, d.ngram, "char") for k in chosen]
    started = cpu()
    MinHash.bulk(sets, num_perm=d.num_perm, seed=d.seed, hashfunc=char_shingle_hash32)
    out["datasketch MinHash.bulk"] = (cpu() - started) / len(sets)
    few = sets[: max(1, len(sets) // 10)]
    started = cpu()
    for s in few:
        m = MinHash(num_perm=d.num_perm, seed=d.seed, hashfunc=char_shingle_hash32)
        for shingle in s:
            m.update(shingle)
    out["datasketch update per shingle"] = (cpu() - started) / len(few)
    return out


def kernel_start() -> dict[str, float]:
    """CPU seconds a process spends to have the kernels: compiling them (empty cache), loading them."""

    script = "from dedupe.fingerprint import load_kernels\nassert load_kernels() is not None\n"
    out = {}
    with tempfile.TemporaryDirectory(prefix="dedupe-numba-") as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(ROOT)}
        for name in ("compile (first run)", "load (cached)"):
            baseline = _child_cpu([sys.executable, "-c", "import dedupe.fingerprint"], env)
            out[name] = _child_cpu([sys.executable, "-c", script], env) - baseline
    return out


def _child_cpu(command: list[str], env: dict[str, str]) -> float:
    report = subprocess.run([sys.executable, "-c", _MEASURE, *command], check=True, capture_output=True,
                            text=True, env=env).stdout
    return float(json.loads(report.strip().splitlines()[-1])["cpu"])


# Runs one command and reports its descendants' CPU time and the peak RSS of
# the largest of them: ru_maxrss of RUSAGE_CHILDREN is a running maximum, so
# each measured run needs a fresh parent.
_MEASURE = (
    "import json, resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True)\n"
    "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'cpu': u.ru_utime + u.ru_stime, 'peak_mb': u.ru_maxrss / 1024}))\n"
)


def clean_run(path: Path, jobs: int, options: list[str] | None = None) -> dict[str, float]:
    out = OUT / f"clean-{path.stem}-{jobs}.jsonl"
    started = time.perf_counter()
    report = subprocess.run(
        [sys.executable, "-c", _MEASURE, sys.executable, "-m", "dedupe", "clean", str(path), "-o", str(out), "-q",
         "--jobs", str(jobs), *(options or [])], check=True, capture_output=True, text=True).stdout
    out.unlink()
    return {"wall": time.perf_counter() - started, **json.loads(report.strip().splitlines()[-1])}


#: The stages of the per-stage table, in the order a run meets them.
STAGES = ("read", "count lines", "normalise", "strip", "fingerprint", "candidates", "resolve", "assemble", "write")


def stage_seconds(path: Path) -> dict[str, float]:
    """CPU seconds of each stage of ``dedupe clean --jobs 1`` on ``path``, in a fresh process."""
    report = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--stages-of", str(path)], check=True,
                            capture_output=True, text=True).stdout
    return json.loads(report.strip().splitlines()[-1])


def _time_stages(path: Path) -> dict[str, float]:
    """Run ``dedupe clean --jobs 1`` here with each stage's function wrapped in a CPU clock.

    Every wrapper adds the process time spent inside the call (inside each
    step, for the reader's generator) to its stage; a stage's own time leaves
    out the stages it calls (normalise is the per-document preparation
    without the stripper, resolve the resolver without its candidate edges).
    "other" is the rest of the run: batching, bookkeeping, the removal
    record's entries.
    """
    import importlib

    from dedupe.cli import app

    # the modules themselves: dedupe.prepare and dedupe.resolve are the package's functions of those names
    readers, pipeline, stages, prepare, candidates, outputs = (importlib.import_module(f"dedupe.{name}") for name in (
        "readers", "pipeline", "stages", "prepare", "resolve.candidates", "outputs"))

    spent = dict.fromkeys(STAGES, 0.0)
    inside = dict.fromkeys(STAGES, 0.0)  # time of nested stages, to take out of their callers

    def timed(stage: str, function, within: str | None = None):
        def wrapper(*args, **kwargs):
            started = cpu()
            try:
                return function(*args, **kwargs)
            finally:
                took = cpu() - started
                spent[stage] += took
                if within is not None:
                    inside[within] += took
        return wrapper

    def timed_steps(stage: str, function):
        def wrapper(*args, **kwargs):
            steps = function(*args, **kwargs)
            while True:
                started = cpu()
                try:
                    item = next(steps)
                except StopIteration:
                    spent[stage] += cpu() - started
                    return
                spent[stage] += cpu() - started
                yield item
        return wrapper

    readers.FileSource.records = timed_steps("read", readers.FileSource.records)
    pipeline.count_lines = timed("count lines", pipeline.count_lines)
    stages.prepare_many = timed("normalise", stages.prepare_many)
    prepare.strip_pages = timed("strip", prepare.strip_pages, within="normalise")
    stages.fingerprint_documents = timed("fingerprint", stages.fingerprint_documents)
    candidates.candidate_edges = timed("candidates", candidates.candidate_edges, within="resolve")
    pipeline.resolve = timed("resolve", pipeline.resolve)
    pipeline.assemble_batch = timed("assemble", pipeline.assemble_batch)
    outputs.RunOutputs.write = timed("write", outputs.RunOutputs.write)
    outputs.RunOutputs.commit = timed("write", outputs.RunOutputs.commit)
    with tempfile.TemporaryDirectory(prefix="dedupe-stages-") as folder:
        started = cpu()
        app(["clean", str(path), "-o", str(Path(folder) / "out.jsonl"), "--removed", str(Path(folder) / "rec.jsonl"),
             "--jobs", "1", "-q"], standalone_mode=False)
        total = cpu() - started
    own = {stage: spent[stage] - inside[stage] for stage in STAGES}
    return {**own, "other": total - sum(own.values()), "total": total}


def print_stages(stages: dict[str, float], floor_s: float) -> None:
    print(f"per stage, dedupe clean --jobs 1 in one process (floor {floor_s:.2f} s cpu):")
    for stage in (*STAGES, "other", "total"):
        print(f"  {stage:<12} {stages[stage]:8.2f} s cpu  {stages[stage] / floor_s:6.1f}x floor")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--stages-of":  # the child process of stage_seconds()
        print(json.dumps(_time_stages(Path(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--peer-sample", type=int, default=2000)
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--keep-corpus", action="store_true", help="keep the generated corpora in benchmarks/out")
    parser.add_argument("--no-clean", action="store_true", help="measure the stages alone, not dedupe clean")
    parser.add_argument("--jobs", default="1,2", help="worker counts of the end-to-end runs")
    parser.add_argument("--compare", default="", metavar="OPTIONS",
                        help="also time `dedupe clean` with these options (e.g. --no-context), interleaved")
    args = parser.parse_args()
    worker_counts = [int(j) for j in args.jobs.split(",")]
    other = args.compare.split()
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}")
    start = kernel_start() if load_kernels() is not None else {}
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        path = OUT / f"corpus-{size}.jsonl"
        if not path.exists():  # same size and seed give the same bytes: reuse a kept one
            write(path, size)
        floor_s, paragraphs, nbytes = floor(path)
        fp_s, minhashed = fingerprint_stage(path)
        fp_batch_s, _ = fingerprint_stage(path, batch_keys=True)
        peer = peers(load_keys(path), args.peer_sample)
        runs = {} if args.no_clean else {jobs: clean_run(path, jobs) for jobs in worker_counts}
        stages = {} if args.no_clean else stage_seconds(path)
        compared = {jobs: clean_run(path, jobs, other) for jobs in worker_counts} if other and not args.no_clean else {}
        mb = nbytes / 1e6
        row = {"documents": size, "paragraphs": paragraphs, "minhashed": minhashed, "mb": mb,
               "floor_cpu": floor_s, "fingerprint_cpu": fp_s, "fingerprint_batch_keys_cpu": fp_batch_s,
               "peers_per_paragraph": peer,
               "kernel_start_cpu": start, "clean": {str(k): v for k, v in runs.items()}}
        results.append(row)
        print(f"\n== {size:,} documents, {paragraphs:,} paragraphs ({minhashed:,} minhashed), {mb:.1f} MB")
        print(f"floor (read, split, xxh3 per paragraph)  {floor_s:8.2f} s cpu   {mb / floor_s:7.1f} MB/s")
        print(f"dedupe fingerprint stage                 {fp_s:8.2f} s cpu   {fp_s / floor_s:6.1f}x floor")
        print(f"  with batch match keys                  {fp_batch_s:8.2f} s cpu   {fp_batch_s / floor_s:6.1f}x floor")
        print("fingerprints from keys, same shingles (est. for the whole corpus from the first 20,000 documents):")
        ours = peer.get("dedupe datasketch, compiled", peer["dedupe datasketch, numpy"])
        for name, per in peer.items():
            whole = per * minhashed
            versus = "" if name == "dedupe datasketch, compiled" else f"{per / ours:6.2f}x dedupe datasketch, compiled"
            print(f"  {name:<38} {whole:8.2f} s cpu  {whole / floor_s:6.1f}x floor  {versus}")
        for name, seconds in start.items():
            print(f"  kernels, {name:<29} {seconds:8.2f} s cpu per process")
        for label, measured_runs in (("", runs), (" " + args.compare, compared)):
            for jobs, run in measured_runs.items():
                print(f"{f'dedupe clean --jobs {jobs}{label}':<41}{run['wall']:8.2f} s wall  "
                      f"{run['cpu']:8.2f} s cpu  {run['cpu'] / floor_s:6.1f}x floor (cpu)  "
                      f"{size / run['wall']:8.0f} docs/s  {mb / run['wall']:6.2f} MB/s  peak {run['peak_mb']:.0f} MB")
        if stages:
            print_stages(stages, floor_s)
            row["stages_cpu"] = stages
        if compared:
            row["compared"] = {"options": args.compare, **{str(k): v for k, v in compared.items()}}
        if not args.keep_corpus:
            path.unlink()
    # runs of other sizes stay, so one size can be re-measured alone (1M takes most of an hour)
    saved = OUT / "scale.json"
    earlier = json.loads(saved.read_text(encoding="utf-8")) if saved.exists() else []
    measured = {r["documents"] for r in results}
    merged = sorted([r for r in earlier if r["documents"] not in measured] + results, key=lambda r: r["documents"])
    saved.write_text(json.dumps(merged, indent=1), encoding="utf-8")
    if args.plot:
        plot(merged, ROOT / "benchmarks" / "scale.png")


def plot(results: list[dict], target: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["documents"] for r in results]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for jobs in ("1", "2"):
        left.plot(sizes, [r["clean"][jobs]["wall"] for r in results], marker="o", label=f"clean --jobs {jobs}")
        right.plot(sizes, [r["clean"][jobs]["peak_mb"] for r in results], marker="o", label=f"--jobs {jobs}")
    left.plot(sizes, [r["floor_cpu"] for r in results], marker="o", label="floor")
    for axis, label in ((left, "seconds"), (right, "peak memory, MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("documents")
        axis.set_ylabel(label)
        axis.legend()
        axis.grid(True, which="both", alpha=0.3)
    fig.suptitle("dedupe clean on generated corpora")
    fig.tight_layout()
    fig.savefig(target, dpi=110)


if __name__ == "__main__":
    main()
