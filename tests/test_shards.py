"""Input shards read by the tasks themselves, and part files: the same records, the same output."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dedupe import sharded
from dedupe.readers import FileSource, PieceReader, ReadConfig
from dedupe.shards import count_piece_lines, list_shards, number_lines

from .conftest import ARTICLE, OTHER, SEEDS, read_jsonl, write_jsonl
from .test_cli import invoke

fsspec = pytest.importorskip("fsspec")


READ = ReadConfig()


def shard_records(inputs: list[str], shard_bytes: int, config: ReadConfig = READ) -> list:
    """Every record, read shard by shard as the tasks read them."""
    source = FileSource(inputs, config)
    shards = number_lines(list_shards(source.files, shard_bytes),
                          lambda stage, pieces: (stage(None, piece) for piece in pieces))
    reader = PieceReader(config, defer_ids=True)
    records, index = [], 0
    for shard in shards:
        for piece in shard.pieces:
            for record in reader.read_piece(piece, index):
                records.append(record)
                index += 1
    return records


def whole_records(inputs: list[str], config: ReadConfig = READ) -> list:
    return list(FileSource(inputs, config).records())


LINE = st.one_of(
    st.builds(lambda n, t: json.dumps({"id": n, "text": t}), st.integers(0, 99), st.text(max_size=40)),
    st.builds(lambda t: json.dumps({"text": t}), st.text(max_size=40)),  # no id: named by file and line
    st.sampled_from(["", "   ", "not json", '{"id": 1}', "[1, 2]", '{"text": "a\\u00e9"}']),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(LINE, max_size=40), shard_bytes=st.integers(1, 300), bom=st.booleans(),
       crlf=st.booleans(), end=st.booleans())
def test_byte_ranges_read_the_records_of_the_whole_file(tmp_path, lines, shard_bytes, bom, crlf, end):
    newline = "\r\n" if crlf else "\n"
    data = ("\ufeff" if bom else "") + newline.join(lines) + (newline if end and lines else "")
    path = tmp_path / "in.jsonl"
    path.write_bytes(data.encode("utf-8"))
    assert shard_records([str(path)], shard_bytes) == whole_records([str(path)])


def test_a_big_jsonl_file_is_split_and_small_files_are_grouped(tmp_path):
    (tmp_path / "in").mkdir()
    big = write_jsonl(tmp_path / "in" / "a.jsonl", [{"id": n, "text": f"line {n}"} for n in range(300)])
    for n in range(5):
        (tmp_path / "in" / f"b{n}.txt").write_text(f"text {n}\n")
    source = FileSource([str(tmp_path / "in")])
    shards = list_shards(source.files, 2000)
    assert [p.stop is not None for p in shards[0].pieces] == [True]
    assert sum(len(s.pieces) for s in shards if s.pieces[0].name.endswith(".txt")) == 5
    assert len([s for s in shards if s.pieces[0].name.endswith(".txt")]) == 1
    assert sum(count_piece_lines(None, p) for s in shards for p in s.pieces if p.stop is not None) == 300
    assert shard_records([str(tmp_path / "in")], 2000) == whole_records([str(tmp_path / "in")])
    assert big.stat().st_size > 2000


def test_parquet_row_groups_are_shards_of_their_own(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{"id": str(n), "text": f"paragraph {n} " * 20} for n in range(400)]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=50)
    shards = list_shards(FileSource([str(path)]).files, 4000)
    assert len(shards) > 2 and all(s.pieces[0].groups is not None for s in shards)
    assert shard_records([str(path)], 4000) == whole_records([str(path)])


def test_inputs_through_fsspec_urls_read_as_local_files(tmp_path):
    rows = [{"id": n, "text": "\n".join(ARTICLE if n % 2 else OTHER)} for n in range(40)]
    local = write_jsonl(tmp_path / "in.jsonl", rows)
    memory = fsspec.filesystem("memory")
    memory.pipe("/corpus/in.jsonl", local.read_bytes())
    memory.pipe("/corpus/more.txt", b"A text file.\n")
    try:
        by_url = shard_records(["memory://corpus"], 500)
        assert [(r.doc_id, r.text, r.location) for r in by_url] == \
            [(r.doc_id, r.text, r.location.removeprefix(str(tmp_path) + "/")) for r in
             whole_records([str(tmp_path / "in.jsonl")])] + [("more.txt", "A text file.\n", "more.txt")]
        assert [r.text for r in shard_records([local.as_uri()], 700)] == [r["text"] for r in rows]
    finally:
        memory.rm("/corpus", recursive=True)


def run(runner, tmp_path, name, inputs, *options, parts=False):
    suffix = "" if parts else ".jsonl"
    out, rec = tmp_path / f"{name}{suffix}", tmp_path / f"{name}.removed{suffix}"
    result = invoke(runner, "clean", *inputs, "-o", out, "--removed", rec, "-q", *options,
                    *(("--parts",) if parts else ()))
    assert result.exit_code == 0, result.output
    return out, rec


def joined(folder: Path, pattern: str = "part-*.jsonl") -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.glob(pattern)))


def test_parts_concatenated_are_the_single_file_output(runner, tmp_path):
    rows = [{"id": f"d{n}", "text": "\n".join((ARTICLE if n % 3 else OTHER)[: 1 + n % 4] + [f"Unique line {n}."])}
            for n in range(120)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", rows)
    out, rec = run(runner, tmp_path, "single", [corpus, SEEDS], "--jobs", "1")
    parts, rec_parts = run(runner, tmp_path, "parts", [corpus, SEEDS], "--shard-size", "4KB", parts=True)
    names = sorted(p.name for p in parts.glob("part-*"))
    assert len(names) > 3 and names[0] == "part-00000.jsonl"
    assert joined(parts) == out.read_bytes()
    assert joined(rec_parts) == rec.read_bytes()
    manifest = json.loads((parts / ".dedupe-output.json").read_text())
    assert sorted(manifest["files"]) == names
    # compressed parts decompress to the same, and the record's parts are compressed alike
    gz, gz_rec = run(runner, tmp_path, "gz", [corpus, SEEDS], "--shard-size", "4KB", "--parts-format", "jsonl.gz",
                     parts=True)
    assert b"".join(gzip.decompress(p.read_bytes()) for p in sorted(gz.glob("part-*.jsonl.gz"))) == out.read_bytes()
    assert b"".join(gzip.decompress(p.read_bytes()) for p in sorted(gz_rec.glob("part-*.jsonl.gz"))) \
        == rec.read_bytes()


def test_parquet_parts_hold_the_documents_of_the_single_file(runner, tmp_path):
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    rows = [{"id": f"d{n}", "text": "\n".join(ARTICLE[: 1 + n % 4] + [f"Unique line {n}."])} for n in range(60)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", rows)
    out, _ = run(runner, tmp_path, "single", [corpus])
    parts, _ = run(runner, tmp_path, "parts", [corpus], "--shard-size", "2KB", "--parts-format", "parquet",
                   parts=True)
    files = sorted(parts.glob("part-*.parquet"))
    assert len(files) > 1
    assert [row for f in files for row in pq.read_table(f).to_pylist()] == read_jsonl(out)


def test_parts_never_replace_a_file_dedupe_did_not_write(runner, tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "a", "text": "\n".join(ARTICLE)}])
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "part-00000.jsonl").write_text("mine\n")
    result = invoke(runner, "clean", corpus, "-o", folder, "--parts", "-q")
    assert result.exit_code == 1 and "not written by an earlier dedupe run" in result.output
    assert (folder / "part-00000.jsonl").read_text() == "mine\n"
    assert sorted(p.name for p in folder.iterdir()) == ["part-00000.jsonl"]
    # a run's own parts are replaced by the next run, and parts it no longer writes go
    (folder / "part-00000.jsonl").unlink()
    many = write_jsonl(tmp_path / "many.jsonl", [{"id": n, "text": f"Line {n} of many, all different."}
                                                 for n in range(200)])
    assert invoke(runner, "clean", many, "-o", folder, "--parts", "--shard-size", "2KB", "-q").exit_code == 0
    assert len(list(folder.glob("part-*"))) > 2
    assert invoke(runner, "clean", corpus, "-o", folder, "--parts", "-q").exit_code == 0
    assert sorted(p.name for p in folder.glob("part-*")) == ["part-00000.jsonl"]


def test_parts_need_a_folder(runner, tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "a", "text": "x"}])
    result = invoke(runner, "clean", corpus, "--parts", "-q")
    assert result.exit_code == 1 and "--parts needs -o FOLDER" in result.output
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "o", "--parts-format", "parquet", "-q")
    assert result.exit_code == 1 and "--parts-format needs --parts" in result.output
    # a file name under --parts is a slip: it would have become a folder of that name
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "out.jsonl", "--parts", "-q")
    assert result.exit_code == 1 and "names a file" in result.output and not (tmp_path / "out.jsonl").exists()
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "out", "--removed", tmp_path / "rm.jsonl", "--parts",
                    "-q")
    assert result.exit_code == 1 and "--removed" in result.output and not (tmp_path / "out").exists()


def texts_received(monkeypatch) -> list[bytes]:
    """What the driver receives from the shards' tasks, pickled, as it receives it."""
    received: list[bytes] = []

    def receive(result):
        received.append(pickle.dumps(result))
        return result

    monkeypatch.setattr(sharded, "_receive", receive)
    return received


