"""dedupe on real text nobody here wrote, with every promise of the README checked.

    python benchmarks/realtext.py [--max-mb 40] [--jobs 2] [--keep-files] [--corpus FILE] [--strip-only]
                                  [-- EXTRA clean OPTIONS]

The evaluation sets were built for this project; a corpus nobody on it wrote
shows what they can hide. This script gathers the text a Debian-family system
keeps for its installed packages (``/usr/share/doc/*/copyright``, changelogs,
NEWS and READMEs, ``/usr/share/common-licenses``) and the READMEs, metadata and
licences of the Python packages installed beside dedupe, runs ``dedupe clean``
on it as a user would (``python -m dedupe``), and counts the violations of
each invariant:

* **accounting**: documents in = documents kept + documents dropped;
* **layout**: a kept document is its repaired input with the recorded lines
  taken out (non-blank lines byte for byte, in order); a document with no
  removal and nothing to repair is byte-identical;
* **direct similarity**: every ``duplicate`` is itself similar to the kept
  paragraph it names, measured here independently of the resolver (exact
  Jaccard of character 5-gram sets of the match keys for ``minhash``, equal
  keys for ``exact``, a shared sentence for ``sentences``, one word apart for
  ``typo``);
* **kept copy present**: the paragraph a record names as kept is in the output;
* **idempotence**: cleaning the output again removes nothing.

None of this text is page chrome, so every line the stripper removes is a
loss. It prints, for ``dedupe clean`` and for ``dedupe strip`` with and without
``--no-context``, the lines removed as chrome, how many documents lose more
than 10% and more than half of their lines, and the worst documents: an
average hides a document the stripper empties. ``--strip-only`` runs just the
two ``dedupe strip`` runs and prints that; ``--corpus FILE`` takes a JSONL of
such documents (``id`` and ``text``) instead of gathering them.

It also prints the share of removals per reason and rule. Files are sampled
deterministically (every k-th, sorted by path) to stay under ``--max-mb``.
When none of the sources exist, it says so and exits 0.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.normalize import match_key, repair_document  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
#: Where the system keeps per-package documentation, and the licence texts.
SYSTEM_DOCS = Path("/usr/share/doc")
COMMON_LICENSES = Path("/usr/share/common-licenses")
#: A file whose name starts so is a changelog, licence, copyright, NEWS or README.
KINDS = ("changelog", "copyright", "license", "licence", "copying", "news", "readme", "metadata")
#: Files larger than this are left out (a few generated changelogs are huge).
MAX_FILE_BYTES = 2_000_000
#: An independently measured Jaccard this far below the threshold counts as a
#: violation (the resolver estimates with 128 permutations: about +-0.04).
JACCARD_MARGIN = 0.1
SHINGLE_CHARS = 5
#: Shares of a document's lines whose loss to the stripper is counted.
LOSS_SHARES = (0.1, 0.5)
#: Worst documents printed per run.
WORST_SHOWN = 5


def candidate_files() -> list[tuple[str, Path]]:
    """(document id, path) of every real-text file found, sorted by id."""
    found: dict[str, Path] = {}
    if SYSTEM_DOCS.is_dir():
        for path in SYSTEM_DOCS.rglob("*"):
            if path.is_file() and not path.is_symlink() and path.name.lower().startswith(KINDS):
                found["doc/" + path.relative_to(SYSTEM_DOCS).as_posix()] = path
    if COMMON_LICENSES.is_dir():
        for path in COMMON_LICENSES.iterdir():
            if path.is_file() and not path.is_symlink():
                found["common-licenses/" + path.name] = path
    for site in sorted({Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()}):
        for path in site.glob("*.dist-info/*"):
            if path.is_file() and path.name.lower().startswith(KINDS):
                found["site-packages/" + path.relative_to(site).as_posix()] = path
    return sorted(found.items())


def read_text(path: Path) -> str | None:
    try:
        if path.suffix == ".gz":
            with gzip.open(path) as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
        if len(data) > MAX_FILE_BYTES or b"\x00" in data:
            return None
        return data.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError):
        return None


def build_corpus(target: Path, max_mb: float) -> dict[str, int]:
    """Write the sampled corpus as JSONL; returns counts."""
    files = candidate_files()
    texts = [(doc_id, text) for doc_id, path in files if (text := read_text(path)) is not None]
    total = sum(len(t.encode()) for _, t in texts)
    step = max(1, -(-total // int(max_mb * 1e6))) if max_mb > 0 else 1
    chosen = texts[::step]
    with open(target, "w", encoding="utf-8") as out:
        for doc_id, text in chosen:
            out.write(json.dumps({"id": doc_id, "text": text}, ensure_ascii=False) + "\n")
    return {"files_found": len(files), "files_text": len(texts), "step": step, "documents": len(chosen),
            "bytes": sum(len(t.encode()) for _, t in chosen)}


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def lines_with_ends(text: str) -> list[str]:
    """Lines with their endings (\\n, \\r\\n or lone \\r), as dedupe splits them."""
    out, start = [], 0
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\n" or char == "\r":
            end = i + 2 if char == "\r" and text[i + 1 : i + 2] == "\n" else i + 1
            out.append(text[start:end])
            start = i = end
            continue
        i += 1
    if start < len(text):
        out.append(text[start:])
    return out


def paragraphs_of(text: str) -> list[str]:
    """Non-blank lines, stripped: what the record's paragraph numbers count."""
    return [line.strip() for line in lines_with_ends(text) if line.strip()]


