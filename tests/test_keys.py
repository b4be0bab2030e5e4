"""Batch match keys: equal to the per-line match key, whatever the text."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dedupe.fingerprint import load_kernels
from dedupe.keys import match_keys
from dedupe.normalize import match_key

pytestmark = pytest.mark.skipif(load_kernels() is None, reason="numba is not installed")

#: Characters that stress the proof: combining marks after a line break,
#: compatibility forms, digits of other scripts, case folds that grow.
TRICKY = "\u0301\u0308\u1100\u1161\u11a8ﬁＷ０１٣۳߀_ßİſΣς\u00a0…½²\u2028\u0085\r\t\ufeff\ud800"
lines = st.lists(st.text(st.one_of(st.characters(exclude_categories=()), st.sampled_from(TRICKY + " .,-1a")),
                         max_size=60), max_size=40)


@given(lines, st.booleans())
@settings(max_examples=300, deadline=None)
def test_batch_keys_equal_keys_line_by_line(batch, fold_digits):
    assert match_keys(batch, fold_digits) == [match_key(line, fold_digits) for line in batch]


def test_every_code_point_keys_as_it_does_alone():
    points = [chr(c) for c in range(0x110000)]
    # each code point at a word start and before a digit, 32 to a line
    batch = [" ".join(c + "1" for c in points[start : start + 32]) for start in range(0, len(points), 32)]
    for fold_digits in (True, False):
        assert match_keys(batch, fold_digits) == [match_key(line, fold_digits) for line in batch]


def test_no_character_folds_into_a_line_break():
    # the joined batch splits back into its lines only if this holds
    made = [c for c in map(chr, range(0x110000)) if c != "\n"
            and ("\n" in c.casefold() or "\n" in unicodedata.normalize("NFKC", c))]
    assert made == []


def test_lines_holding_line_breaks_still_get_their_own_keys():
    batch = ["one\ntwo 3", "four"]
    assert match_keys(batch) == ["one two 0", "four"]


@given(st.lists(st.text(st.characters(max_codepoint=127), max_size=80), max_size=30), st.booleans())
@settings(max_examples=100, deadline=None)
def test_ascii_batches_key_as_their_lines(batch, fold_digits):
    assert match_keys(batch, fold_digits) == [match_key(line, fold_digits) for line in batch]


sentences = st.lists(st.sampled_from(["Storm Ada hit the coast.", "It cost $4.5m.", "Mr.", "Call 555-0199 now!",
                                      "CVE-2022-0794: use after free in WebShare, reported on 3 May 2022.",
                                      "Prices rose 12% in the third quarter of 2024, the office said."]),
                     max_size=6).map(" ".join)


@given(st.lists(sentences, max_size=12))
@settings(max_examples=100, deadline=None)
def test_sentences_hashed_for_a_batch_are_each_paragraphs_own(paragraphs):
    from dedupe.features import sentence_hashes, sentence_hashes_many

    assert sentence_hashes_many(paragraphs) == [sentence_hashes(p) for p in paragraphs]


@given(st.lists(sentences, max_size=12))
@settings(max_examples=100, deadline=None)
def test_exact_keys_from_batch_keys_are_the_line_by_line_ones(paragraphs):
    from dedupe.features import exact_key, needs_unfolded

    keys = match_keys(paragraphs)
    unfolded = match_keys(paragraphs, fold_digits=False)
    for text, key, digits in zip(paragraphs, keys, unfolded):
        given_unfolded = digits if needs_unfolded(key) else None
        assert exact_key(text, key, unfolded=given_unfolded) == exact_key(text, match_key(text))


one_sentence = st.lists(st.sampled_from(["Storm", "Ada", "hit", "the", "coast", "on", "3", "May", "2022", "bug",
                                         "#1038603", "https://bugs.debian.org/961097", "<a@b.org>", "www.x.org",
                                         "ＷＷＷ．ｘ．ｏｒｇ", "＠", "v2.6.1", "40,000", "Closes:", "John"]),
                        min_size=1, max_size=34).map(" ".join)


@given(st.lists(st.one_of(one_sentence, sentences), min_size=1, max_size=12))
@example(["The crash in the parser was fixed as bug https://x.org <a@b.org> 5 says the log"])  # masks differ
@settings(max_examples=150, deadline=None)
def test_a_batchs_sentences_are_those_of_each_paragraph(paragraphs):
    from dedupe.config import DedupConfig
    from dedupe.features import fingerprint_documents, sentence_hashes
    from dedupe.fingerprint import Fingerprinter
    from dedupe.prepare import Prepared

    keys = [match_key(text) for text in paragraphs]
    prepared = Prepared(paragraphs, keys, [None] * len(paragraphs), "\n".join(paragraphs))
    table = fingerprint_documents([(0, prepared)], Fingerprinter(num_perm=16), DedupConfig(), {}).paragraphs
    rows = [row for row, key in enumerate(keys) if key]
    expected = [(row, *found) for row in rows for found in sentence_hashes(paragraphs[row])]
    found = [(rows[int(row)], int(h), int(n)) for row, h, n in zip(table.sent_row, table.sent_hash, table.sent_len)]
    assert found == expected


pages = st.lists(st.tuples(st.sampled_from([None, "a.com", "b.org", "c.net"]),
                           st.lists(st.sampled_from(["Home", "About us", "Story one", "Story two", "--", "Menu"]),
                                    max_size=6)), max_size=8)


@given(pages, pages)
@settings(max_examples=100, deadline=None)
def test_line_counts_looked_up_for_a_batch_are_each_documents_own(counted, looked_up):
    from dedupe.templates import TemplateTable, line_hashes, line_hashes_many

    table = TemplateTable.build(counted)
    hashes = line_hashes_many([lines for _, lines in looked_up])
    found = table.lookup_many(hashes, [site for site, _ in looked_up])
    for (site, lines), one, (others, share) in zip(looked_up, hashes, found, strict=True):
        assert one.tolist() == line_hashes(lines).tolist()
        alone = table.lookup(lines, site)
        assert others.tolist() == alone[0].tolist() and share.tolist() == alone[1].tolist()