def paragraphs_in(received: list[bytes], texts: list[str]) -> int:
    """Bytes of the documents' paragraphs found in what the driver received."""
    lines = {line for text in texts for line in text.splitlines() if len(line) > 12}
    return sum(len(line.encode()) for line in lines if any(line.encode() in blob for blob in received))


def test_with_parts_the_driver_receives_no_document_text(runner, tmp_path, monkeypatch):
    rows = [{"id": f"d{n}", "text": "\n".join(ARTICLE[n % 4:] + [f"Unique line number {n}, here."])}
            for n in range(80)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", rows)
    texts = [r["text"] for r in rows]
    received = texts_received(monkeypatch)
    run(runner, tmp_path, "parts", [corpus], "--shard-size", "4KB", parts=True)
    assert len(received) > 6  # line counts, pass 1 and pass 2 of several shards
    assert paragraphs_in(received, texts) == 0  # (tests/test_dask.py shows the count finds text that comes back)


def test_a_file_split_across_shards_is_checked_for_its_id_field_as_a_whole(runner, tmp_path):
    """Records without the id field in one byte range, with it in the next: a warning, as for the
    whole file, not the error a range without any id would earn alone."""
    rows = [{"text": f"Line {n} without a key, long enough to matter."} for n in range(60)]
    rows += [{"key": f"k{n}", "text": f"Line {n} with a key, long enough to matter."} for n in range(60)]
    corpus = write_jsonl(tmp_path / "corpus.jsonl", rows)
    out, rec = run(runner, tmp_path, "single", [corpus], "--id-field", "key")
    parts, rec_parts = run(runner, tmp_path, "parts", [corpus], "--id-field", "key", "--shard-size", "1KB",
                           parts=True)
    assert len(list(parts.glob("part-*"))) > 4
    assert joined(parts) == out.read_bytes() and joined(rec_parts) == rec.read_bytes()
    misspelt = invoke(runner, "clean", corpus, "-o", tmp_path / "x", "--parts", "--id-field", "kee",
                      "--shard-size", "1KB", "-q")
    assert misspelt.exit_code == 1 and "no record has the id field 'kee'" in misspelt.output


def test_parts_go_into_existing_folders_and_a_record_folder_needs_parts(runner, tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": "a", "text": "\n".join(ARTICLE)},
                                                     {"id": "b", "text": "\n".join(ARTICLE)}])
    (tmp_path / "out").mkdir()
    (tmp_path / "removed").mkdir()
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "out", "--removed", tmp_path / "removed", "--parts",
                    "-q")
    assert result.exit_code == 0, result.output
    assert joined(tmp_path / "removed").count(b'"reason":"duplicate-document"') == 1
    result = invoke(runner, "clean", corpus, "-o", tmp_path / "single.jsonl", "--removed", tmp_path / "removed", "-q")
    assert result.exit_code == 1 and "is a folder" in result.output


