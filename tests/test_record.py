"""The removal record: each removed text once, ids-only records, and reading it back (explain, report)."""

from __future__ import annotations

import json
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import Cleaner, ConfigError, InputError
from dedupe import record as record_module
from dedupe.cli import app
from dedupe.layout import segment
from dedupe.normalize import repair_document
from dedupe.record import dumps_entry, read_record, record_entries

from .conftest import ARTICLE, OTHER, read_jsonl, write_jsonl

NEW = "A reader wrote in to say that the harbour wall had been repaired twice since the last storm of this size."
DOCS = [
    {"id": "wire", "text": "\n".join(ARTICLE + OTHER)},
    # every paragraph a copy: dropped as a duplicate document, with a chrome line inside
    {"id": "repost", "text": "  " + ARTICLE[0] + "\r\n\r\nShare this:\r\n" + "\r\n".join(ARTICLE[1:]) + "\r\n"},
    {"id": "letter", "text": "Tom &amp; Jerry&#10;" + NEW + "\n\n" + OTHER[0] + "\nNo comments:"},
]


def invoke(runner, *args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("record")
    source = write_jsonl(folder / "in.jsonl", DOCS)
    paths = {}
    for mode in ("full", "ids"):
        out, rec = folder / f"{mode}.jsonl", folder / f"{mode}.removed.jsonl"
        result = invoke(CliRunner(), "clean", source, "-o", out, "--removed", rec, "--record", mode, "-j", "1", "-q")
        assert result.exit_code == 0, result.output
        paths[mode] = (out, rec)
    return source, paths


def test_each_removed_text_is_written_once(recorded):
    _, paths = recorded
    entries = read_jsonl(paths["full"][1])
    repost = [e for e in entries if e["doc_id"] == "repost"]
    # the verdict on the document comes first and carries the text; its paragraphs carry none
    assert repost[0]["paragraph"] is None and repost[0]["reason"] == "duplicate-document"
    assert repost[0]["text"] == DOCS[1]["text"]
    assert [e["text"] for e in repost[1:]] == [None] * 5 and {e["reason"] for e in repost[1:]} == {"duplicate",
                                                                                                    "chrome"}
    letter = [e for e in entries if e["doc_id"] == "letter"]
    assert [e["text"] for e in letter] == [OTHER[0], "No comments:"]
    written = "".join(e["text"] or "" for e in entries)
    assert written.count(ARTICLE[1]) == 1


def test_input_is_rebuilt_from_the_output_and_the_record(recorded):
    _, paths = recorded
    out, rec = paths["full"]
    kept = {d["id"]: segment(d["text"]) for d in read_jsonl(out)}
    entries = list(read_record(rec))
    for doc in DOCS:
        paragraphs = segment(repair_document(doc["text"]))
        whole = [e for e in entries if e["doc_id"] == doc["id"] and e["paragraph"] is None]
        if whole:
            assert segment(whole[0]["text"]) == paragraphs
        removed = {e["paragraph"]: e["text"] for e in entries
                   if e["doc_id"] == doc["id"] and e["paragraph"] is not None}
        rest = iter(kept.get(doc["id"], []))
        rebuilt = [removed[n] if n in removed else next(rest) for n in range(len(paragraphs))]
        assert rebuilt == paragraphs, doc["id"]


def test_an_ids_record_has_everything_but_the_text(recorded):
    _, paths = recorded
    full, ids = read_jsonl(paths["full"][1]), read_jsonl(paths["ids"][1])
    assert [{**e, "text": None} for e in full] == ids
    assert paths["full"][0].read_bytes() == paths["ids"][0].read_bytes()
    assert paths["ids"][1].stat().st_size < paths["full"][1].stat().st_size


def test_record_ids_needs_a_record_and_the_library_refuses_unknown_modes(runner, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", DOCS)
    for command in ("clean", "strip"):
        result = invoke(runner, command, source, "--record", "ids", "-q")
        assert result.exit_code == 1 and "--record ids needs --removed" in result.stderr
    assert invoke(runner, "clean", source, "--record", "text", "-q").exit_code == 2
    with pytest.raises(ConfigError, match="record mode"):
        record_entries([], "short")


def test_library_writes_the_same_record_as_the_command_line(recorded):
    _, paths = recorded
    lines = b"".join(dumps_entry(e) for result in Cleaner().run(DOCS) for e in record_entries(result.removals))
    assert lines == paths["full"][1].read_bytes()


def test_explain_prints_the_document_verdict_first_and_the_paragraph_texts(runner, recorded):
    _, paths = recorded
    result = invoke(runner, "explain", "repost", "--removed", paths["full"][1])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("document") and "duplicate-document/min-kept -> kept in wire" in lines[0]
    assert lines[1].strip().startswith(ARTICLE[0] + " Share this: " + ARTICLE[1][:20])
    assert lines[2].startswith("paragraph 0") and lines[3].strip() == ARTICLE[0]
    assert "paragraph 1" in lines[4] and "chrome/share" in lines[4] and lines[5].strip() == "Share this:"
    result = invoke(runner, "explain", "repost", "--removed", paths["ids"][1])
    assert result.exit_code == 0 and "(text not recorded)" in result.stdout


def test_explain_puts_the_document_first_in_records_that_list_it_last(runner, tmp_path):
    rec = write_jsonl(tmp_path / "old.jsonl", [
        {"doc_id": "d", "paragraph": 0, "text": "Share this:", "reason": "chrome", "rule": "share"},
        {"doc_id": "d", "paragraph": None, "text": "Share this:", "reason": "empty", "rule": "nothing-left"},
    ])
    result = invoke(runner, "explain", "d", "--removed", rec)
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.stdout.splitlines()[::2]] == ["document", "paragraph"]


def test_explain_stops_after_the_document_and_skips_other_lines_unparsed(runner, tmp_path):
    good = {"doc_id": "d", "paragraph": 2, "text": "Share this:", "reason": "chrome", "rule": "share"}
    other = {"doc_id": "e", "paragraph": 0, "text": "x", "reason": "chrome", "rule": "share"}
    rec = tmp_path / "r.jsonl"
    # the broken line after the document would be an error if reading went on
    rec.write_text(json.dumps(other) + "\n{broken\n" + json.dumps(good) + "\n" + json.dumps(other)
                   + '\n{"doc_id": "d", broken\n')
    result = invoke(runner, "explain", "d", "--removed", rec)
    assert result.exit_code == 0 and result.stdout.count("paragraph 2") == 1
    # a line that may be the document's is parsed, and a broken one is an error naming it
    rec.write_text(json.dumps(other) + '\n{"doc_id": "d", broken\n' + json.dumps(good) + "\n")
    result = invoke(runner, "explain", "d", "--removed", rec)
    assert result.exit_code == 1 and "r.jsonl:2" in result.stderr and "Traceback" not in result.output
    (tmp_path / "x.jsonl").write_text("not a record\n")
    result = invoke(runner, "explain", "d", "--removed", tmp_path / "x.jsonl")
    assert result.exit_code == 1 and "x.jsonl:1" in result.stderr


def test_report_reads_both_kinds_of_record(runner, recorded, tmp_path):
    source, paths = recorded
    for mode in ("full", "ids"):
        page = tmp_path / f"{mode}.html"
        result = invoke(runner, "report", source, "--removed", paths[mode][1], "-o", page)
        assert result.exit_code == 0, result.output
        html = page.read_text(encoding="utf-8")
        assert "repost" in html and "duplicate-document" in html
        # the largest cluster's example is a removed copy, text taken from the dropped document's line
        assert (ARTICLE[0][:50] in html.split("Largest duplicate clusters")[1].split("</table>")[0]) == (mode == "full")


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "é", 'q"x']), st.integers(0, 3)), max_size=12),
       st.sampled_from(["a", "é", 'q"x']), st.integers(1, 64))
