"""Same output before and after a change: every output and record compared byte for byte.

    python benchmarks/identity.py --against REV [--corpora seeds,syndication,generated]
                                  [--documents 5000] [--jobs 1] [--only NAME,...]

A change that restructures code or speeds it up must not change what dedupe
writes. This script checks out ``REV`` (a commit, branch or tag) into a
temporary git worktree, runs the same ``dedupe`` commands with that tree and
with this one (``python -m dedupe`` with each tree first on ``PYTHONPATH``),
and compares, for every run, the cleaned documents, the removal record and
the stats file's counts (timings left out) byte for byte. It prints one line
per run and exits 1 when anything differs.

Corpora: ``seeds`` (the bundled demo), ``syndication`` (the shared
evaluation set, when ``../shared/eval`` is beside the checkout) and
``generated`` (``make_corpus.py``, ``--documents`` documents). Runs: default
``clean``; ``clean --context``; ``clean --keep longest``; ``strip``; ``strip
--context``; and an incremental pair (first half, then second half against
the index).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

EVAL = ROOT.parent / "shared" / "eval"
#: Runs: name -> (command, extra options). Every run writes -o, --removed and --stats.
RUNS = {
    "clean": ("clean", []),
    "clean-context": ("clean", ["--context"]),
    "clean-longest": ("clean", ["--keep", "longest"]),
    "strip": ("strip", []),
    "strip-context": ("strip", ["--context"]),
}


def corpora(names: list[str], work: Path, documents: int) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for name in names:
        if name == "seeds":
            found[name] = ROOT / "seeds"
        elif name == "syndication":
            path = EVAL / "syndication_dev" / "corpus.jsonl"
            if path.exists():
                found[name] = path
            else:
                print(f"syndication: {path} not found, skipped", file=sys.stderr)
        elif name == "generated":
            from make_corpus import write

            found[name] = write(work / f"generated-{documents}.jsonl", documents)
        else:
            raise SystemExit(f"unknown corpus {name!r}")
    return found


def run_dedupe(tree: Path, args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-m", "dedupe", *args], env=env, cwd=tree, capture_output=True, check=False,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: dedupe {' '.join(args)} failed:\n{proc.stderr}")


def outputs(tree: Path, corpus: Path, run: str, target: Path, jobs: int) -> list[Path]:
    """Run one named run with ``tree``'s code; returns the files to compare."""
    target.mkdir(parents=True, exist_ok=True)
    out, rec, stats = target / "out.jsonl", target / "removed.jsonl", target / "stats.json"
    common = ["--jobs", str(jobs), "-q"]
    if run == "incremental":
        files: list[Path] = []
        lines = _documents(corpus)
        half = len(lines) // 2
        index = target / "index"
        for part, chunk in (("a", lines[:half]), ("b", lines[half:])):
            source = target / f"part-{part}.jsonl"
            source.write_text("".join(chunk), encoding="utf-8")
            o, r = target / f"out-{part}.jsonl", target / f"removed-{part}.jsonl"
            run_dedupe(tree, ["clean", str(source), "-o", str(o), "--removed", str(r), "--index", str(index),
                              *common])
            files += [o, r]
        return files
    command, extra = RUNS[run]
    run_dedupe(tree, [command, str(corpus), "-o", str(out), "--removed", str(rec), "--stats", str(stats),
                      *common, *extra])
    counts = json.loads(stats.read_text())
    counts.pop("seconds", None)
    stats.write_text(json.dumps(counts, indent=1, sort_keys=True))
    return [out, rec, stats]


def _documents(corpus: Path) -> list[str]:
    if corpus.is_dir():
        lines = []
        for path in sorted(corpus.rglob("*")):
            if path.suffix == ".txt":
                lines.append(json.dumps({"id": path.relative_to(corpus).as_posix(),
                                         "text": path.read_text(encoding="utf-8")}) + "\n")
            elif path.suffix == ".jsonl":
                lines += [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                          if line.strip()]
        return lines
    return [line for line in corpus.read_text(encoding="utf-8").splitlines(keepends=True) if line.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--against", required=True, help="the commit to compare with (e.g. main, HEAD~3)")
    parser.add_argument("--corpora", default="seeds,syndication,generated")
    parser.add_argument("--documents", type=int, default=5000, help="size of the generated corpus")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--only", default="", help="runs to do (default: all): " + ",".join([*RUNS, "incremental"]))
    args = parser.parse_args()
    runs = [r for r in args.only.split(",") if r] or [*RUNS, "incremental"]

    work = Path(tempfile.mkdtemp(prefix="dedupe-identity-"))
    base = work / "base"
    try:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base), args.against],
                       check=True)
        different = 0
        for name, corpus in corpora(args.corpora.split(","), work, args.documents).items():
            for run in runs:
                mine = outputs(ROOT, corpus, run, work / "new" / name / run, args.jobs)
                theirs = outputs(base, corpus, run, work / "old" / name / run, args.jobs)
                changed = [m.name for m, t in zip(mine, theirs) if m.read_bytes() != t.read_bytes()]
                different += bool(changed)
                print(f"{name:<12} {run:<15} {'DIFFERENT: ' + ', '.join(changed) if changed else 'identical'}")
        return 1 if different else 0
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
