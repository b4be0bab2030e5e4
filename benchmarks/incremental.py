"""Incremental cleaning against an index versus one run over everything.

    python benchmarks/incremental.py [--corpus FILE.jsonl] [--parts 2] [--jobs 1]

Splits a corpus (by default ``../shared/eval/syndication_dev/corpus.jsonl``
when present, else a generated one) into consecutive parts, cleans them one
after another with ``dedupe clean --index``, and compares with a single
``dedupe clean`` of the whole:

* removals: the share of the whole run's removals (document, paragraph,
  reason) that the incremental runs also made, and the other way round, with
  the differences counted by reason and rule;
* documents and paragraphs kept, wall time, index size;
* on the syndication set, the scorer's figures for both outputs.

Differences are expected where a part lacks evidence the whole has: a site
template seen on two pages of the first part is not yet a template, and the
first part keeps text whose better copy only arrives later.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT.parent / "shared" / "eval"
sys.path.insert(0, str(ROOT / "benchmarks"))


def dedupe(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dedupe", *args], check=True)
    return time.perf_counter() - started


def removals(path: Path) -> Counter:
    out: Counter = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            r = json.loads(line)
            out[(r["doc_id"], r["paragraph"], r["reason"], r["rule"])] += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--parts", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dedupe-incremental-"))
    try:
        corpus = args.corpus
        syndication = corpus is None and (EVAL / "syndication_dev" / "corpus.jsonl").exists()
        if corpus is None:
            if syndication:
                corpus = EVAL / "syndication_dev" / "corpus.jsonl"
            else:
                from make_corpus import write

                corpus = write(work / "generated.jsonl", 5000)
        lines = corpus.read_bytes().splitlines(keepends=True)
        size = -(-len(lines) // args.parts)
        parts = []
        for number in range(args.parts):
            part = work / f"part{number}.jsonl"
            part.write_bytes(b"".join(lines[number * size : (number + 1) * size]))
            parts.append(part)
        jobs = ["--jobs", str(args.jobs), "-q"]
        whole_s = dedupe("clean", str(corpus), "-o", str(work / "whole.jsonl"), "--removed", str(work / "whole.rem"),
                         *jobs)
        part_s = []
        for number, part in enumerate(parts):
            part_s.append(dedupe("clean", str(part), "-o", str(work / f"inc{number}.jsonl"),
                                 "--removed", str(work / f"inc{number}.rem"), "--index", str(work / "index"), *jobs))
        inc_out = work / "incremental.jsonl"
        with open(inc_out, "wb") as out:
            for number in range(args.parts):
                out.write((work / f"inc{number}.jsonl").read_bytes())
        whole = removals(work / "whole.rem")
        inc: Counter = Counter()
        for number in range(args.parts):
            inc += removals(work / f"inc{number}.rem")
        both = sum((whole & inc).values())
        print(f"corpus {corpus.name}: {len(lines)} documents in {args.parts} parts")
        print(f"removals: whole {sum(whole.values())}, incremental {sum(inc.values())}, in both {both}")
        print(f"  incremental made {both / max(sum(whole.values()), 1):.4f} of the whole run's removals; "
              f"{both / max(sum(inc.values()), 1):.4f} of its own are also the whole run's")
        only_whole = Counter((k[2], k[3]) for k in (whole - inc).elements())
        only_inc = Counter((k[2], k[3]) for k in (inc - whole).elements())
        print("  only in the whole run:      ", dict(only_whole.most_common(6)))
        print("  only in the incremental run:", dict(only_inc.most_common(6)))
        with open(work / "whole.jsonl", encoding="utf-8") as lines:
            kept_whole = sum(1 for _ in lines)
        with open(inc_out, encoding="utf-8") as lines:
            kept_inc = sum(1 for _ in lines)
        print(f"documents kept: whole {kept_whole}, incremental {kept_inc}")
        index_mb = sum(p.stat().st_size for p in (work / "index").iterdir()) / 1e6
        print(f"wall: whole {whole_s:.1f} s, parts {' + '.join(f'{s:.1f}' for s in part_s)} s; index {index_mb:.1f} MB")
        if syndication:
            gold = EVAL / "syndication_dev" / "gold.jsonl"
            for name, pred in (("whole", work / "whole.jsonl"), ("incremental", inc_out)):
                out = subprocess.run([sys.executable, str(EVAL / "syndicate_score.py"), str(gold), str(pred), "--json"],
                                     check=True, capture_output=True, text=True).stdout
                s = json.loads(out)
                print(f"{name:<12} " + "  ".join(f"{k} {s[k]:.4f}" for k in (
                    "headline", "retention", "chrome_residue", "duplicate_residue", "mojibake_repaired")))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
