"""Worst-case time of the stripper's rules on adversarial lines.

    python benchmarks/adversarial.py

Builds lines designed to make backtracking regular expressions blow up
(long runs of the characters each pattern repeats, near-misses at the end,
nested separators) at every length up to the rule-length cap, times
``Catalogue.match`` on each, and prints the slowest. Also times ``strip`` on a
5 MB line and on 100,000 short lines, and with the context pass on 100,000
lines of repeating blocks (which it once peeled a few lines a round).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dedupe.config import MAX_RULE_CHARS, StripConfig
from dedupe.strip import load_catalogue, strip

UNITS = ["a", "a ", "by ", "| ", "» ", "(c) ", "© ", "1 ", "12:30 ", "cookie ", "share ", "posted by ",
         "monday, ", "october 12, 2022 ", "www.", "http://", "read more ", ". ", ", ", "- ", "■ ", "ж ", "ü"]
ENDINGS = ["", "!", "?", "x", " |", ":", "…", "\u200b"]


def main() -> None:
    catalogue = load_catalogue()
    worst = (0.0, "")
    lines = 0
    for unit in UNITS:
        for ending in ENDINGS:
            for length in (50, 100, 200, MAX_RULE_CHARS - 1):
                line = (unit * (length // len(unit) + 1))[: length - len(ending)] + ending
                started = time.perf_counter()
                catalogue.match(line)
                elapsed = time.perf_counter() - started
                lines += 1
                worst = max(worst, (elapsed, line[:40]))
    print(f"{lines} adversarial lines up to {MAX_RULE_CHARS} characters; slowest {worst[0] * 1e3:.3f} ms "
          f"({worst[1]!r}...)")
    started = time.perf_counter()
    strip(["x" * 5_000_000])
    print(f"strip on one 5 MB line: {time.perf_counter() - started:.3f} s")
    started = time.perf_counter()
    strip(["Home", "Share this:", "A line of ordinary words"] * 33_334)
    print(f"strip on 100,002 short lines: {time.perf_counter() - started:.3f} s")
    sentence = "The council voted on Tuesday to build new bike lanes along the whole of Mill Street, officials said."
    blocks = (["Home", "News", "Most read", "Storm cuts power to thousands"] + [sentence] * 6) * 10_000
    started = time.perf_counter()
    strip(blocks, StripConfig(context=True))
    print(f"strip --context on 100,000 lines of repeating blocks: {time.perf_counter() - started:.3f} s")


if __name__ == "__main__":
    main()