def shingle_set(text: str) -> set[str]:
    key = match_key(text)
    if len(key) <= SHINGLE_CHARS:
        return {key}
    return {key[i : i + SHINGLE_CHARS] for i in range(len(key) - SHINGLE_CHARS + 1)}


def jaccard(a: str, b: str) -> float:
    sa, sb = shingle_set(a), shingle_set(b)
    return len(sa & sb) / max(len(sa | sb), 1)


def sentences(text: str) -> set[str]:
    pieces = [match_key(p) for p in text.replace("!", ".").replace("?", ".").split(". ")]
    return {p for p in pieces if p.count(" ") >= 3}


def one_word_apart(a: str, b: str) -> bool:
    wa, wb = match_key(a, fold_digits=False).split(), match_key(b, fold_digits=False).split()
    return len(wa) == len(wb) and sum(x != y for x, y in zip(wa, wb)) == 1


def directly_similar(rule: str, removed: str, kept: str, threshold: float) -> tuple[bool, float]:
    """Is ``removed`` itself similar to ``kept`` by the rule the record names? (and the Jaccard)."""
    measured = jaccard(removed, kept)
    if rule == "exact":
        return match_key(removed) == match_key(kept), measured
    if rule == "minhash":
        return measured >= threshold - JACCARD_MARGIN, measured
    if rule == "sentences":
        return bool(sentences(removed) & sentences(kept)), measured
    if rule == "typo":
        return one_word_apart(removed, kept), measured
    return True, measured


def check(corpus: Path, output: Path, record: Path, threshold: float) -> dict:
    """Count each invariant's violations."""
    inputs = {d["id"]: d["text"] for d in read_jsonl(corpus)}
    outputs = {d["id"]: d["text"] for d in read_jsonl(output)}
    removals = read_jsonl(record)
    by_doc: dict[str, list[dict]] = collections.defaultdict(list)
    for r in removals:
        by_doc[str(r["doc_id"])].append(r)
    dropped = {doc for doc, rs in by_doc.items() if any(r["paragraph"] is None for r in rs)}
    result: dict = {"documents_in": len(inputs), "documents_kept": len(outputs), "documents_dropped": len(dropped)}
    result["accounting_violations"] = abs(len(inputs) - len(outputs) - len(dropped)) + len(set(outputs) & dropped)

    layout = untouched = untouched_changed = blank_lost = 0
    for doc_id, out_text in outputs.items():
        source = repair_document(inputs[doc_id])  # each line on its own, as dedupe repairs
        gone = {r["paragraph"] for r in by_doc.get(doc_id, []) if r["paragraph"] is not None}
        expected, number = [], 0
        for line in lines_with_ends(source):
            if line.strip():
                if number not in gone:
                    expected.append(line.rstrip("\r\n"))
                number += 1
        got = [line.rstrip("\r\n") for line in lines_with_ends(out_text) if line.strip()]
        layout += got != expected
        if not gone:
            untouched += 1
            if source == inputs[doc_id]:
                untouched_changed += out_text != inputs[doc_id]
            blank_lost += sum(1 for x in lines_with_ends(source) if not x.strip()) > 0 and not any(
                not x.strip() for x in lines_with_ends(out_text))
    result.update(layout_violations=layout, untouched_documents=untouched,
                  untouched_not_identical=untouched_changed, untouched_blank_lines_lost=blank_lost)

    paragraphs = {doc_id: paragraphs_of(repair_document(text)) for doc_id, text in inputs.items()}
    removed_at = {(str(r["doc_id"]), r["paragraph"]) for r in removals if r["paragraph"] is not None}
    per_rule: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    low_jaccard: collections.Counter[str] = collections.Counter()
    absent = 0
    examples: list[dict] = []
    for r in removals:
        if r["reason"] != "duplicate":
            continue
        kept_doc, kept_par = str(r.get("kept_doc_id")), r.get("kept_paragraph")
        if kept_doc not in outputs or (kept_doc, kept_par) in removed_at:
            absent += 1
        pars = paragraphs.get(kept_doc, [])
        removed_text = paragraphs[str(r["doc_id"])][r["paragraph"]]
        if kept_par is None or not 0 <= kept_par < len(pars):
            per_rule[r["rule"]][1] += 1
            continue
        ok, measured = directly_similar(r["rule"], removed_text, pars[kept_par], threshold)
        per_rule[r["rule"]][0] += 1
        per_rule[r["rule"]][1] += not ok
        low_jaccard[r["rule"]] += measured < threshold - JACCARD_MARGIN
        if not ok and len(examples) < 8:
            examples.append({"rule": r["rule"], "recorded": r.get("similarity"), "measured": round(measured, 3),
                             "removed": removed_text[:100], "kept": pars[kept_par][:100]})
    result["duplicates_by_rule"] = {rule: {"records": n, "not_directly_similar": bad,
                                           "jaccard_below_threshold": low_jaccard[rule]}
                                    for rule, (n, bad) in sorted(per_rule.items())}
    result["direct_similarity_violations"] = sum(bad for _, bad in per_rule.values())
    result["kept_copy_absent"] = absent
    result["violation_examples"] = examples
    reasons = collections.Counter((r["reason"], r["rule"]) for r in removals)
    total = max(sum(reasons.values()), 1)
    result["removals"] = {f"{reason}/{rule}": {"count": n, "share": round(n / total, 4)}
                          for (reason, rule), n in reasons.most_common()}
    return result


