"""The batch stages: each equals its per-document definition, whatever the text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.config import CleanConfig
from dedupe.fingerprint import load_kernels
from dedupe.layout import segment
from dedupe.stages import Batch, StageContext, count_lines
from dedupe.templates import line_hashes

#: Line breaks of every kind, blank runs, shared lines and characters whose keys fold together.
PIECES = st.sampled_from(["\n", "\r\n", "\r", "  ", "Home", "HOME!", "Share this:", "Page 1", "page 22",
                          "\u0085", "\u2028", "ﬁne", "ß", "\x0c", "é", "e\u0301"])
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=12)), max_size=30).map("".join)
DOCUMENTS = st.lists(st.tuples(TEXTS, st.sampled_from([None, "a.com", "b.org"])), max_size=12)
CONTEXT = StageContext(CleanConfig())


@given(DOCUMENTS, st.booleans())
@settings(max_examples=200, deadline=None)
def test_counted_lines_are_each_documents_line_hashes(documents, compiled):
    if compiled:
        load_kernels()  # the batch keys take the compiled path once the kernels are loaded
    counted = count_lines(CONTEXT, Batch([(number, text, site) for number, (text, site) in enumerate(documents)]))
    assert [site for site, _ in counted] == [site for _, site in documents]
    for (_, hashes), (text, _) in zip(counted, documents):
        assert hashes.tolist() == line_hashes(segment(text)).tolist()
