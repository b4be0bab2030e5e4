"""The per-document stages: normalise, segment and strip one document, or a batch.

:func:`prepare` is what every pass runs on a document before the
corpus-wide stages: the whole document repaired (:mod:`dedupe.normalize`),
cut into paragraphs (:mod:`dedupe.layout`) and stripped of page chrome
(:mod:`dedupe.strip`). Pass 1 may keep what it prepared for pass 2
(:func:`spill`, :func:`read_spilled`), which then does not repeat the work.
"""

from __future__ import annotations

import os
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import CleanConfig
from .keys import match_keys, paused_collector
from .layout import segment, split_lines_keepends
from .normalize import repair, repair_document
from .strip import Catalogue, strip_pages
from .templates import TemplateTable, key_hashes


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document after the per-document stages.

    ``text`` is the repaired document, layout and all; ``paragraphs`` are its
    non-blank lines, stripped (index = paragraph number in the removal
    record), ``verdicts`` the strip rule removing each one (``None`` = kept),
    ``keys`` their match keys.
    """

    paragraphs: list[str]
    keys: list[str]
    verdicts: list[str | None]
    text: str


def prepare(
    text: str,
    config: CleanConfig = CleanConfig(),
    catalogue: Catalogue | None = None,
    seconds: dict[str, float] | None = None,
    templates: TemplateTable | None = None,
    site: str | None = None,
) -> Prepared:
    """Run normalise, segment and strip on one document.

    The whole document is repaired before it is split into paragraphs, so a
    line break that arrived as an HTML entity separates paragraphs as a real
    one does.

    >>> p = prepare("Caf\\u00c3\\u00a9 news, fresh from the morning papers today.&#10;No comments:")
    >>> p.paragraphs, p.verdicts
    (['Café news, fresh from the morning papers today.', 'No comments:'], [None, 'comment-count'])
    """
    return prepare_many([(text, site)], config, catalogue, seconds, templates)[0]


def prepare_many(
    documents: Sequence[tuple[str, str | None]],
    config: CleanConfig = CleanConfig(),
    catalogue: Catalogue | None = None,
    seconds: dict[str, float] | None = None,
    templates: TemplateTable | None = None,
) -> list[Prepared]:
    """:func:`prepare` for a batch of (text, site) documents, stripped together.

    Each document comes out as :func:`prepare` makes it alone; the context
    pass scores the batch's pages in shared calls.

    >>> [p.verdicts for p in prepare_many([("No comments:", None), ("Post a Comment", None)])]
    [['comment-count'], ['comment-form']]
    """
    started = time.perf_counter()
    with paused_collector():  # the batch's lines and keys are many small objects
        texts: list[str] = []
        pages: list[list[str]] = []
        # per document that repair changed, the input line each paragraph came from (None: unchanged)
        sources: list[list[str] | None] = []
        for given, _ in documents:
            texts.append(_repaired(given, config))
            pages.append(segment(texts[-1]))
            changed = templates is not None and texts[-1] is not given and texts[-1] != given
            # counted on the raw lines, as the counting pass saw them (it does not repair): a
            # paragraph takes the count of the input line it came from
            sources.append(_source_lines(given) if changed else None)
        # the batch's keys in one call: a call per line costs four times as much (dedupe.keys); a
        # paragraph's key is that of its line (whitespace separates words), so the lines of a document
        # that repair did not change are keyed once
        changed_sources = [lines for lines in sources if lines is not None]
        flat = [line for lines in pages for line in lines]
        paragraphs = len(flat)
        keyed = match_keys(flat + [line for lines in changed_sources for line in lines])
        keys = _split_as(keyed[:paragraphs], pages)
        source_keys = iter(_split_as(keyed[paragraphs:], changed_sources))
        repeats: list[np.ndarray | None] = [None] * len(documents)
        shares: list[np.ndarray | None] = [None] * len(documents)
        site_pages = [0] * len(documents)
        if templates is not None and documents:
            counted = [keys[number] if lines is None else next(source_keys) for number, lines in enumerate(sources)]
            hashes = np.split(key_hashes([key for one in counted for key in one]),
                              np.cumsum([len(one) for one in counted])[:-1])
            found = templates.lookup_many(hashes, [site for _, site in documents])
            for number, (_, site) in enumerate(documents):
                repeats[number], shares[number] = found[number]
                # the site's evidence decides where a resolver follows (docs/strip.md)
                site_pages[number] = templates.site_pages(site) if config.dedup.enabled else 0
    normalized = time.perf_counter()
    verdicts = strip_pages(pages, config.strip, catalogue=catalogue, keys=keys, repeats=repeats, site_share=shares,
                           site_pages=site_pages)
    if seconds is not None:
        seconds["normalize"] = seconds.get("normalize", 0.0) + normalized - started
        seconds["strip"] = seconds.get("strip", 0.0) + time.perf_counter() - normalized
    return [Prepared(*parts) for parts in zip(pages, keys, verdicts, texts)]


def _split_as(flat: list[str], nested: Sequence[Sequence[str]]) -> list[list[str]]:
    """``flat`` cut into lists as long as those of ``nested``."""
    out, at = [], 0
    for items in nested:
        out.append(flat[at : at + len(items)])
        at += len(items)
    return out


def _source_lines(given: str) -> list[str]:
    """For each paragraph of the repaired ``given``, the input line it came from (a line's repair may
    make more than one paragraph of it)."""
    return [line for line in split_lines_keepends(given) for _ in segment(repair(line))]


def _repaired(text: str, config: CleanConfig) -> str:
    return repair_document(text) if config.normalize.repair else text


def spill(path: str, texts: Sequence[str], prepared: Sequence[Prepared]) -> None:
    """Keep a batch's prepared documents for pass 2: verdicts, and repaired text where repair changed it.

    ``texts`` are the documents as read; pass 2 has them again, so an
    unchanged text is not written.
    """
    with open(path, "wb") as out:
        pickle.dump([(None if p.text == text else p.text, p.verdicts) for text, p in zip(texts, prepared)], out,
                    protocol=pickle.HIGHEST_PROTOCOL)


def read_spilled(path: str, texts: Sequence[str]) -> list[Prepared]:
    """The batch :func:`spill` kept in ``path`` (removed once read), for the documents ``texts``.

    Match keys are not kept: assembly does not need them.
    """
    with open(path, "rb") as handle:
        kept = pickle.load(handle)
    os.unlink(path)
    prepared = []
    for given, (repaired, verdicts) in zip(texts, kept):
        text = given if repaired is None else repaired
        prepared.append(Prepared(segment(text), [], verdicts, text))
    return prepared