def chrome_losses(lines: dict[str, int], record: Path) -> dict:
    """Lines each document lost as chrome, from a removal record: totals, counts over LOSS_SHARES, the worst."""
    removed: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for r in read_jsonl(record):
        if r["reason"] == "chrome" and r["paragraph"] is not None:
            removed[str(r["doc_id"])][r["rule"]] += 1
    shares = sorted(((sum(rules.values()) / max(lines[doc], 1), doc) for doc, rules in removed.items()),
                    key=lambda item: (-item[0], item[1]))
    return {"lines": sum(lines.values()), "removed": sum(sum(c.values()) for c in removed.values()),
            "removed_context": sum(c["context"] for c in removed.values()),
            "documents": len(lines), "documents_with_context": sum(c["context"] > 0 for c in removed.values()),
            "max_share": round(shares[0][0], 4) if shares else 0.0,
            **{f"documents_over_{int(bar * 100)}pct": sum(share > bar for share, _ in shares) for bar in LOSS_SHARES},
            "worst": [{"doc_id": doc, "share": round(share, 4), "removed": sum(removed[doc].values()),
                       "lines": lines[doc], "rules": dict(removed[doc].most_common())}
                      for share, doc in shares[:WORST_SHOWN]]}


def print_losses(runs: dict[str, dict]) -> None:
    print("\nlines lost as chrome (none of this text is page chrome)")
    print(f"{'run':<28}{'removed':>10}{'share':>9}{'context':>9}{'max/doc':>9}"
          + "".join(f"{f'docs >{int(bar * 100)}%':>11}" for bar in LOSS_SHARES) + f"{'docs w/ context':>17}")
    for name, row in runs.items():
        print(f"{name:<28}{row['removed']:>10}{row['removed'] / max(row['lines'], 1):>9.4%}{row['removed_context']:>9}"
              f"{row['max_share']:>9.3f}"
              + "".join(f"{row[f'documents_over_{int(bar * 100)}pct']:>11}" for bar in LOSS_SHARES)
              + f"{row['documents_with_context']:>17}")
    for name, row in runs.items():
        print(f"worst documents, {name}:")
        for worst in row["worst"]:
            rules = ", ".join(f"{rule} {count}" for rule, count in worst["rules"].items())
            print(f"  {worst['share']:6.3f}  {worst['removed']:>6} of {worst['lines']:<7} {worst['doc_id']}  ({rules})")


