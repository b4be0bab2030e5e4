"""Where the normalise stage spends its time, and the batch match keys beside the per-line ones.

    python benchmarks/normalise.py CORPUS.jsonl [CORPUS.jsonl ...]

For each corpus (a JSONL with a ``text`` field), CPU seconds (best of two) and
MB/s of the input's UTF-8 bytes for what the pipeline's normalise stage does
per document: repair (:func:`dedupe.normalize.repair_document`, and apart from
it the cheap check that lets a line skip ftfy), paragraph split, and match
keys, line by line (:func:`dedupe.normalize.match_key`) and a batch of the
pipeline's size at a time (:func:`dedupe.keys.match_keys`, the same keys). The
compiled kernels are loaded before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.fingerprint import load_kernels  # noqa: E402
from dedupe.keys import character_classes, match_keys  # noqa: E402
from dedupe.layout import segment, split_lines_keepends  # noqa: E402
from dedupe.normalize import match_key, needs_repair, repair_document  # noqa: E402
from dedupe.stages import BATCH_DOCS  # noqa: E402


def best(call: Callable[[], Any], repeats: int = 2) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeats):
        started = time.process_time()
        out = call()
        times.append(time.process_time() - started)
    return min(times), out


def measure(path: Path) -> None:
    with open(path, encoding="utf-8") as handle:
        texts = [json.loads(line)["text"] for line in handle]
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    lines = [line for text in texts for line in split_lines_keepends(text)]
    gate, flagged = best(lambda: sum(map(needs_repair, lines)))
    repair, repaired = best(lambda: [repair_document(t) for t in texts])
    split, pages = best(lambda: [segment(t) for t in repaired])
    per_line, keys = best(lambda: [[match_key(p) for p in page] for page in pages])

    def batched() -> list[str]:
        out = []
        for start in range(0, len(pages), BATCH_DOCS):
            out.extend(match_keys([p for page in pages[start : start + BATCH_DOCS] for p in page]))
        return out

    batch, batch_keys = best(batched)
    if batch_keys != [k for page in keys for k in page]:
        raise SystemExit("batch match keys differ from the per-line ones")
    print(f"\n## {path.name}: {len(texts):,} documents, {mb:.1f} MB, {len(lines):,} lines "
          f"({flagged:,} flagged for ftfy by the check)")
    rows = [("repair_document", repair), ("  of which the check per line", gate), ("segment", split),
            ("match keys, line by line", per_line), (f"match keys, {BATCH_DOCS} documents a batch", batch),
            ("normalise, keys line by line", repair + split + per_line),
            ("normalise, batch keys", repair + split + batch)]
    for name, seconds in rows:
        print(f"{name:<36}{seconds:7.2f} s cpu {mb / seconds:8.1f} MB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpora", nargs="+", type=Path)
    args = parser.parse_args()
    if load_kernels() is not None:
        character_classes()
    for path in args.corpora:
        measure(path)


if __name__ == "__main__":
    main()