@settings(max_examples=200, deadline=None)
def test_reading_one_document_equals_reading_all_and_keeping_its_first_run(tmp_path_factory, groups, wanted, chunk):
    rows = []
    for doc_id, count in groups:
        rows.append({"doc_id": doc_id, "paragraph": None, "text": "x\ny", "reason": "empty", "rule": "r",
                     "kept_doc_id": wanted})
        rows += [{"doc_id": doc_id, "paragraph": n % 2, "text": None, "reason": "chrome", "rule": "r"}
                 for n in range(count)]
    path = tmp_path_factory.mktemp("rec") / "r.jsonl"
    path.write_bytes(b"".join(dumps_entry(r) for r in rows))
    expected = []
    for entry in read_record(path):
        if entry["doc_id"] == wanted:
            expected.append(entry)
        elif expected:
            break
    with patch.object(record_module, "SCAN_CHUNK_BYTES", chunk):
        assert list(read_record(path, wanted)) == expected
        assert all(e["text"] in ("x\ny", "x", "y") for e in expected)
        # a broken line after the document's first line is reported with its number
        broken = b'{"doc_id": ' + json.dumps(wanted, ensure_ascii=False).encode() + b" broken\n"
        path.write_bytes(b"".join(dumps_entry(r) for r in rows) + broken)
        if not expected:
            with pytest.raises(InputError, match=f":{len(rows) + 1}:"):
                list(read_record(path, wanted))


def test_explain_says_a_kept_document_was_kept_before_its_removed_paragraphs(runner, tmp_path):
    rec = write_jsonl(tmp_path / "r.jsonl", [
        {"doc_id": "d", "paragraph": 1, "text": "Share this:", "reason": "chrome", "rule": "share"},
        {"doc_id": "d", "paragraph": 4, "text": "Leave a comment", "reason": "chrome", "rule": "comment-form"},
    ])
    result = invoke(runner, "explain", "d", "--removed", rec)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["document", "kept,", "2", "paragraph(s)", "removed"]
    assert lines[1].startswith("paragraph 1") and lines[3].startswith("paragraph 4")


#: Text the record's JSON must escape exactly as json does: quotes, backslashes, controls, non-ASCII.
RECORD_TEXT = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)),
                                st.sampled_from('"\\\x00\x1f\x7f\u2028é')), max_size=20)
COLUMN_ROW = st.one_of(
    st.tuples(st.integers(0, 10**6), RECORD_TEXT, st.just("chrome"), RECORD_TEXT, st.none(), st.none(), st.none()),
    st.tuples(st.integers(0, 10**6), RECORD_TEXT, st.just("duplicate"), st.sampled_from(["exact", "minhash"]),
              RECORD_TEXT, st.integers(0, 10**6),
              st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 1, width=32))))


@given(RECORD_TEXT, st.lists(COLUMN_ROW, max_size=6), st.integers(0, 3), st.booleans(),
       st.sampled_from(["full", "ids"]))
@settings(max_examples=300, deadline=None)
def test_record_lines_from_columns_are_the_removals_lines(doc_id, rows, cut, dropped, mode):
    columns = record_module.RemovalColumns(*map(list, zip(*rows))) if rows else record_module.RemovalColumns(
        [], [], [], [], [], [], [])
    whole = record_module.Removal(doc_id, None, "the whole text", "empty", "nothing-left") if dropped else None
    removals = record_module.DocumentRemovals(doc_id, whole, columns, min(cut, len(rows)), len(rows))
    expected = b"".join(dumps_entry(entry) for entry in record_entries(removals.removals(), mode))
    assert removals.dumps(mode) == expected
    assert len(removals) == len(removals.removals())
