"""Fit the stripper's context model on the labelled boilerplate pages.

    python benchmarks/train_context.py [--eval ../shared/eval] [--cv] [--write] [--first-sight]
    python benchmarks/train_context.py --cv --lexical [--soft-rules byline,read-more,...]

The pages of ``boilerplate_dev.jsonl`` are treated as one corpus: line counts
(corpus-wide, and per site by URL host) come from all of them, exactly as
``dedupe strip`` computes them on its input. The model is fitted twice: on
the pages as the stripper first sees them, then again with each training
page's lines that the first fit's stripper keeps at its fixed point, read as
a page of their own (the stripper repeats its passes until nothing more goes,
so the model also judges pages whose chrome is gone; ``--first-sight`` fits
the first only).

``--cv`` reports 5-fold scores by page (fit on four fifths, score the rest)
and leave-one-source-out scores, each for the model's verdicts on the pages
as they first are and for ``dedupe strip``'s verdicts with that model (its
rounds, and its test for pages of a website); ``--write`` stores the model
fitted on all pages, with the threshold that maximises content F1, in
``dedupe/data/context_model.json``. Comment lines are context but carry no
label, as the scorer leaves them out by default.

Two variants the shipped model does not have are measured with ``--cv``
only (docs/strip.md, "Measured and not adopted"): ``--lexical`` adds words of
the line's match key to stage 1 (its first and last word, the whole key of a
line of up to 4 words, and every word of a line of up to 12 words; a word is
used when 10+ training pages have it), and ``--soft-rules`` lets the model
judge the lines of the named catalogue families, with the family as a
feature, instead of removing them outright.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dedupe.config import StripConfig  # noqa: E402
from dedupe.context import (  # noqa: E402
    FEATURES,
    STAGE2_FEATURES,
    ContextScorer,
    _sigmoid,
    _stage2,
    line_features,
)
from dedupe.normalize import match_key  # noqa: E402
from dedupe.pipeline import BATCH_DOCS  # noqa: E402
from dedupe.strip import CONTEXT_MIN_LINES, load_catalogue, strip, strip_pages  # noqa: E402
from dedupe.templates import TemplateTable, site_of  # noqa: E402

MODEL = ROOT / "dedupe" / "data" / "context_model.json"
THRESHOLDS = [round(t, 2) for t in np.arange(0.2, 0.71, 0.05)]


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iterations: int = 30) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method (no bias penalty)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 0.0
    for _ in range(iterations):
        p = _sigmoid(x @ w)
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-6:
            break
    return w


def fit_model(
    pages: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]], l2: float = 1.0
) -> dict[str, object]:
    """Fit both stages from pages of (features, is-content labels, labelled mask).

    Unlabelled lines (the mask is false, e.g. user comments) stay in the page
    as context for their neighbours but do not enter the fit.
    """
    x1 = np.vstack([f[m] for f, _, m in pages])
    y = np.concatenate([t[m] for _, t, m in pages]).astype(np.float64)
    w1 = fit_logistic(x1, y, l2)
    x2 = np.vstack([_stage2(f, _sigmoid(f @ w1))[m] for f, _, m in pages])
    w2 = fit_logistic(x2, y, l2)
    return {
        "version": 1,
        "stage1_features": list(FEATURES),
        "stage2_features": list(FEATURES + STAGE2_FEATURES),
        "stage1": [round(float(v), 6) for v in w1],
        "stage2": [round(float(v), 6) for v in w2],
        "threshold": 0.5,
    }


#: --lexical: a word must be on this many training pages to get a weight.
LEXICAL_MIN_PAGES = 10
#: --lexical: penalty of the word weights (the dense features keep --l2).
LEXICAL_L2 = 3.0


def lexical_tokens(key: str) -> set[str]:
    """The words of a match key that --lexical gives weights to.

    >>> sorted(lexical_tokens("posted by ann"))
    ['=posted by ann', '^posted', 'ann', 'ann$', 'by', 'posted']
    """
    words = key.split()
    if not words:
        return set()
    tokens = {"^" + words[0], words[-1] + "$"}
    if len(words) <= 4:
        tokens.add("=" + key)
    if len(words) <= 12:
        tokens.update(words)
    return tokens


def soften(pages: list[dict], families: list[str]) -> None:
    """Lines of these rule families stay for the model to judge, their family a feature."""
    soft = set(families)
    for page in pages:
        verdicts = page["verdicts"]
        hard = [v is not None and v not in soft for v in verdicts]
        family = np.array([[v == name for name in families] for v in verdicts], dtype=np.float64)
        dense = line_features(page["clean_lines"], hard, page["keys"], page["repeats"], page["share"])
        page["features"] = np.hstack([dense, family.reshape(len(verdicts), len(families))])
        page["verdicts"] = [v if hard_hit else None for v, hard_hit in zip(verdicts, hard)]


def load_pages(eval_dir: Path) -> list[dict]:
    with open(eval_dir / "boilerplate_dev.jsonl", encoding="utf-8") as lines:
        raw = [json.loads(line) for line in lines]
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


def fit_pages(pages: list[dict], l2: float, converged: bool = True) -> dict:
    """Both stages on the pages as the stripper first sees them and, with ``converged``, as it
    sees them once its rounds have converged.

    The stripper repeats its passes until nothing more goes, so the model also
    judges pages whose chrome is already gone; fitted on first sights alone it
    went on peeling article lines round after round (docs/strip.md). A first
    fit strips each training page to its fixed point, and the kept lines, with
    their features read again and their labels, join the pages for the second fit.
    """
    data = [(p["features"], p["y"], p["mask"]) for p in pages]
    model = fit_model(data, l2)
    if converged:
        for page, verdicts in zip(pages, strip_labelled(pages, model)):
            kept = [i for i, v in enumerate(verdicts) if v is None]
            if len(kept) >= CONTEXT_MIN_LINES:
                data.append(_features_of(page, kept))
        model = fit_model(data, l2)
    probs = _probabilities(pages, model)
    model["threshold"] = max(THRESHOLDS, key=lambda t: _f1(pages, probs, t)[2])
    return model


def strip_labelled(pages: list[dict], model: dict) -> list[list[str | None]]:
    """``dedupe strip``'s verdicts on the pages (default settings, line counts of the whole set) with ``model``."""
    scorer = ContextScorer(model)
    out: list[list[str | None]] = []
    for at in range(0, len(pages), BATCH_DOCS):
        batch = pages[at : at + BATCH_DOCS]
        out += strip_pages([p["clean_lines"] for p in batch], StripConfig(), catalogue=load_catalogue(),
                           keys=[p["keys"] for p in batch], repeats=[p["repeats"] for p in batch],
                           site_share=[p["share"] for p in batch], scorer=scorer)
    return out


