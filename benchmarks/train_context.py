"""Fit the stripper's context model on the labelled boilerplate pages.

    python benchmarks/train_context.py [--eval ../shared/eval] [--cv] [--write]

The pages of ``boilerplate_dev.jsonl`` are treated as one corpus: line counts
(corpus-wide, and per site by URL host) come from all of them, exactly as
``dedupe strip`` computes them on its input. ``--cv`` reports 5-fold scores by
page (fit on four fifths, score the rest) and leave-one-source-out scores;
``--write`` stores the model fitted on all pages, with the threshold that
maximises content F1, in ``dedupe/data/context_model.json``. Comment lines are
context but carry no label, as the scorer leaves them out by default.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.config import StripConfig  # noqa: E402
from dedupe.context import ContextScorer, fit_model, line_features  # noqa: E402
from dedupe.normalize import match_key  # noqa: E402
from dedupe.strip import load_catalogue, strip  # noqa: E402
from dedupe.templates import TemplateTable, site_of  # noqa: E402

MODEL = ROOT / "dedupe" / "data" / "context_model.json"
THRESHOLDS = [round(t, 2) for t in np.arange(0.2, 0.71, 0.05)]


def load_pages(eval_dir: Path) -> list[dict]:
    raw = [json.loads(line) for line in open(eval_dir / "boilerplate_dev.jsonl", encoding="utf-8")]
    for page in raw:
        page["clean_lines"] = [text.strip() for text in page["lines"]]
        page["site"] = site_of(page.get("url"))
    table = TemplateTable.build((p["site"], p["clean_lines"]) for p in raw)
    catalogue = load_catalogue()
    no_context = StripConfig(context=False)
    for page in raw:
        lines = page["clean_lines"]
        keys = [match_key(text) for text in lines]
        page["keys"] = keys
        page["verdicts"] = strip(lines, no_context, catalogue=catalogue, keys=keys)
        page["repeats"], page["share"] = table.lookup(lines, page["site"])
        hits = [v is not None for v in page["verdicts"]]
        page["features"] = line_features(lines, hits, keys, page["repeats"], page["share"])
        page["y"] = np.array([label == "content" for label in page["labels"]])
        page["mask"] = np.array([label != "comment" for label in page["labels"]])
    return raw


def fit_pages(pages: list[dict], l2: float) -> dict:
    model = fit_model([(p["features"], p["y"], p["mask"]) for p in pages], l2)
    probs = _probabilities(pages, model)
    model["threshold"] = max(THRESHOLDS, key=lambda t: _f1(pages, probs, t)[2])
    return model


def _probabilities(pages: list[dict], model: dict) -> list[np.ndarray]:
    scorer = ContextScorer(model)
    return [np.array(scorer.score(p["clean_lines"], p["verdicts"], p["keys"], p["repeats"], p["share"]))
            for p in pages]


def _f1(pages: list[dict], probs: list[np.ndarray], threshold: float) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for page, prob in zip(pages, probs):
        kept = (prob >= threshold)[page["mask"]]
        y = page["y"][page["mask"]]
        tp += int((kept & y).sum())
        fp += int((kept & ~y).sum())
        fn += int((~kept & y).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--cv", action="store_true", help="cross-validated scores")
    parser.add_argument("--write", action="store_true", help="write the model fitted on all pages")
    parser.add_argument("--l2", type=float, default=1.0)
    args = parser.parse_args()
    pages = load_pages(args.eval)
    if args.cv:
        order = list(range(len(pages)))
        random.Random(0).shuffle(order)
        folds = [order[k::5] for k in range(5)]
        scored: list[tuple[dict, np.ndarray]] = []
        for fold in folds:
            held = set(fold)
            model = fit_pages([pages[i] for i in order if i not in held], args.l2)
            test = [pages[i] for i in fold]
            scored += [(p, pr >= model["threshold"]) for p, pr in zip(test, _probabilities(test, model))]
        for source in ["ALL"] + sorted({p["source"] for p in pages}):
            subset = [(p, k) for p, k in scored if source in ("ALL", p["source"])]
            precision, recall, f1 = _f1([p for p, _ in subset], [k.astype(float) for _, k in subset], 0.5)
            print(f"5-fold by page  {source:<16} content P {precision:.3f} R {recall:.3f} F1 {f1:.3f}")
        for source in sorted({p["source"] for p in pages}):
            model = fit_pages([p for p in pages if p["source"] != source], args.l2)
            test = [p for p in pages if p["source"] == source]
            precision, recall, f1 = _f1(test, _probabilities(test, model), model["threshold"])
            print(f"source held out {source:<16} content P {precision:.3f} R {recall:.3f} F1 {f1:.3f}")
    model = fit_pages(pages, args.l2)
    precision, recall, f1 = _f1(pages, _probabilities(pages, model), model["threshold"])
    print(f"fitted on all pages (in-sample) content P {precision:.3f} R {recall:.3f} F1 {f1:.3f} "
          f"threshold {model['threshold']}")
    if args.write:
        MODEL.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