def dedupe(*args: str) -> list[str]:
    return [sys.executable, "-m", "dedupe", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-mb", type=float, default=40.0, help="corpus size cap (0: every file)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--threshold", type=float, default=0.5, help="the run's --threshold (for the checks)")
    parser.add_argument("--keep-files", action="store_true", help="keep the corpus and outputs in benchmarks/out")
    parser.add_argument("--corpus", type=Path, help="a JSONL of plain documents (id, text) instead of the system's")
    parser.add_argument("--strip-only", action="store_true", help="only what `dedupe strip` takes from each document")
    parser.add_argument("extra", nargs="*", help="more `dedupe clean` options, after --")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="realtext-", dir=OUT)) if args.keep_files else Path(
        tempfile.mkdtemp(prefix="dedupe-realtext-"))
    if args.corpus is not None:
        corpus = args.corpus
        documents = read_jsonl(corpus)
        built = {"documents": len(documents), "bytes": sum(len(str(d["text"]).encode()) for d in documents)}
        print(f"corpus: {built['documents']} documents, {built['bytes'] / 1e6:.1f} MB ({corpus.name})")
    else:
        corpus = work / "corpus.jsonl"
        built = build_corpus(corpus, args.max_mb)
        if built["documents"] == 0:
            print("no real text found (no /usr/share/doc, /usr/share/common-licenses or package metadata): skipped")
            return 0
        print(f"corpus: {built['documents']} documents, {built['bytes'] / 1e6:.1f} MB (every {built['step']}. of "
              f"{built['files_text']} readable files)")
    mb = built["bytes"] / 1e6
    lines = {str(d["id"]): len(paragraphs_of(repair_document(d["text"]))) for d in read_jsonl(corpus)}
    losses = {}
    for name, flags in (("dedupe strip", []), ("dedupe strip --no-context", ["--no-context"])):
        strip_out, strip_rec = work / f"strip{len(flags)}.jsonl", work / f"strip{len(flags)}_removed.jsonl"
        subprocess.run(dedupe("strip", str(corpus), "-o", str(strip_out), "--removed", str(strip_rec), "--jobs",
                              str(args.jobs), "-q", *flags), check=True)
        losses[name] = chrome_losses(lines, strip_rec)
    if args.strip_only:
        print_losses(losses)
        if not args.keep_files:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    out, rec, stats = work / "clean.jsonl", work / "removed.jsonl", work / "stats.json"
    options = ["--jobs", str(args.jobs), "--threshold", str(args.threshold), "-q", *args.extra]
    started = time.perf_counter()
    subprocess.run(dedupe("clean", str(corpus), "-o", str(out), "--removed", str(rec), "--stats", str(stats),
                          *options), check=True)
    wall = time.perf_counter() - started
    result = {"corpus": built, "seconds": round(wall, 2), "mb_per_s": round(mb / wall, 3),
              "record_bytes_per_input_byte": round(rec.stat().st_size / max(built["bytes"], 1), 3)}
    result.update(check(corpus, out, rec, args.threshold))
    again_out, again_rec = work / "clean2.jsonl", work / "removed2.jsonl"
    subprocess.run(dedupe("clean", str(out), "-o", str(again_out), "--removed", str(again_rec), *options),
                   check=True)
    second = read_jsonl(again_rec)
    result["idempotence_removals"] = len(second)
    result["idempotence_output_identical"] = again_out.read_bytes() == out.read_bytes()
    result["idempotence_examples"] = [{k: r.get(k) for k in ("doc_id", "paragraph", "reason", "rule")}
                                      | {"text": str(r.get("text"))[:100]} for r in second[:5]]
    losses = {"dedupe clean": chrome_losses(lines, rec), **losses}
    result["chrome_losses"] = losses
    result["machine"] = f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"

    print(f"dedupe clean: {wall:.1f} s wall ({mb / wall:.2f} MB/s, --jobs {args.jobs}); "
          f"record {result['record_bytes_per_input_byte']:.2f} bytes per input byte")
    print(f"\n{'invariant':<44}{'violations':>12}")
    rows = [
        ("documents in = kept + dropped", result["accounting_violations"]),
        ("layout: kept text = input minus record", result["layout_violations"]),
        ("untouched documents not byte-identical", result["untouched_not_identical"]),
        ("duplicate not directly similar to kept copy", result["direct_similarity_violations"]),
        ("named kept copy absent from output", result["kept_copy_absent"]),
        ("removals when cleaning the output again", result["idempotence_removals"]),
        ("documents losing over half their lines", max(row["documents_over_50pct"] for row in losses.values())),
    ]
    for name, count in rows:
        print(f"{name:<44}{count:>12}")
    print(f"\n{'duplicates by rule':<22}{'records':>10}{'not similar':>13}{'Jaccard<thr':>13}")
    for rule, row in result["duplicates_by_rule"].items():
        print(f"{rule:<22}{row['records']:>10}{row['not_directly_similar']:>13}{row['jaccard_below_threshold']:>13}")
    print(f"\n{'removals (reason/rule)':<40}{'count':>10}{'share':>9}")
    for name, row in result["removals"].items():
        print(f"{name:<40}{row['count']:>10}{row['share']:>9.3f}")
    for example in result["violation_examples"][:5]:
        print(f"  not similar [{example['rule']}, recorded {example['recorded']}, measured {example['measured']}]: "
              f"{example['removed']!r} -> {example['kept']!r}")
    print_losses(losses)
    if not args.keep_files:
        shutil.rmtree(work, ignore_errors=True)
    (OUT / "realtext.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwrote {OUT / 'realtext.json'}" + (f"; files kept in {work}" if args.keep_files else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
