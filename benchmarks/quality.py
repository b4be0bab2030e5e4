"""Quality figures on the shared evaluation sets, scored by their own scorers.

    python benchmarks/quality.py [--eval ../shared/eval] [--only syndication,boilerplate,rules,encoding]
                                 [--jobs N] [-- EXTRA dedupe clean OPTIONS]

Runs the ``dedupe`` command exactly as a user would (``python -m dedupe``) and
prints the scorers' figures next to the baselines they publish:

* syndication: ``dedupe clean`` on ``syndication_dev/corpus.jsonl`` ->
  ``syndicate_score.py`` (headline, retention, residues, mojibake);
* boilerplate: ``dedupe strip`` (per document: the default, with the context
  pass, and ``--no-context``, the catalogue and related-link runs only) and
  ``dedupe clean`` (plus corpus-wide repetition) on ``boilerplate_dev.jsonl``
  -> ``score.py boilerplate``, overall and per source;
* rules: each catalogue rule's precision on the labelled pages, and what it
  (and the default stripper) removes from text that is all content;
* encoding: :func:`dedupe.repair` on ``encoding_dev.jsonl`` -> ``score.py encoding``.

Needs the evaluation sets beside the checkout (``../shared/eval``); they are not
part of the repository.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EVAL = ROOT.parent / "shared" / "eval"


def run(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - started


def score(cmd: list[str]) -> dict:
    out = subprocess.run(cmd + ["--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def dedupe(*args: str) -> list[str]:
    return [sys.executable, "-m", "dedupe", *args]


def syndication(eval_dir: Path, work: Path, jobs: int, extra: list[str]) -> None:
    corpus = eval_dir / "syndication_dev" / "corpus.jsonl"
    pred = work / "syndication.jsonl"
    seconds = run(dedupe("clean", str(corpus), "-o", str(pred), "--jobs", str(jobs), "-q", *extra))
    s = score([sys.executable, str(eval_dir / "syndicate_score.py"),
               str(eval_dir / "syndication_dev" / "gold.jsonl"), str(pred)])
    mb = corpus.stat().st_size / 1e6
    print("\n## Syndication (dedupe clean on syndication_dev, 3,000 documents)")
    print(f"{'metric':<34}{'dedupe':>10}{'exact-line baseline':>22}")
    baseline = {"headline": 0.886, "retention": 0.975, "chrome_residue": 0.086, "duplicate_residue": 0.211,
                "duplicate_residue_exact": 0.060, "duplicate_residue_edited": 0.151, "mojibake_repaired": 0.0,
                "retention_words": 0.993}
    for key in ("headline", "retention", "chrome_residue", "duplicate_residue", "duplicate_residue_exact",
                "duplicate_residue_edited", "mojibake_repaired", "retention_words", "retention_intro",
                "clean_line_damage"):
        ref = baseline.get(key)
        print(f"{key:<34}{s[key]:>10.4f}{'' if ref is None else f'{ref:>22.3f}'}")
    c = s["counts"]
    print(f"documents kept {c['docs_kept']} / {c['docs']}; wall {seconds:.1f} s ({mb / seconds:.2f} MB/s)")


def boilerplate(eval_dir: Path, work: Path, jobs: int, extra: list[str]) -> None:
    gold = eval_dir / "boilerplate_dev.jsonl"
    pages = work / "boilerplate_pages.jsonl"
    with open(gold, encoding="utf-8") as src, open(pages, "w", encoding="utf-8") as dst:
        for line in src:
            page = json.loads(line)
            dst.write(json.dumps({"id": page["id"], "url": page.get("url") or "",
                                  "text": "\n".join(page["lines"])}, ensure_ascii=False) + "\n")
    print("\n## Boilerplate lines (boilerplate_dev, 1,196 pages; comments excluded)")
    print(f"{'run':<42}{'content P':>10}{'R':>8}{'F1':>8}{'word F1':>9}{'aeb':>8}{'cleaneval':>10}"
          f"{'dragnet':>9}{'pages/s':>9}")
    # reference rows: measured once, by the same scorer (see benchmarks/RESULTS.md)
    for name, figures in (("keep every line", (0.137, 1.0, 0.241, 0.695, 0.253, 0.670, 0.207)),
                          ("drop lines < 5 words", (0.360, 0.794, 0.495, 0.778, 0.529, 0.722, 0.460)),
                          ("trafilatura (HTML)", (0.841, 0.842, 0.841, 0.947, 0.944, 0.800, 0.827))):
        p, r, f1, word, aeb, cleaneval, dragnet = figures
        print(f"{name:<42}{p:>10.3f}{r:>8.3f}{f1:>8.3f}{word:>9.3f}{aeb:>8.3f}{cleaneval:>10.3f}{dragnet:>9.3f}")
    runs = (("strip", []), ("strip", ["--no-context"]), ("strip", ["--comments", "drop"]),
            ("strip", ["--no-context", "--comments", "drop"]), ("clean", []), ("clean", ["--no-context"]))
    as_noise = []
    for command, options in runs:
        name = " ".join([command, *options])
        pred = work / f"boilerplate_{command}_{'_'.join(o.strip('-') for o in options)}.jsonl"
        seconds = run(dedupe(command, str(pages), "-o", str(pred), "--jobs", str(jobs), "-q", *options,
                             *(extra if command == "clean" else [])))
        s = score([sys.executable, str(eval_dir / "score.py"), "boilerplate", str(gold), str(pred), "--by-source"])
        r = s["results"]
        a = r["ALL"]
        print(f"{'dedupe ' + name:<42}{a['content']['p']:>10.3f}{a['content']['r']:>8.3f}{a['content']['f']:>8.3f}"
              f"{a['content_word_weighted']['f']:>9.3f}{r['scrapinghub-aeb']['content']['f']:>8.3f}"
              f"{r['cleaneval-dev']['content']['f']:>10.3f}{r['dragnet']['content']['f']:>9.3f}{1196 / seconds:>9.0f}")
        if command == "strip":
            noise = score([sys.executable, str(eval_dir / "score.py"), "boilerplate", str(gold), str(pred),
                           "--by-source", "--comments", "boilerplate"])["results"]
            as_noise.append((name, noise["ALL"]["content"], noise["dragnet"]["content"]))
    stripper_throughput(gold)
    # --comments drop is for users who count comments as noise: score it that way too
    print("\nwith comment lines counted as boilerplate (the scorer's --comments boilerplate):")
    for name, every, dragnet in as_noise:
        print(f"{'dedupe ' + name:<42}content P {every['p']:.3f}  R {every['r']:.3f}  F1 {every['f']:.3f}"
              f"   dragnet F1 {dragnet['f']:.3f}")


def stripper_throughput(gold: Path, repeats: int = 3) -> None:
    """MB/s of the strip stage alone, in this process, one core: no reading, JSON or repair.

    The whole commands' pages/s above include reading, JSON, ftfy's check and
    writing; this isolates what the stripper itself costs per core. Each
    figure is the best of ``repeats`` passes, each with a fresh catalogue (its
    verdict cache starts empty, as in a new run). Match keys are the
    normaliser's (``dedupe clean`` computes them once for stripping and
    fingerprints), so they are timed apart and added for the second column.
    Pages are stripped in batches of the pipeline's size (``strip_pages``),
    as its workers do; ``strip()`` one page at a time is timed too.
    """
    sys.path.insert(0, str(ROOT))
    from dedupe.config import StripConfig
    from dedupe.layout import segment
    from dedupe.normalize import match_key
    from dedupe.pipeline import BATCH_DOCS
    from dedupe.strip import load_catalogue, strip, strip_pages

    with open(gold, encoding="utf-8") as lines:
        texts = ["\n".join(json.loads(line)["lines"]) for line in lines]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    pages = [segment(t) for t in texts]

    def best(run):  # -> (seconds, what the last run returned)
        times = []
        for _ in range(repeats):
            load_catalogue.cache_clear()
            started = time.process_time()
            result = run()
            times.append(time.process_time() - started)
        return min(times), result

    key_seconds, keys = best(lambda: [[match_key(p) for p in lines] for lines in pages])
    print(f"\nstripper alone, one core, {megabytes:.1f} MB of page text (best of {repeats}):")
    print(f"  {'match keys':<20} {key_seconds:6.2f} s cpu  {megabytes / key_seconds:5.1f} MB/s")
    def batched(config: StripConfig) -> list[list[str | None]]:
        return [verdict for at in range(0, len(pages), BATCH_DOCS)
                for verdict in strip_pages(pages[at : at + BATCH_DOCS], config, catalogue=load_catalogue(),
                                           keys=keys[at : at + BATCH_DOCS])]

    def one_by_one(config: StripConfig) -> list[list[str | None]]:
        return [strip(lines, config, catalogue=load_catalogue(), keys=k) for lines, k in zip(pages, keys)]

    for name, config, run in (("rules (--no-context)", StripConfig(context=False), batched),
                              ("default (context)", StripConfig(), batched),
                              ("  one page a call", StripConfig(), one_by_one)):
        seconds, _ = best(lambda config=config, run=run: run(config))
        print(f"  {name:<20} {seconds:6.2f} s cpu  {megabytes / seconds:5.1f} MB/s given the keys, "
              f"{megabytes / (seconds + key_seconds):5.1f} MB/s with them")


def rules(eval_dir: Path) -> None:
    """Each rule's precision on the labelled pages, and what it removes from text that is all content.

    Content-only text: the syndication set's articles (the content lines of
    each story's origin copy) and the real text ``benchmarks/realtext.py``
    gathers (package documentation, changelogs, licences, READMEs), every
    file of it. On such text every removal is a loss; the last rows give
    what the default stripper (rules and context pass) removes in all, on
    how many documents the context pass removed a line, and the worst
    document: the largest share of its lines any one document loses, and
    how many lose more than 10% and more than half (an average hides a
    document the stripper empties).
    """
    import collections

    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from realtext import candidate_files, read_text

    from dedupe.config import StripConfig
    from dedupe.layout import segment
    from dedupe.pipeline import BATCH_DOCS
    from dedupe.strip import load_catalogue, strip_pages

    def verdicts(pages: list[list[str]], config: StripConfig) -> list[list[str | None]]:
        return [v for at in range(0, len(pages), BATCH_DOCS)
                for v in strip_pages(pages[at : at + BATCH_DOCS], config, catalogue=load_catalogue())]

    with open(eval_dir / "boilerplate_dev.jsonl", encoding="utf-8") as lines:
        labelled = [json.loads(line) for line in lines]
    precision: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for page, found in zip(labelled, verdicts([[t.strip() for t in p["lines"]] for p in labelled],
                                              StripConfig(context=False))):
        for rule, label in zip(found, page["labels"]):
            if rule and label != "comment":
                precision[rule][0] += label == "boilerplate"
                precision[rule][1] += 1
    articles, seen = [], set()
    with open(eval_dir / "syndication_dev" / "gold.jsonl", encoding="utf-8") as lines:
        gold = [json.loads(line) for line in lines]
    for doc in gold:
        if doc["role"] == "origin" and doc["article"] not in seen:
            seen.add(doc["article"])
            articles.append([x["correct_text"].strip() for x in doc["lines"]
                             if x["kind"] in ("content", "intro") and x["correct_text"].strip()])
    documentation = [segment(text) for _, path in candidate_files() if (text := read_text(path)) is not None]
    sets = {"syndication articles": articles, "documentation": documentation}
    hits, totals = {}, {}
    worst: dict[tuple[str, str], tuple[float, int, int]] = {}
    for name, pages in sets.items():
        rules_only = verdicts(pages, StripConfig(context=False))
        default = verdicts(pages, StripConfig())
        hits[name] = collections.Counter(rule for page in rules_only for rule in page if rule)
        judged = sum(any(rule == "context" for rule in page) for page in default)
        totals[name] = (sum(map(len, pages)), sum(rule is not None for page in default for rule in page),
                        sum(rule == "context" for page in default for rule in page), judged, len(pages))
        for run, found in (("default", default), ("--no-context", rules_only)):
            shares = [sum(rule is not None for rule in page) / len(page) for page in found if page]
            worst[name, run] = (max(shares, default=0.0), sum(share > 0.1 for share in shares),
                                sum(share > 0.5 for share in shares))
    print("\n## Rules: precision on the labelled pages, removals from content-only text")
    print(f"{'rule':<16}{'dev hits':>10}{'precision':>11}" + "".join(f"{name:>22}" for name in sets))
    for rule in sorted(set(precision) | {r for c in hits.values() for r in c}, key=lambda r: -precision[r][1]):
        good, count = precision[rule]
        print(f"{rule:<16}{count:>10}{(good / count if count else 0):>11.3f}"
              + "".join(f"{hits[name][rule]:>22}" for name in sets))
    print(f"{'lines':<37}" + "".join(f"{totals[name][0]:>22,}" for name in sets))
    print(f"{'default removes (all passes)':<37}" + "".join(f"{totals[name][1]:>22,}" for name in sets))
    print(f"{'  of them the context pass':<37}" + "".join(f"{totals[name][2]:>22,}" for name in sets))
    print(f"{'  documents it removed from / all':<37}"
          + "".join(f"{f'{totals[name][3]} / {totals[name][4]}':>22}" for name in sets))
    for run in ("default", "--no-context"):
        print(f"{f'{run}: most lost by one document':<37}" + "".join(f"{worst[name, run][0]:>22.3f}" for name in sets))
        print(f"{'  documents losing > 10% / > 50%':<37}"
              + "".join(f"{f'{worst[name, run][1]} / {worst[name, run][2]}':>22}" for name in sets))


def neardup(eval_dir: Path, work: Path, jobs: int, extra: list[str]) -> None:
    """Cluster documents by the duplicates dedupe finds between them.

    Two documents are linked when at least a third of one's paragraphs were
    removed as copies of the other's (or one was dropped pointing at the
    other); clusters are the connected components.
    """
    from collections import Counter

    gold = eval_dir / "neardup_dev_clusters.jsonl"
    removed = work / "neardup_removed.jsonl"
    run(dedupe("clean", str(gold), "-o", str(work / "neardup_clean.jsonl"), "--removed", str(removed),
               "--jobs", str(jobs), "-q", *extra))
    with open(gold, encoding="utf-8") as lines:
        docs = [json.loads(line)["id"] for line in lines]
    paragraphs = Counter()
    with open(gold, encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            paragraphs[doc["id"]] = sum(1 for p in doc["text"].split("\n") if p.strip())
    links: Counter = Counter()
    dropped: list[tuple[str, str]] = []
    with open(removed, encoding="utf-8") as lines:
        entries = [json.loads(line) for line in lines]
    for entry in entries:
        if entry.get("kept_doc_id") is None or entry["kept_doc_id"] == entry["doc_id"]:
            continue
        if entry["paragraph"] is None:
            dropped.append((entry["doc_id"], entry["kept_doc_id"]))
        else:
            links[(entry["doc_id"], entry["kept_doc_id"])] += 1
    parent = {d: d for d in docs}

    def find(d: str) -> str:
        while parent[d] != d:
            parent[d] = parent[parent[d]]
            d = parent[d]
        return d

    edges = dropped + [pair for pair, n in links.items() if n >= max(1, paragraphs[pair[0]] / 3)]
    for a, b in edges:
        parent[find(a)] = find(b)
    pred = work / "neardup_pred.jsonl"
    with open(pred, "w", encoding="utf-8") as out:
        out.writelines(json.dumps({"id": d, "cluster": find(d)}) + "\n" for d in docs)
    s = score([sys.executable, str(eval_dir / "score.py"), "neardup", str(gold), str(pred)])
    print("\n## Near-duplicate clusters (neardup_dev_clusters, 564 heavily rewritten documents)")
    print(json.dumps(s.get("results", s), sort_keys=True)[:600])


def pairs(eval_dir: Path, work: Path) -> None:
    """Sentence pairs: dedupe's paragraph similarity and its copy decision, per pair.

    A pair is called a copy as dedupe's resolver would call two paragraphs:
    equal exact keys, or estimated Jaccard of the character 5-gram MinHash at
    or above the threshold (the short-line threshold under 60 characters).
    The labels are paraphrase judgements, broader than near-duplicates, so
    high precision and low recall is the expected shape.
    """
    from dedupe import DedupConfig, Fingerprinter, match_key
    from dedupe.fingerprint import jaccard_estimate

    d = DedupConfig()
    fp = Fingerprinter(num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
                       threshold=d.threshold, shingle=d.shingle)
    gold = eval_dir / "neardup_dev_pairs.jsonl"
    with open(gold, encoding="utf-8") as lines:
        items = [json.loads(line) for line in lines]
    pred = work / "pairs_pred.jsonl"
    with open(pred, "w", encoding="utf-8") as out:
        for item in items:
            keys = [match_key(item["text_a"]), match_key(item["text_b"])]
            prints = fp.fingerprint(keys)
            if keys[0] == keys[1]:
                similarity = 1.0
            elif prints.minhashed.all():
                similarity = jaccard_estimate(prints.signatures[0], prints.signatures[1])
            else:
                similarity = 0.0
            short = min(len(item["text_a"]), len(item["text_b"])) < d.short_chars
            threshold = max(d.threshold, d.short_threshold) if short else d.threshold
            out.write(json.dumps({"id": item["id"], "label": int(similarity >= threshold),
                                  "score": similarity}) + "\n")
    print("\n## Near-duplicate sentence pairs (neardup_dev_pairs, 4,080 MSRP pairs; paraphrase labels)")
    print("exact-match baseline: P = R = F1 = 0, accuracy 0.325")
    s = score([sys.executable, str(eval_dir / "score.py"), "neardup", str(gold), str(pred)])
    r = s.get("results", s)["ALL"]
    print(f"dedupe copy decision (threshold {d.threshold}):  P {r['pairwise']['p']:.3f}  R {r['pairwise']['r']:.3f}  "
          f"F1 {r['pairwise']['f']:.3f}  accuracy {r['accuracy']:.3f}")
    scores = work / "pairs_scores.jsonl"  # the scorer prefers labels when both are given
    with open(pred, encoding="utf-8") as src, open(scores, "w", encoding="utf-8") as dst:
        for line in src:
            row = json.loads(line)
            dst.write(json.dumps({"id": row["id"], "score": row["score"]}) + "\n")
    for threshold in (0.3, 0.4, 0.5, 0.6, 0.7):
        s = score([sys.executable, str(eval_dir / "score.py"), "neardup", str(gold), str(scores),
                   "--threshold", str(threshold)])
        r = s.get("results", s)["ALL"]
        print(f"similarity score at {threshold}:              P {r['pairwise']['p']:.3f}  R {r['pairwise']['r']:.3f}  "
              f"F1 {r['pairwise']['f']:.3f}  accuracy {r['accuracy']:.3f}")


def encoding(eval_dir: Path, work: Path) -> None:
    from dedupe import repair

    gold = eval_dir / "encoding_dev.jsonl"
    pred = work / "encoding.jsonl"
    with open(gold, encoding="utf-8") as src, open(pred, "w", encoding="utf-8") as dst:
        for line in src:
            case = json.loads(line)
            dst.write(json.dumps({"id": case["id"], "text": repair(case["original"])}, ensure_ascii=False) + "\n")
    print("\n## Encoding repair (encoding_dev, 161 cases; ftfy.fix_text defaults: exact 0.764 vs gold)")
    for field in ("gold", "gold_fix_text"):
        s = score([sys.executable, str(eval_dir / "score.py"), "encoding", str(gold), str(pred), "--field", field])
        parts = []
        for name, row in sorted(s.get("results", s).items()):
            parts.append(f"{name}: exact {row['exact'] / row['n']:.3f} loose {row['loose'] / row['n']:.3f} "
                         f"changed {row['changed']}/{row['n']}")
        print(f"against {field:<14} " + "; ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="folder of the evaluation sets")
    parser.add_argument("--only", default="syndication,boilerplate,rules,neardup,pairs,encoding")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("extra", nargs="*", help="extra options for dedupe clean (after --)")
    args = parser.parse_args()
    if not (args.eval / "score.py").exists():
        sys.exit(f"evaluation sets not found in {args.eval}; pass --eval DIR")
    wanted = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="dedupe-quality-") as tmp:
        work = Path(tmp)
        if "syndication" in wanted:
            syndication(args.eval, work, args.jobs, args.extra)
        if "boilerplate" in wanted:
            boilerplate(args.eval, work, args.jobs, args.extra)
        if "rules" in wanted:
            rules(args.eval)
        if "neardup" in wanted:
            neardup(args.eval, work, args.jobs, args.extra)
        if "pairs" in wanted:
            pairs(args.eval, work)
        if "encoding" in wanted:
            encoding(args.eval, work)


if __name__ == "__main__":
    main()