def _features_of(page: dict, index: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and mask of the page's lines at ``index`` read as a page of their own."""
    lines = [page["clean_lines"][i] for i in index]
    keys = [page["keys"][i] for i in index]
    verdicts = strip(lines, StripConfig(context=False), catalogue=load_catalogue(), keys=keys)
    features = line_features(lines, [v is not None for v in verdicts], keys, page["repeats"][index],
                             page["share"][index])
    return features, page["y"][index], page["mask"][index]


def fit_variant(pages: list[dict], l2: float, words: bool = True) -> dict:
    """Both stages of a variant the shipped scorer cannot read (``--lexical``, ``--soft-rules``).

    Word weights join stage 1 when ``words``; pages may carry the features
    :func:`soften` widened. The model is for :func:`_variant_probabilities`.
    """
    from scipy.optimize import minimize

    counts: dict[str, int] = {}
    for page in pages if words else []:
        for token in set().union(*map(lexical_tokens, page["keys"])):
            counts[token] = counts.get(token, 0) + 1
    vocabulary = {t: i for i, t in enumerate(sorted(t for t, n in counts.items() if n >= LEXICAL_MIN_PAGES))}
    matrices = [_stage1_matrix(p, vocabulary) for p in pages]
    x = sparse.vstack([m[p["mask"]] for m, p in zip(matrices, pages)]).tocsr()
    y = np.concatenate([p["y"][p["mask"]] for p in pages]).astype(np.float64)
    dense = pages[0]["features"].shape[1]
    penalty = np.concatenate([[0.0], np.full(dense - 1, l2), np.full(len(vocabulary), LEXICAL_L2)])

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        p = _sigmoid(x @ w)
        value = -float(np.sum(y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))) + 0.5 * float(penalty @ (w * w))
        return value, x.T @ (p - y) + penalty * w

    model = {"vocabulary": vocabulary,
             "stage1": minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B", options={"maxiter": 400}).x}
    p1 = [_sigmoid(m @ model["stage1"]) for m in matrices]
    x2 = np.vstack([_stage2(p["features"], q)[p["mask"]] for p, q in zip(pages, p1)])
    model["stage2"] = fit_logistic(x2, y, l2)
    probs = _variant_probabilities(pages, model, p1)
    model["threshold"] = max(THRESHOLDS, key=lambda t: _f1(pages, probs, t)[2])
    return model


def _stage1_matrix(page: dict, vocabulary: dict[str, int]) -> sparse.csr_matrix:
    rows, cols = [], []
    for row, key in enumerate(page["keys"]):
        for token in lexical_tokens(key):
            column = vocabulary.get(token)
            if column is not None:
                rows.append(row)
                cols.append(column)
    words = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(page["keys"]), len(vocabulary)))
    return sparse.hstack([sparse.csr_matrix(page["features"]), words]).tocsr()


