"""A self-contained HTML page that shows what a run removed, and why.

Built from the removal record (and optionally the stats and the input): counts
per reason and rule, the largest duplicate clusters with the copy that was
kept, the most frequent boilerplate lines, and a per-document view in which
removed paragraphs are struck through with their reason on hover.

Everything taken from the corpus is escaped: scraped text is hostile, and a
``<script>`` inside a document must show as text. The page makes no network
requests (inline CSS, no scripts).

>>> html = render_report([{"doc_id": "a<b>", "paragraph": 0, "text": "<script>x()</script>",
...                        "reason": "boilerplate", "rule": "boilerplate-docs"}])
>>> "<script>x()" in html, "&lt;script&gt;x()" in html
(False, True)
"""

from __future__ import annotations

import html
import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .config import CleanConfig
from .errors import InputError
from .layout import segment
from .normalize import match_key, repair_document
from .outputs import check_output_paths
from .readers import FileSource
from .record import json_type, read_record
from .writers import AtomicFile

#: How many rows each ranked table shows.
TOP_ROWS = 25
#: Documents shown in the per-document view (the ones with most removals first).
MAX_DOCS = 200
#: Shown for a removal whose text a ``--record ids`` run did not write.
NO_TEXT = "(text not recorded)"

_CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#222;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.5rem 0}td,th{border-bottom:1px solid #eee;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{background:#f6f8fa;border-radius:8px;padding:.75rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}.doc{border:1px solid #e3e3e3;border-radius:8px;padding:.5rem 1rem;margin:1rem 0}
.doc h3{font-size:1rem;margin:.3rem 0}.p{margin:.2rem 0}.gone{text-decoration:line-through;color:#999}
.gone:hover{background:#fff3cd;color:#444}.tag{font-size:.75rem;background:#eee;border-radius:4px;padding:0 .35rem;margin-left:.4rem;color:#555}
.chrome{border-left:3px solid #d9534f;padding-left:.4rem}.duplicate{border-left:3px solid #f0ad4e;padding-left:.4rem}
.boilerplate{border-left:3px solid #5bc0de;padding-left:.4rem}.dropped{background:#fdecea;border-radius:4px;padding:.2rem .5rem}
.muted{color:#777}
"""  # noqa: E501 - a style sheet, one rule set per line


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_report(
    entries: Iterable[dict[str, Any]],
    stats: dict[str, Any] | None = None,
    documents: Iterable[tuple[str, list[str]]] | None = None,
    title: str = "dedupe report",
    doc_entries: Iterable[dict[str, Any]] | None = None,
) -> str:
    """The report page as one HTML string (see the module docstring).

    ``doc_entries`` may give the record a second time: the per-document view
    then keeps only the entries of the documents it shows, so memory stays
    bounded however long the record is.
    """
    by_reason: Counter[str] = Counter()
    by_rule: Counter[tuple[str, str]] = Counter()
    clusters: Counter[tuple[str, int]] = Counter()
    cluster_example: dict[tuple[str, int], str] = {}
    boiler: Counter[str] = Counter()
    boiler_text: dict[str, str] = {}
    per_doc: dict[str, dict[int | None, dict[str, Any]]] = defaultdict(dict)
    removals_per_doc: Counter[str] = Counter()
    for entry in entries:
        reason, rule = str(entry.get("reason")), str(entry.get("rule"))
        doc_id = str(entry.get("doc_id"))
        by_reason[reason] += 1
        by_rule[(reason, rule)] += 1
        removals_per_doc[doc_id] += 1
        if documents is not None and doc_entries is None:
            paragraph = entry.get("paragraph")
            per_doc[doc_id][paragraph if isinstance(paragraph, int) else None] = entry
        if reason == "duplicate" and entry.get("kept_doc_id") is not None:
            key = (str(entry["kept_doc_id"]), int(entry.get("kept_paragraph") or 0))
            clusters[key] += 1
            cluster_example.setdefault(key, _text_of(entry))
        elif reason == "boilerplate" and entry.get("text") is not None:  # a record without text groups no lines
            text = str(entry["text"])
            k = match_key(text)
            boiler[k] += 1
            boiler_text.setdefault(k, text)

    out = [(f"<!doctype html><html lang=en><head><meta charset=utf-8>"
           f"<meta name=viewport content='width=device-width,initial-scale=1'><title>{_e(title)}</title>"
           f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>")]
    out.append(_summary(stats, by_reason))
    out.append("<h2>Removals by reason and rule</h2><table><tr><th>reason</th><th>rule</th><th class=n>count</th></tr>")
    for (reason, rule), count in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0])):
        out.append(f"<tr><td>{_e(reason)}</td><td>{_e(rule)}</td><td class=n>{count:,}</td></tr>")
    out.append("</table>")

    out.append(f"<h2>Largest duplicate clusters</h2><p class=muted>The kept copy, and how many copies of it "
               f"were removed (top {TOP_ROWS}).</p><table><tr><th>kept in</th><th>paragraph (a removed copy)</th>"
               "<th class=n>copies removed</th></tr>")
    for (doc, par), count in clusters.most_common(TOP_ROWS):
        out.append(f"<tr><td>{_e(doc)} ¶{par}</td><td>{_e(_clip(cluster_example[(doc, par)]))}</td>"
                   f"<td class=n>{count:,}</td></tr>")
    out.append("</table>")

    out.append("<h2>Most frequent boilerplate</h2><table><tr><th>line</th><th class=n>copies removed</th></tr>")
    for line_key, count in boiler.most_common(TOP_ROWS):
        out.append(f"<tr><td>{_e(_clip(boiler_text[line_key]))}</td><td class=n>{count:,}</td></tr>")
    out.append("</table>")

    if documents is not None:
        out.append(f"<h2>Documents</h2><p class=muted>Removed paragraphs are struck through; hover for the "
                   f"reason. The {MAX_DOCS} documents with most removals.</p>")
        wanted = {d for d, _ in removals_per_doc.most_common(MAX_DOCS)}
        if doc_entries is not None:
            for entry in doc_entries:
                doc_id = str(entry.get("doc_id"))
                if doc_id in wanted:
                    paragraph = entry.get("paragraph")
                    per_doc[doc_id][paragraph if isinstance(paragraph, int) else None] = entry
        shown = 0
        for doc_id, paragraphs in documents:
            if doc_id not in wanted or shown >= MAX_DOCS:
                continue
            shown += 1
            out.append(_document(doc_id, paragraphs, per_doc.get(doc_id, {})))
    out.append("<p class=muted>Generated by dedupe. Every text from the corpus on this page is escaped.</p>"
               "</body></html>\n")
    return "".join(out)


def _summary(stats: dict[str, Any] | None, by_reason: Counter[str]) -> str:
    cards = []
    if stats:
        docs, pars = stats.get("documents", {}), stats.get("paragraphs", {})
        for label, value in (("documents in", docs.get("in")), ("documents kept", docs.get("kept")),
                             ("documents dropped", docs.get("dropped")), ("paragraphs in", pars.get("in")),
                             ("paragraphs kept", pars.get("kept")), ("paragraphs removed", pars.get("removed"))):
            if isinstance(value, int):
                cards.append(f"<div class=card><b>{value:,}</b>{_e(label)}</div>")
    for reason, count in by_reason.most_common():
        cards.append(f"<div class=card><b>{count:,}</b>{_e(reason)}</div>")
    return "<div class=cards>" + "".join(cards) + "</div>"


def _document(doc_id: str, paragraphs: list[str], removed: dict[int | None, dict[str, Any]]) -> str:
    parts = [f"<div class=doc><h3>{_e(doc_id)}</h3>"]
    whole = removed.get(None)
    if whole is not None:
        target = f" → kept in {_e(whole.get('kept_doc_id'))}" if whole.get("kept_doc_id") else ""
        parts.append(f"<p class=dropped>Whole document dropped: {_e(whole.get('reason'))} / "
                     f"{_e(whole.get('rule'))}{target}</p>")
    for number, text in enumerate(paragraphs):
        entry = removed.get(number)
        if entry is None and whole is not None:
            parts.append(f"<p class='p gone' title='dropped with the document'>{_e(text)}"
                         f"<span class=tag>dropped with the document</span></p>")
            continue
        if entry is None:
            parts.append(f"<p class=p>{_e(text)}</p>")
            continue
        reason, rule = entry.get("reason"), entry.get("rule")
        hover = f"{reason}: {rule}"
        if entry.get("kept_doc_id") is not None:
            hover += f" (kept in {entry['kept_doc_id']} ¶{entry.get('kept_paragraph')}"
            if entry.get("similarity") is not None:
                hover += f", similarity {entry['similarity']}"
            hover += ")"
        parts.append(f"<p class='p gone {_e(reason)}' title='{_e(hover)}'>{_e(text)}"
                     f"<span class=tag>{_e(reason)}/{_e(rule)}</span></p>")
    parts.append("</div>")
    return "".join(parts)


def _text_of(entry: dict[str, Any]) -> str:
    text = entry.get("text")
    return NO_TEXT if text is None else str(text)


def _clip(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_documents(inputs: list[str], config: CleanConfig) -> Iterator[tuple[str, list[str]]]:
    """(id, repaired paragraphs) of the input documents, numbered as in the record."""
    source = FileSource(inputs, config.read)
    try:
        for record in source.records():
            if record.error is not None:
                continue
            text = repair_document(record.text) if config.normalize.repair else record.text
            yield record.doc_id, segment(text)
    finally:
        source.close()


def read_stats(path: str | Path) -> dict[str, Any]:
    """A stats file written by ``--stats``; anything else is an :class:`InputError`.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     _ = f.write("[1, 2]")
    >>> read_stats(f.name)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dedupe.errors.InputError: ...json: not a stats file: a JSON list, not an object
    >>> Path(f.name).unlink()
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(str(path), f"cannot read stats: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, numbers past the digit limit
        raise InputError(str(path), f"cannot read stats: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(str(path), f"not a stats file: a JSON {json_type(data).split()[-1]}, not an object")
    for section in ("documents", "paragraphs"):
        if not isinstance(data.get(section, {}), dict):
            raise InputError(str(path), f"not a stats file: {section!r} is {json_type(data[section])}, "
                                        "not an object")
    return data


def build_report(
    removed: str | Path,
    stats: str | Path | None = None,
    inputs: list[str] | None = None,
    config: CleanConfig = CleanConfig(),
) -> str:
    """Read a removal record (and stats, and inputs) and render the report page."""
    stats_data = None
    if stats is not None:
        stats_data = read_stats(stats)
    documents = load_documents(inputs, config) if inputs else None
    return render_report(read_record(removed), stats_data, documents, title=f"dedupe report: {Path(removed).name}",
                         doc_entries=read_record(removed) if inputs else None)


def write_report(
    output: str | Path,
    removed: str | Path,
    stats: str | Path | None = None,
    inputs: list[str] | None = None,
    config: CleanConfig = CleanConfig(),
) -> None:
    """Write :func:`build_report`'s page to ``output``, atomically; never over one of the files it reads.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "removed.jsonl").write_text('{"doc_id": "a", "paragraph": 0, "text": "Share this:", '
    ...                                           '"reason": "chrome", "rule": "share"}\\n')
    >>> write_report(folder / "report.html", folder / "removed.jsonl")
    >>> (folder / "report.html").read_text().startswith("<!doctype html>")
    True
    """
    check_output_paths([("report", output, False)], [removed, *([stats] if stats else []), *(inputs or [])])
    page = build_report(removed, stats, inputs, config)
    target = AtomicFile(output)
    try:
        target.write(page.encode("utf-8"))
        target.commit()
    finally:
        target.abort()
