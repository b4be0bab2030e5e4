"""Hostile and broken input: every case has a chosen behaviour, and none crashes.

Each test names the behaviour: a clear one-line error with file and line (exit
1), or a skip recorded in the removal record (``--skip-bad``), or cleaning as
usual. Fuzzers (hypothesis) feed random bytes and text to the readers and the
per-document stages.
"""

from __future__ import annotations

import gzip
import json
import signal
import subprocess
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe import CleanConfig, Cleaner
from dedupe.cli import app
from dedupe.config import ReadConfig
from dedupe.prepare import prepare
from dedupe.readers import FileSource, parse_json_record
from dedupe.report import render_report

from .conftest import ARTICLE, OTHER, read_jsonl, write_jsonl


def invoke(runner, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def assert_clean_failure(result, *needles):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "Traceback" not in (result.stderr or "")
    line = result.stderr.strip().splitlines()[-1]
    for needle in needles:
        assert needle in line, line


def test_cp1252_text_file_is_rejected_with_a_hint_or_decoded_on_request(runner, tmp_path):
    (tmp_path / "legacy.txt").write_bytes("Café crème “quoted” – ok".encode("cp1252"))
    result = invoke(runner, "clean", tmp_path / "legacy.txt", "-q")
    assert_clean_failure(result, "legacy.txt", "invalid UTF-8", "--fallback-encoding")
    result = invoke(runner, "clean", tmp_path / "legacy.txt", "--fallback-encoding", "cp1252", "-q")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == "Café crème “quoted” – ok"


def test_unknown_fallback_encoding_is_a_clear_error(runner, tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    assert_clean_failure(invoke(runner, "clean", tmp_path / "a.txt", "--fallback-encoding", "klingon"),
                         "unknown encoding")


def test_nul_bytes_and_control_characters_inside_json_text_are_removed_not_fatal(runner, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": ARTICLE[0] + "\u0000\u0007\n" + OTHER[0] + "\x1b[31m"}])
    result = invoke(runner, "clean", tmp_path / "a.jsonl", "-q")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["text"] == ARTICLE[0] + "\n" + OTHER[0]


def test_a_huge_single_line_is_cleaned_in_seconds(tmp_path):
    line = ("word " * 9 + "end. ") * 200_000  # 10 MB, no newline
    started = time.perf_counter()
    results = list(Cleaner().run([line, line]))
    assert time.perf_counter() - started < 60
    assert results[0].kept and not results[1].kept  # the copy is a duplicate document


def test_many_tiny_documents(tmp_path):
    docs = [{"id": i, "text": f"tiny {i}"} for i in range(20_000)]
    cleaner = Cleaner()
    kept = sum(1 for r in cleaner.run(docs) if r.kept)
    assert cleaner.stats.documents_in == 20_000 and kept == 20_000  # digits are content in short lines


def test_empty_files_and_empty_documents(runner, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "empty.jsonl").write_text("")
    (tmp_path / "in" / "empty.txt").write_text("")
    write_jsonl(tmp_path / "in" / "docs.jsonl", [{"id": "e", "text": ""}, {"id": "n", "text": None},
                                                {"id": "ok", "text": ARTICLE[0]}])
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "in", "--removed", rec, "-q")
    assert result.exit_code == 0
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["ok"]
    assert sorted(r["doc_id"] for r in read_jsonl(rec)) == ["e", "empty.txt", "n"]


def test_duplicate_ids_are_cleaned_with_a_warning(runner, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": ARTICLE[0]}, {"id": "x", "text": OTHER[0]}])
    result = invoke(runner, "clean", tmp_path / "a.jsonl")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    assert "occur more than once" in result.stderr


def test_crlf_lone_cr_rtl_and_zero_width_characters(tmp_path):
    hebrew = "שלום עולם, זה משפט ארוך מספיק כדי להיות פסקה בפני עצמה."
    text = ARTICLE[0] + "\r\n" + hebrew + "\r" + "zero\u200bwidth\u200djoin"
    (result,) = list(Cleaner().run([text]))
    assert result.paragraphs == [ARTICLE[0], hebrew, "zero\u200bwidth\u200djoin"]
    assert result.text == text  # line endings are the document's own


def test_deeply_nested_and_huge_json_fields(runner, tmp_path):
    nested = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.jsonl"
    path.write_text(f'{{"id": 1, "text": "{ARTICLE[0]}", "meta": {nested}}}\n'
                    + json.dumps({"id": 2, "text": OTHER[0]}) + "\n")
    result = invoke(runner, "clean", path, "-q")
    assert_clean_failure(result, "deep.jsonl:1")
    result = invoke(runner, "clean", path, "-q", "--skip-bad")
    assert result.exit_code == 0 and json.loads(result.stdout)["id"] == 2
    big = {"id": 3, "text": ARTICLE[1], "meta": {"blob": "x" * 2_000_000}}
    write_jsonl(tmp_path / "big.jsonl", [big])
    result = invoke(runner, "clean", tmp_path / "big.jsonl", "-q")
    assert result.exit_code == 0 and json.loads(result.stdout) == big


def test_documents_made_only_of_chrome(tmp_path):
    (result,) = list(Cleaner().run(["No comments:\nPost a Comment\nShare this:\nNewer Post Older Post Home"]))
    assert not result.kept and result.removals[0].rule == "nothing-left"
    assert len(result.removals) == 5


def test_sigterm_leaves_no_output_and_no_temporary_files(tmp_path):
    docs = [{"id": i, "text": f"{ARTICLE[i % 4]} Paragraph variant number {i} about topic {i * 31}."}
            for i in range(60_000)]
    write_jsonl(tmp_path / "big.jsonl", docs)
    out = tmp_path / "out" / "clean.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "dedupe", "clean", str(tmp_path / "big.jsonl"), "-o", str(out),
                                "--removed", str(tmp_path / "out" / "rec.jsonl"), "-q"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert "terminated; no output was written" in stderr and "Traceback" not in stderr
    assert not out.exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [] if (tmp_path / "out").exists() else True


def test_report_escapes_hostile_text_and_needs_no_network(runner, tmp_path):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    docs = [{"id": "<b>a</b>", "text": ARTICLE[0] + "\n" + hostile}, {"id": "b", "text": ARTICLE[0] + "\nShare this:"}]
    write_jsonl(tmp_path / "in.jsonl", docs)
    rec, stats, page = tmp_path / "rec.jsonl", tmp_path / "stats.json", tmp_path / "report.html"
    assert invoke(runner, "clean", tmp_path / "in.jsonl", "--removed", rec, "--stats", stats, "-q").exit_code == 0
    entries = read_jsonl(rec)
    entries.append({"doc_id": "x", "paragraph": 0, "text": hostile, "reason": "boilerplate", "rule": "<i>r</i>"})
    entries.append({"doc_id": "<b>a</b>", "paragraph": 1, "text": hostile, "reason": "chrome", "rule": "x"})
    write_jsonl(rec, entries)
    result = invoke(runner, "report", tmp_path / "in.jsonl", "--removed", rec, "--stats", stats, "-o", page)
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert "<script>" not in html and "<img" not in html and "<i>r</i>" not in html and "<b>a</b>" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "http://" not in html and "https://" not in html and "src=" not in html.replace("src=x", "")
    assert "gone" in html and "duplicate" in html


def test_report_rejects_a_file_that_is_not_a_removal_record(runner, tmp_path):
    (tmp_path / "r.jsonl").write_text('{"doc_id": 1}\n')
    assert_clean_failure(invoke(runner, "report", "--removed", tmp_path / "r.jsonl", "-o", tmp_path / "x.html"),
                         "r.jsonl:1")


# -- fuzzing ---------------------------------------------------------------------

FUZZED = {"readers": 0, "documents": 0}


@given(st.binary(max_size=400))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_jsonl_line_parser_never_raises(data):
    FUZZED["readers"] += 1
    record = parse_json_record(data, 0, "f:1", ReadConfig())
    assert (record.error is None) == isinstance(record.text, str) or record.error is not None


@given(st.lists(st.binary(max_size=200), max_size=8), st.sampled_from([".jsonl", ".txt", ".jsonl.gz"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzz_file_reader_yields_records_or_errors(tmp_path, chunks, suffix):
    FUZZED["readers"] += 1
    data = b"\n".join(chunks)
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(gzip.compress(data, mtime=0) if suffix.endswith(".gz") else data)
    source = FileSource([path], ReadConfig())
    try:
        records = list(source.records())
    finally:
        source.close()
    for record in records:
        assert record.error is not None or isinstance(record.text, str)


@given(st.text(max_size=600))
@settings(max_examples=300, deadline=None)
def test_fuzz_per_document_stages(text):
    FUZZED["documents"] += 1
    prepared = prepare(text)
    assert len(prepared.paragraphs) == len(prepared.verdicts) == len(prepared.keys)
    again = prepare("\n".join(p for p, v in zip(prepared.paragraphs, prepared.verdicts) if v is None))
    assert all(v is None for v in again.verdicts)


@given(st.lists(st.text(max_size=120), max_size=6))
@settings(max_examples=60, deadline=None)
def test_fuzz_whole_pipeline_accounts_for_everything(texts):
    cleaner = Cleaner(CleanConfig())
    results = list(cleaner.run(texts))
    assert cleaner.stats.check() == []
    assert len(results) == len(texts)


def test_report_renders_hostile_records_in_memory():
    html = render_report([{"doc_id": "\u202eevil", "paragraph": None, "text": "</p><script>", "reason": "empty",
                           "rule": "nothing-left"}])
    assert "<script>" not in html
