"""Cleaning its own output removes nothing more: clean(clean(x)) == clean(x)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import CleanConfig, Cleaner, DedupConfig, clean, prepare
from dedupe.layout import take_out

from .conftest import ARTICLE, layout_documents


@given(layout_documents)
@settings(max_examples=200, deadline=None)
def test_the_per_document_stages_remove_nothing_from_their_output(text):
    prepared = prepare(text)
    removed = {n for n, verdict in enumerate(prepared.verdicts) if verdict is not None}
    out = take_out(prepared.text, removed)
    again = prepare(out)
    assert again.text == out  # nothing left to repair
    assert again.verdicts == [None] * len(again.paragraphs)
    assert again.paragraphs == [p for n, p in enumerate(prepared.paragraphs) if n not in removed]


@given(st.lists(layout_documents, max_size=8))
@settings(max_examples=60, deadline=None)
def test_stripping_its_own_output_changes_nothing(texts):
    config = CleanConfig(dedup=DedupConfig(enabled=False))
    once = [d["text"] for d in clean(texts, config)]
    assert [d["text"] for d in clean(once, config)] == once


@given(st.lists(layout_documents, max_size=8))
@settings(max_examples=60, deadline=None)
def test_cleaning_its_own_output_changes_nothing(texts):
    once = [d["text"] for d in clean(texts)]
    cleaner = Cleaner()
    twice = [r.text for r in cleaner.run(once)]
    assert twice == once
    assert sum(cleaner.stats.paragraphs_removed.values()) == 0


def test_a_line_break_sent_as_an_entity_is_broken_on_the_first_run():
    text = ARTICLE[0] + "&#10;Share this:&NewLine;" + ARTICLE[1]
    once = [d["text"] for d in clean([text])]
    assert once == [ARTICLE[0] + "\n" + ARTICLE[1]]
    assert [d["text"] for d in clean(once)] == once


def test_lines_of_one_key_in_one_page_go_with_their_copy_elsewhere_on_the_first_run():
    """Numbered versions of one line in a page share a match key but not a text: each must meet
    the near copy in another page, not only the first of them (cleaning the output found the rest)."""
    licensor = '"Licensor" means the individual, individuals, entity or entities'
    elsewhere = ("Another page keeps a different paragraph about mountain trails, weather and huts.\n"
                 f"  d. {licensor} that\n  offer(s) the Licensed Material under this Public License.\n")
    versions = (f"This page keeps a paragraph of its own about the harbour, the tides and the boats.\n"
                f" 6.  {licensor}\nVersion four follows.\n 3.  {licensor}\n")
    once = [d["text"] for d in clean([elsewhere, versions])]
    assert licensor not in once[1]
    cleaner = Cleaner()
    assert [r.text for r in cleaner.run(once)] == once
    assert sum(cleaner.stats.paragraphs_removed.values()) == 0