def _variant_probabilities(pages: list[dict], model: dict, p1: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """Scores of a :func:`fit_variant` model (``p1``: its stage-1 scores, when known)."""
    if p1 is None:
        p1 = [_sigmoid(_stage1_matrix(p, model["vocabulary"]) @ model["stage1"]) for p in pages]
    probs = []
    for page, q in zip(pages, p1):
        p2 = _sigmoid(_stage2(page["features"], q) @ model["stage2"])
        p2[np.array([v is not None for v in page["verdicts"]], dtype=bool)] = 0.0
        probs.append(p2)
    return probs


def _probabilities(pages: list[dict], model: dict) -> list[np.ndarray]:
    if "vocabulary" in model:
        return _variant_probabilities(pages, model)
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


def _report(pages: list[dict], kept: list[np.ndarray], stripped: list[np.ndarray | None]) -> str:
    """Content P / R / F1 of the model's verdicts, and of the stripper's when given."""
    precision, recall, f1 = _f1(pages, [k.astype(float) for k in kept], 0.5)
    out = f"content P {precision:.3f} R {recall:.3f} F1 {f1:.3f}"
    if all(s is not None for s in stripped):
        precision, recall, f1 = _f1(pages, [s.astype(float) for s in stripped if s is not None], 0.5)
        out += f"   dedupe strip: P {precision:.3f} R {recall:.3f} F1 {f1:.3f}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--cv", action="store_true", help="cross-validated scores")
    parser.add_argument("--write", action="store_true", help="write the model fitted on all pages")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--first-sight", action="store_true",
                        help="fit on the pages as the stripper first sees them only (no converged copies)")
    parser.add_argument("--lexical", action="store_true", help="with --cv: word weights in stage 1")
    parser.add_argument("--soft-rules", default="", metavar="FAMILIES",
                        help="with --cv: comma-separated rule families the model judges instead of removing")
    args = parser.parse_args()
    pages = load_pages(args.eval)
    families = [name for name in args.soft_rules.split(",") if name]
    if args.lexical or families:
        if args.write:
            parser.error("--lexical and --soft-rules are measured with --cv only; the shipped scorer cannot read them")
        unknown = sorted(set(families) - {v for page in pages for v in page["verdicts"] if v})
        if unknown:
            parser.error(f"--soft-rules: no line of the pages is removed by {', '.join(unknown)}")
        if families:
            soften(pages, families)
        fit = functools.partial(fit_variant, words=args.lexical)
    else:
        fit = functools.partial(fit_pages, converged=not args.first_sight)
    # Scored two ways: the model's own verdicts on each line of the page as it first is (what
    # the weights were fitted to), and `dedupe strip`'s verdicts with the model, its rounds and
    # its test for web pages (what users get; variants the scorer cannot read have the first only).
    through_stripper = not (args.lexical or families)

    def stripped(test: list[dict], model: dict) -> list[np.ndarray | None]:
        if not through_stripper:
            return [None] * len(test)
        return [np.array([v is None for v in verdicts]) for verdicts in strip_labelled(test, model)]

    if args.cv:
        order = list(range(len(pages)))
        random.Random(0).shuffle(order)
        folds = [order[k::5] for k in range(5)]
        scored: list[tuple[dict, np.ndarray, np.ndarray | None]] = []
        for fold in folds:
            held = set(fold)
            model = fit([pages[i] for i in order if i not in held], args.l2)
            test = [pages[i] for i in fold]
            scored += [(p, pr >= model["threshold"], kept)
                       for p, pr, kept in zip(test, _probabilities(test, model), stripped(test, model))]
        for source in ["ALL"] + sorted({p["source"] for p in pages}):
            subset = [row for row in scored if source in ("ALL", row[0]["source"])]
            print(f"5-fold by page  {source:<16} "
                  f"{_report([p for p, _, _ in subset], [k for _, k, _ in subset], [s for _, _, s in subset])}")
        for source in sorted({p["source"] for p in pages}):
            model = fit([p for p in pages if p["source"] != source], args.l2)
            test = [p for p in pages if p["source"] == source]
            kept = [pr >= model["threshold"] for pr in _probabilities(test, model)]
            print(f"source held out {source:<16} {_report(test, kept, stripped(test, model))}")
    model = fit(pages, args.l2)
    kept = [pr >= model["threshold"] for pr in _probabilities(pages, model)]
    print(f"fitted on all pages (in-sample) {_report(pages, kept, stripped(pages, model))} "
          f"threshold {model['threshold']}")
    if args.write:
        MODEL.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {MODEL.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
