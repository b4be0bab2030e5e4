"""Hostile inputs, settings and side files: each case has a chosen behaviour.

Damaged input is salvaged as far as it can be read: with ``--skip-bad`` the
readable part is cleaned or recorded whole, and the removal record says what
was lost. Without it, the first damage is one line naming the file and line
(exit 1). Settings of the wrong type, and damaged removal records, stats
files and index manifests, are one line too.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import gzip
import io
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe import CleanConfig, Cleaner
from dedupe.streams import InputStream

from .conftest import ARTICLE, OTHER, assert_one_line_failure, read_jsonl, write_jsonl
from .conftest import invoke_one_job as invoke

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def sentence(i: int) -> str:
    """A distinct document: no two share a paragraph."""
    return f"Entry {i} of the register notes that parcel {i * 7919} left the depot on day {i % 365}."


def bad_records(path: Path) -> list[dict]:
    return [r for r in read_jsonl(path) if r["reason"] == "bad-input"]


def raw_bytes(entry: dict) -> bytes:
    """The input bytes a bad-input entry holds."""
    if entry["text_encoding"] == "base64":
        return base64.b64decode(entry["text"])
    return entry["text"].encode("utf-8")


# -- salvage: --skip-bad skips only what is bad --------------------------------------


def test_a_corrupt_parquet_row_group_loses_only_its_own_rows(runner, tmp_path):
    rows = [{"id": f"r{i}", "text": sentence(i)} for i in range(5000)]
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=1000, compression="snappy")
    group = pq.ParquetFile(path).metadata.row_group(2).column(1)  # the text column of rows 2001-3000
    data = bytearray(path.read_bytes())
    start = group.dictionary_page_offset or group.data_page_offset
    for offset in range(start + 20, start + group.total_compressed_size - 20):
        data[offset] ^= 0x55
    path.write_bytes(bytes(data))

    assert_one_line_failure(invoke(runner, "strip", path, "-q"), "rows.parquet:rows 2001-3000", "--skip-bad")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "strip", path, "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    assert ids == [f"r{i}" for i in range(5000) if not 2000 <= i < 3000]
    (bad,) = bad_records(rec)
    assert bad["rule"] == "corrupt-file" and bad["doc_id"].endswith("rows.parquet:rows 2001-3000")
    assert bad["salvage"] == {"rows_lost": 1000, "rows_in_file": 5000}
    assert "row group 3 of 5" in bad["detail"] and "file bytes" in bad["detail"]


def test_a_truncated_txt_gz_is_bad_input_with_all_its_readable_text(runner, tmp_path):
    text = "\n".join(sentence(i) for i in range(3000))
    packed = gzip.compress(text.encode(), mtime=0)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "cut.txt.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "in" / "whole.txt").write_text(ARTICLE[0], encoding="utf-8")
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "in", "-q"), "cut.txt.gz", "cut short")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "in", "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["whole.txt"]
    (bad,) = bad_records(rec)
    assert bad["rule"] == "truncated-file" and bad["doc_id"] == "cut.txt"
    assert bad["text_encoding"] == "utf-8"
    readable = bad["text"]
    assert len(readable) > len(text) // 3 and text.startswith(readable)  # every byte read is kept
    assert bad["salvage"]["bytes_read"] == bad["salvage"]["bytes_kept"] == len(readable.encode())


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_a_truncated_jsonl_archive_keeps_every_line_before_the_cut(runner, tmp_path, suffix):
    lines = [json.dumps({"id": i, "text": sentence(i)}) + "\n" for i in range(4000)]
    raw = "".join(lines).encode()
    packed = gzip.compress(raw, mtime=0) if suffix == ".gz" else zstandard.ZstdCompressor().compress(raw)
    path = tmp_path / f"cut.jsonl{suffix}"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "strip", path, "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    kept = [json.loads(x)["id"] for x in result.stdout.splitlines()]
    assert kept == list(range(len(kept))) and len(kept) > 1000
    (bad,) = bad_records(rec)
    assert bad["rule"] == "truncated-file"
    assert bad["doc_id"] == f"{path}:{len(kept) + 1}"
    # the line the cut went through is in the record, as far as it could be read
    assert lines[len(kept)].startswith(bad["text"]) or bad["text"] == ""
    read = sum(len(x) for x in lines[: len(kept)]) + bad["salvage"]["bytes_read"]
    assert read <= len(raw)


def test_a_corrupt_gzip_member_keeps_the_lines_decoded_before_it(runner, tmp_path):
    first = "".join(json.dumps({"id": i, "text": sentence(i)}) + "\n" for i in range(50)).encode()
    second = "".join(json.dumps({"id": i, "text": sentence(i)}) + "\n" for i in range(50, 100)).encode()
    path = tmp_path / "two.jsonl.gz"
    path.write_bytes(gzip.compress(first, mtime=0) + b"\x1f\x8bnot deflate at all" + b"x" * 200
                     + gzip.compress(second, mtime=0))
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "strip", path, "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == list(range(50))
    (bad,) = bad_records(rec)
    assert bad["rule"] == "corrupt-file" and bad["doc_id"] == f"{path}:51"
    assert bad["salvage"]["compressed_bytes_unread"] > len(gzip.compress(second, mtime=0))


def test_a_bad_line_is_recorded_whole_as_text_or_base64(runner, tmp_path):
    long_bad = '{"id": "big", "text": "' + "x" * 104_000 + '"'  # 104 KB, the closing brace missing
    latin = '{"id": "latin", "text": "Caf\xe9"}'.encode("latin-1")
    path = tmp_path / "bad.jsonl"
    ok = json.dumps({"id": "ok", "text": ARTICLE[0]}).encode()
    path.write_bytes(long_bad.encode() + b"\n" + latin + b"\r\n" + ok)
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", path, "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    first, second = bad_records(rec)
    assert first["rule"] == "invalid-json" and first["text_encoding"] == "utf-8"
    assert first["text"] == long_bad and first["salvage"] == {"bytes_read": len(long_bad), "bytes_kept": len(long_bad)}
    assert second["rule"] == "invalid-utf8" and second["text_encoding"] == "base64"
    assert raw_bytes(second) == latin  # the bytes themselves, the line ending dropped


def test_jsonl_with_carriage_return_line_ends_is_read_line_by_line(runner, tmp_path):
    rows = [{"id": i, "text": sentence(i)} for i in range(5)]
    path = tmp_path / "mac.jsonl"
    path.write_bytes(b"\r".join(json.dumps(r).encode() for r in rows) + b"\r")
    result = invoke(runner, "strip", path, "-q")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [0, 1, 2, 3, 4]
    # a CR inside one object is JSON whitespace: that line stays one record
    path.write_bytes(b'{"id": 9,\r"text": "' + sentence(9).encode() + b'"}\n' + b'{"id": 1\r"broken\n')
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "strip", path, "--skip-bad", "--removed", rec, "-q")
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [9]
    assert [(r["doc_id"], r["text"]) for r in bad_records(rec)] == [(f"{path}:2", '{"id": 1'), (f"{path}:3", '"broken')]


@given(st.binary(min_size=1, max_size=3000), st.data())
@settings(max_examples=150, deadline=None)
def test_a_damaged_archive_yields_a_prefix_of_its_content_and_says_so(content, data):
    suffix = data.draw(st.sampled_from([".gz", ".zst"]))
    packed = gzip.compress(content, mtime=0) if suffix == ".gz" else zstandard.ZstdCompressor().compress(content)
    cut = data.draw(st.integers(0, len(packed)))
    flip = data.draw(st.one_of(st.none(), st.integers(0, cut - 1))) if cut else None
    damaged = bytearray(packed[:cut])
    if flip is not None:
        damaged[flip] ^= 0xFF
    stream = InputStream(io.BytesIO(bytes(damaged)), suffix, len(damaged))
    read = b"".join(line for line, _ in stream.lines(0))
    if flip is None:  # cut only: what comes out is the content's start, and the cut is reported
        assert content.startswith(read)
        assert (stream.damage is None) == (cut == len(packed)) or cut == 0
    if stream.damage is not None:
        assert stream.damage.compressed_bytes_read <= len(damaged)


# -- crashes that were tracebacks -------------------------------------------------------


@pytest.mark.parametrize("where", ["id", "meta", "text"])
def test_a_json_integer_too_long_for_python_is_bad_input(runner, tmp_path, where):
    huge = "9" * 5000
    row = {"id": '"a"', "meta": "1", "text": json.dumps(ARTICLE[0])}
    row[where] = huge
    path = tmp_path / "huge.jsonl"
    path.write_text("{" + ", ".join(f'"{k}": {v}' for k, v in row.items()) + "}\n"
                    + json.dumps({"id": "b", "text": OTHER[0]}) + "\n")
    assert_one_line_failure(invoke(runner, "clean", path, "-q"), "huge.jsonl:1", "too long")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", path, "-q", "--skip-bad", "--removed", rec)
    assert result.exit_code == 0 and [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["b"]
    assert huge in bad_records(rec)[0]["text"]


def test_lone_surrogates_in_ids_and_fields_are_bad_input(runner, tmp_path):
    path = tmp_path / "sur.jsonl"
    path.write_text(f'{{"id": "a\\ud800", "text": "{ARTICLE[0]}"}}\n'
                    f'{{"id": "b", "text": "{ARTICLE[1]}", "meta": {{"k": ["\\udfff"]}}}}\n'
                    f'{{"id": "c", "text": "{OTHER[0]}"}}\n')
    assert_one_line_failure(invoke(runner, "clean", path, "-q"), "sur.jsonl:1", "surrogate")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", path, "-q", "--skip-bad", "--removed", rec)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["c"]
    bad = bad_records(rec)
    assert [(r["doc_id"], r["rule"]) for r in bad] == [(f"{path}:1", "invalid-unicode"), ("b", "invalid-unicode")]
    assert "meta.k[0]" in bad[1]["detail"] and "\\udfff" in bad[1]["text"]
    # in memory too: the library refuses what it could not write
    results = list(Cleaner(CleanConfig().replace(read={"skip_bad": True})).run(
        [{"id": "x\udc80", "text": ARTICLE[2]}]))
    assert results[0].removals[0].rule == "invalid-unicode"


def test_lone_surrogates_in_text_are_repaired_or_refused_without_repair(runner, tmp_path):
    path = tmp_path / "sur.jsonl"
    path.write_text(f'{{"id": "a", "text": "{ARTICLE[0]} \\ud83d"}}\n')
    result = invoke(runner, "clean", path, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"] == ARTICLE[0] + " \ufffd"
    assert_one_line_failure(invoke(runner, "clean", path, "-q", "--no-repair"), "sur.jsonl:1", "surrogate")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", path, "-q", "--no-repair", "--skip-bad", "--removed", rec)
    assert result.exit_code == 0 and result.stdout == ""
    (bad,) = bad_records(rec)
    assert bad["rule"] == "invalid-unicode" and bad["text_encoding"] == "json"
    assert json.loads(bad["text"])["text"] == ARTICLE[0] + " \ud83d"


def test_parquet_dates_decimals_and_binary_are_written_as_json(runner, tmp_path):
    table = pa.table({
        "id": ["a", "b"],
        "text": [ARTICLE[0], OTHER[0]],
        "seen": pa.array([datetime.datetime(2024, 5, 1, 12, 30), None], pa.timestamp("ns")),
        "zoned": pa.array([datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)] * 2,
                          pa.timestamp("us", tz="UTC")),
        "day": pa.array([datetime.date(2024, 5, 1), datetime.date(1999, 12, 31)], pa.date32()),
        "at": pa.array([datetime.time(8, 15), None], pa.time64("us")),
        "price": pa.array([decimal.Decimal("12.50"), decimal.Decimal("-0.01")], pa.decimal128(6, 2)),
        "blob": pa.array([b"\x00\xff", None], pa.binary()),
        "took": pa.array([datetime.timedelta(seconds=90), None], pa.duration("s")),
    })
    pq.write_table(table, tmp_path / "typed.parquet")
    result = invoke(runner, "clean", tmp_path / "typed.parquet", "-q")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    assert first == {"id": "a", "text": ARTICLE[0], "seen": "2024-05-01T12:30:00", "zoned": "2024-05-01T00:00:00+00:00",
                     "day": "2024-05-01", "at": "08:15:00", "price": "12.50", "blob": "AP8=", "took": 90.0}
    assert second["seen"] is None and second["day"] == "1999-12-31" and second["price"] == "-0.01"


def test_parquet_values_python_cannot_hold_are_written_as_arrow_text(runner, tmp_path):
    far = 253402300800 * 10**6  # 10000-01-01, past datetime's last year
    pq.write_table(pa.table({"id": ["a", "b"], "text": [ARTICLE[0], OTHER[0]],
                             "when": pa.array([far, 0], pa.timestamp("us"))}), tmp_path / "far.parquet")
    result = invoke(runner, "clean", tmp_path / "far.parquet", "-q")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["when"] for x in result.stdout.splitlines()] == ["10000-01-01 00:00:00.000000",
                                                                          "1970-01-01T00:00:00"]


def test_in_memory_ids_and_fields_that_cannot_be_written_are_bad_input():
    config = CleanConfig().replace(read={"skip_bad": True})
    docs = [{"id": 10**5000, "text": ARTICLE[0]}, {"id": "k", "text": OTHER[0], "meta": {"\udc80": 1}},
            {"id": "ok", "text": ARTICLE[1]}]
    results = list(Cleaner(config).run(docs))
    assert [r.removals[0].rule if r.removals else None for r in results] == ["invalid-id", "invalid-unicode", None]
    assert "a field name" in results[1].removals[0].detail


def test_a_parquet_file_without_the_text_column_in_a_folder(runner, tmp_path):
    (tmp_path / "in").mkdir()
    pq.write_table(pa.table({"url": ["u"], "when": pa.array([datetime.datetime(2024, 1, 1)], pa.timestamp("s"))}),
                   tmp_path / "in" / "meta.parquet")
    write_jsonl(tmp_path / "in" / "docs.jsonl", [{"id": "a", "text": ARTICLE[0]}])
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "in", "-q"), "meta.parquet", "no 'text' column",
                            "url, when")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "in", "-q", "--skip-bad", "--removed", rec)
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a"]
    (bad,) = bad_records(rec)
    assert bad["rule"] == "missing-text" and bad["salvage"] == {"rows_lost": 1, "rows_in_file": 1}


@pytest.mark.parametrize("kind", ["timestamp", "date"])
def test_keep_earliest_reads_parquet_timestamps_and_dates(runner, tmp_path, kind):
    days = [datetime.date(2024, 3, 9), datetime.date(2021, 1, 1)]
    column = (pa.array(days, pa.date32()) if kind == "date"
              else pa.array([datetime.datetime(d.year, d.month, d.day) for d in days], pa.timestamp("ms")))
    pq.write_table(pa.table({"id": ["later", "earlier"], "text": ["\n".join(ARTICLE)] * 2, "date": column}),
                   tmp_path / "dated.parquet")
    result = invoke(runner, "clean", tmp_path / "dated.parquet", "--keep", "earliest", "-q")
    assert result.exit_code == 0, result.output
    assert "no readable" not in result.stderr
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["earlier"]


# -- resources: decompression bombs and huge lines ------------------------------------------


def _gzip_of_zeros(path: Path, size: int, before: bytes, after: bytes) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    with open(path, "wb") as out:
        out.write(packer.compress(before))
        block = b"0" * (1 << 20)
        out.writelines(packer.compress(block) for _ in range(size // len(block)))
        out.write(packer.compress(after) + packer.flush())


def _peak_rss_mb(*args: str) -> tuple[int, float, str]:
    """Run the CLI in a fresh process; its exit code, peak resident memory (MB) and stderr."""
    code = ("import resource, sys\nfrom dedupe.cli import app\n"
            "try:\n    app(sys.argv[1:], prog_name='dedupe')\nexcept SystemExit as exc:\n    status = exc.code\n"
            "print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, status, file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    *rest, last = done.stderr.strip().splitlines()
    _, kb, status = last.split()
    return int(status or 0), int(kb) / 1024, "\n".join(rest)


def test_a_decompression_bomb_is_rejected_without_being_held(tmp_path):
    good = json.dumps({"id": "before", "text": ARTICLE[0]}).encode() + b"\n"
    after = b'"}\n' + json.dumps({"id": "after", "text": OTHER[0]}).encode() + b"\n"
    bomb = tmp_path / "bomb.jsonl.gz"
    _gzip_of_zeros(bomb, 300 << 20, good + b'{"id": "bomb", "text": "', after)
    assert bomb.stat().st_size < 1 << 20
    small = tmp_path / "small.jsonl"
    small.write_bytes(good)
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec.jsonl"
    status, baseline, _ = _peak_rss_mb("clean", str(small), "-o", str(out), "-j", "1", "-q")
    assert status == 0
    status, peak, stderr = _peak_rss_mb("clean", str(bomb), "-o", str(out), "--removed", str(rec), "--skip-bad",
                                        "--max-document-bytes", "16MB", "-j", "1", "-q")
    assert status == 0, stderr
    assert [r["id"] for r in read_jsonl(out)] == ["before", "after"]
    (bad,) = bad_records(rec)
    assert bad["rule"] == "too-long" and bad["doc_id"] == f"{bomb}:2"
    assert bad["salvage"]["bytes_read"] > 300 << 20 and bad["salvage"]["bytes_kept"] == 1 << 16
    assert bad["text"].startswith('{"id": "bomb", "text": "000')
    assert peak - baseline < 120, (peak, baseline)  # holding the line would take 300 MB or more


def test_a_line_over_the_cap_is_reported_and_the_next_line_read(runner, tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"id": "long", "text": "word " * 300_000}) + "\n"
                    + json.dumps({"id": "ok", "text": ARTICLE[0]}) + "\n")
    assert_one_line_failure(invoke(runner, "clean", path, "--max-document-bytes", "1MB", "-q"),
                            "long.jsonl:1", "read.max_document_bytes", "--max-document-bytes")
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", path, "--max-document-bytes", "1MB", "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0 and [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["ok"]
    result = invoke(runner, "clean", path, "--max-document-bytes", "0", "-q")  # 0: no limit
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 2
    (tmp_path / "big.txt").write_text("line of text\n" * 200_000)
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "big.txt", "--max-document-bytes", "1MB", "-q"),
                            "big.txt", "the file is 2,600,000 bytes")


# -- smaller --------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
def test_a_jsonl_file_starting_with_a_byte_order_mark(runner, tmp_path, suffix):
    data = b"\xef\xbb\xbf" + json.dumps({"id": "a", "text": ARTICLE[0]}).encode() + b"\n"
    path = tmp_path / f"bom{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    result = invoke(runner, "clean", path, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["id"] == "a"


@pytest.mark.parametrize("pack", [gzip.compress, zstandard.ZstdCompressor().compress])
def test_compressed_bytes_on_stdin_are_recognised(runner, pack):
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate([ARTICLE[0], OTHER[0]]))
    result = invoke(runner, "clean", "-", "-q", input=pack(data.encode()))
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == [0, 1]


def test_links_in_an_input_folder(runner, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "elsewhere").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": "a", "text": ARTICLE[0]}])
    write_jsonl(tmp_path / "elsewhere" / "b.jsonl", [{"id": "b", "text": OTHER[0]}])
    (tmp_path / "in" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "in" / "dangling.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    (tmp_path / "in" / "loop").symlink_to(tmp_path / "in")
    os.mkfifo(tmp_path / "in" / "pipe.jsonl")
    result = invoke(runner, "clean", tmp_path / "in")
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a", "b"]  # the linked folder is read
    assert "dangling.jsonl: dangling link" in result.stderr
    assert "loop: a link to a folder already read" in result.stderr
    assert "pipe.jsonl: not a regular file" in result.stderr
    (tmp_path / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "gone.jsonl"), "gone.jsonl", "dangling link")


def test_a_misspelt_id_field_is_an_error_and_missing_ids_a_warning(runner, tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [{"doc": "x", "text": ARTICLE[0]}, {"doc": "y", "text": OTHER[0]}])
    assert_one_line_failure(invoke(runner, "clean", path, "--id-field", "dco"), "a.jsonl", "'dco'", "doc, text")
    pq.write_table(pa.table({"doc": ["x"], "text": [ARTICLE[0]]}), tmp_path / "a.parquet")
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "a.parquet", "--id-field", "dco"), "'dco' column")
    result = invoke(runner, "clean", path, "--id-field", "doc")
    assert result.exit_code == 0 and "no 'doc' field" not in result.stderr
    write_jsonl(path, [{"doc": "x", "text": ARTICLE[0]}, {"text": OTHER[0]}, {"text": OTHER[1]}])
    result = invoke(runner, "clean", path, "--id-field", "doc")
    assert result.exit_code == 0
    assert result.stderr.count("2 of 3 records have no 'doc' field") == 1  # once, though read in two passes
    # the default field absent everywhere: positional ids, as documented
    write_jsonl(path, [{"text": ARTICLE[0]}])
    result = invoke(runner, "clean", path)
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["text"] == ARTICLE[0]