def test_hashes_stay_exact_whatever_else_their_batch_holds():
    """A batch's 64-bit hashes, read as Python ints, once became floats when some passed 2**63:
    the same identifiers then hashed differently in two batches, and a corpus cut into other
    batches (shards) lost a copy."""
    from dedupe.schema import Paragraphs

    small, big = 2**63 - 3, 2**64 - 5
    built = Paragraphs.build(doc=(0, 0, 0), para=(0, 1, 2), exact=(1, 2, 3), ident=(0, small, big),
                             text_hash=(small, small, big))
    assert built.ident.tolist() == [0, small, big]
    assert built.text_hash.tolist() == [small, small, big]


# -- strip --parts ------------------------------------------------------------------------------


def chrome_corpus(path: Path, count: int) -> Path:
    """Pages with chrome lines (some repeated on a site, for --context), one unreadable record."""
    rows: list[dict] = [{"id": f"p{n}", "url": f"https://site{n % 3}.example/{n}",
                         "text": "\n".join([f"Menu of site {n % 3}", *ARTICLE[n % 3:], "Share this:",
                                            f"Page {n} ends here, with words of its own.", "Post a Comment"])}
                        for n in range(count)]
    rows.insert(count // 2, {"id": "bad", "text": 5})
    return write_jsonl(path, rows)


@pytest.mark.parametrize("context", ["--context", "--no-context"])
def test_strip_parts_concatenated_are_the_single_file_output(runner, tmp_path, monkeypatch, context):
    corpus = chrome_corpus(tmp_path / "corpus.jsonl", 90)
    out, rec = tmp_path / "single.jsonl", tmp_path / "single.removed.jsonl"
    result = invoke(runner, "strip", corpus, SEEDS, "-o", out, "--removed", rec, "--skip-bad", context, "-q",
                    "--jobs", "1")
    assert result.exit_code == 0, result.output
    received = texts_received(monkeypatch)
    for form, pattern, read in (("jsonl", "part-*.jsonl", Path.read_bytes),
                                ("jsonl.gz", "part-*.jsonl.gz", lambda p: gzip.decompress(p.read_bytes()))):
        parts, rec_parts = tmp_path / f"parts-{form}", tmp_path / f"removed-{form}"
        result = invoke(runner, "strip", corpus, SEEDS, "-o", parts, "--removed", rec_parts, "--parts",
                        "--parts-format", form, "--shard-size", "4KB", "--skip-bad", context, "-q")
        assert result.exit_code == 0, result.output
        files = sorted(parts.glob(pattern))
        assert len(files) > 3 and files[0].name.startswith("part-00000.")
        assert b"".join(read(p) for p in files) == out.read_bytes()
        assert b"".join(read(p) for p in sorted(rec_parts.glob(pattern))) == rec.read_bytes()
    assert b'"reason":"bad-input"' in rec.read_bytes() and b'"rule":"share"' in rec.read_bytes()
    texts = [r["text"] for r in read_jsonl(corpus) if isinstance(r["text"], str)]
    assert len(received) > 6 and paragraphs_in(received, texts) == 0


@pytest.mark.parametrize("context", ["--context", "--no-context"])
def test_strip_parts_stop_at_bad_input_and_a_misspelt_id_field(runner, tmp_path, context):
    """With no pass before the one that writes, the tasks still report what a local run checks."""
    corpus = chrome_corpus(tmp_path / "corpus.jsonl", 40)
    result = invoke(runner, "strip", corpus, "-o", tmp_path / "out", "--parts", "--shard-size", "2KB", context)
    assert result.exit_code == 1 and "corpus.jsonl:21: field 'text' is int" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    result = invoke(runner, "strip", corpus, "-o", tmp_path / "out", "--parts", "--shard-size", "2KB", "--skip-bad",
                    "--id-field", "key", context, "-q")
    assert result.exit_code == 1 and "no record has the id field 'key'" in result.output


def test_strip_explain_needs_the_documents_here(runner, tmp_path):
    corpus = chrome_corpus(tmp_path / "corpus.jsonl", 3)
    result = invoke(runner, "strip", corpus, "-o", tmp_path / "out", "--parts", "--explain", "--skip-bad")
    assert result.exit_code == 1 and "--explain" in result.output and not (tmp_path / "out").exists()


# -- compressed inputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["gz", "zst"])
def test_a_compressed_file_is_one_shard_whatever_its_size(runner, tmp_path, suffix):
    """A compressed stream cannot be entered in the middle: a .jsonl.gz or .jsonl.zst file is read
    whole by one task, however small the shards, and the parts still equal the single file."""
    rows = [{"id": f"d{n}", "text": "\n".join((ARTICLE if n % 3 else OTHER)[: 1 + n % 4] + [f"Unique line {n}."])}
            for n in range(150)]
    plain = write_jsonl(tmp_path / "plain.jsonl", rows)
    packed = tmp_path / f"packed.jsonl.{suffix}"
    if suffix == "gz":
        packed.write_bytes(gzip.compress(plain.read_bytes()))
    else:
        zstandard = pytest.importorskip("zstandard")
        packed.write_bytes(zstandard.ZstdCompressor().compress(plain.read_bytes()))
    shards = list_shards(FileSource([str(plain), str(packed)]).files, 2048)
    whole = [s for s in shards if s.pieces[0].path == str(packed)]
    assert len(whole) == 1 and whole[0].pieces[0].stop is None and whole[0].size == packed.stat().st_size
    assert len(shards) > 5  # the plain copy is cut into byte ranges
    assert shard_records([str(packed)], 2048) == whole_records([str(packed)])
    out, rec = run(runner, tmp_path, "single", [plain, packed], "--jobs", "1")
    parts, rec_parts = run(runner, tmp_path, "parts", [plain, packed], "--shard-size", "2KB", parts=True)
    assert joined(parts) == out.read_bytes() and joined(rec_parts) == rec.read_bytes()
    assert len(list(parts.glob("part-*"))) == len(shards)
