"""Input, output and command-line edges: every path either works or says what to do, and nothing is lost."""

from __future__ import annotations

import base64
import gzip
import json
import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dedupe import (
    CleanConfig,
    Cleaner,
    ConfigError,
    DedupConfig,
    DedupeError,
    FileSource,
    InputError,
    chars,
    clean,
    normalize,
)
from dedupe.cli import app
from dedupe.fingerprint import load_kernels
from dedupe.normalize import match_key

from .conftest import ARTICLE, OTHER, ROOT, read_jsonl


def invoke(runner, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def test_quiet_still_shows_warnings(runner, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    (folder / "notes.md").write_text("not read", encoding="utf-8")
    result = invoke(runner, "clean", folder, "-o", tmp_path / "out.jsonl", "-q")
    assert result.exit_code == 0, result.output
    assert "ignored 1 file" in result.stderr and "notes.md" in result.stderr
    assert "documents  in" not in result.stderr  # the summary stays quiet


def test_a_folder_output_can_be_cleaned_again(runner, tmp_path):
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    first.mkdir()
    (first / "one.txt").write_text("\n".join(ARTICLE) + "\n", encoding="utf-8")
    (first / "two.txt").write_text("\n".join(OTHER) + "\n", encoding="utf-8")
    assert invoke(runner, "clean", first, "-o", f"{second}/", "-q").exit_code == 0
    assert (second / ".dedupe-output.json").exists()
    result = invoke(runner, "clean", second, "-o", f"{third}/", "-q")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # the manifest is ours: skipped without a word
    assert sorted(p.name for p in third.glob("*.txt")) == ["one.txt", "two.txt"]
    assert (third / "one.txt").read_bytes() == (second / "one.txt").read_bytes()


def test_a_folder_read_skips_hidden_files_and_says_so(runner, tmp_path):
    folder = tmp_path / "in"
    (folder / ".git").mkdir(parents=True)
    (folder / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    (folder / ".draft.txt").write_text("\n".join(OTHER), encoding="utf-8")
    (folder / ".git" / "notes.jsonl").write_text('{"id": 1, "text": "x"}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "clean", folder, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in read_jsonl(out)] == ["a.txt"]
    assert "2 hidden file(s)" in result.stderr and ".draft.txt" in result.stderr
    # named on the command line, a hidden file is read
    assert invoke(runner, "clean", folder / ".draft.txt", "-o", out, "-q").exit_code == 0
    assert [d["id"] for d in read_jsonl(out)] == [".draft.txt"]


LEGACY = "Café in the old town, déjà vu for every visitor who came back this year.\n"


@pytest.mark.parametrize(("codec", "data", "byte"), [
    ("ascii", LEGACY.encode("cp1252"), "e9"),
    ("iso2022_jp", LEGACY.encode("cp1252"), "e9"),
    ("shift_jis", b"caf\xff and more words of an old page\n", "ff"),
])
def test_a_fallback_that_cannot_decode_the_file_says_which_bytes(runner, tmp_path, codec, data, byte):
    (tmp_path / "legacy.txt").write_bytes(data)
    result = invoke(runner, "clean", tmp_path / "legacy.txt", "--fallback-encoding", codec, "-q")
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.stderr.strip()
    assert "legacy.txt:1" in line and f"byte(s) {byte}" in line and codec in line and "--fallback-encoding" in line
    assert "\ufffd" not in result.stdout
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "legacy.txt", "--fallback-encoding", codec, "--skip-bad",
                    "--removed", rec, "-q")
    assert result.exit_code == 0 and result.stdout == ""
    (entry,) = read_jsonl(rec)
    assert entry["rule"] == "undecodable" and base64.b64decode(entry["text"]) == data


def test_cp1252_reads_every_byte_its_holes_as_c1_controls(runner, tmp_path):
    data = LEGACY.encode("cp1252") + b"\x81\x8d\x8f\x90\x9d \x93quoted\x94\n"
    (tmp_path / "legacy.txt").write_bytes(data)
    result = invoke(runner, "clean", tmp_path / "legacy.txt", "--fallback-encoding", "cp1252", "--no-repair", "-q")
    assert result.exit_code == 0, result.output
    text = json.loads(result.stdout)["text"]
    assert text == LEGACY + "\x81\x8d\x8f\x90\x9d \u201cquoted\u201d\n" and "\ufffd" not in text


def test_config_file_errors_name_the_file_and_setting_flag_errors_the_flag(runner, tmp_path):
    (tmp_path / "a.txt").write_text(ARTICLE[0])
    (tmp_path / "c.toml").write_text('[dedup]\nmemory_limit = "lots"\n')
    result = invoke(runner, "clean", tmp_path / "a.txt", "--config", tmp_path / "c.toml")
    assert result.exit_code == 1
    said = f"dedupe: error: {tmp_path / 'c.toml'}: dedup.memory_limit: not a size: 'lots' (use e.g. 512MB, 2GB)"
    assert result.stderr.strip() == said
    result = invoke(runner, "clean", tmp_path / "a.txt", "--memory-limit", "lots")
    assert result.exit_code == 1
    assert result.stderr.strip() == "dedupe: error: --memory-limit: not a size: 'lots' (use e.g. 512MB, 2GB)"


def test_library_errors_name_parameters_not_flags(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "body": "x"}\n')
    with pytest.raises(InputError) as caught:
        list(Cleaner().run(FileSource([tmp_path / "bad.jsonl"])))
    assert "read.text_field" in str(caught.value) and "read.skip_bad" in str(caught.value)
    assert "--" not in str(caught.value)
    (tmp_path / "legacy.txt").write_bytes(LEGACY.encode("cp1252"))
    with pytest.raises(InputError, match=r"read\.fallback_encoding \(e\.g\. cp1252\)") as caught:
        list(Cleaner().run(FileSource([tmp_path / "legacy.txt"])))
    assert "--" not in str(caught.value)
    with pytest.raises(ConfigError, match=r"dedup\.memory_limit: not a size"):
        DedupConfig(memory_limit="lots")  # type: ignore[arg-type]
    # the command line says the same with its flags
    result = CliRunner().invoke(app, ["clean", str(tmp_path / "bad.jsonl")])
    assert "--text-field" in result.stderr and "--skip-bad" in result.stderr and "read." not in result.stderr


def test_a_folder_output_names_the_fields_it_does_not_write(runner, tmp_path):
    rows = [{"id": "a", "text": "\n".join(ARTICLE), "url": "https://a.example/1", "date": "2024-01-01"},
            {"id": "b", "text": "\n".join(OTHER), "url": "https://b.example/2"}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = invoke(runner, "clean", src, "-o", f"{tmp_path / 'out'}/", "-q")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if "not written" in x]  # once for the run
    assert "'url' (2 of 2 documents)" in line and "'date' (1 of 2 documents)" in line and "'text'" not in line
    # text files in, text files out: nothing to drop, nothing said
    result = invoke(runner, "clean", tmp_path / "out", "-o", f"{tmp_path / 'again'}/", "-q")
    assert result.exit_code == 0 and result.stderr == ""


def test_a_txt_output_holds_one_document_and_says_what_to_do_with_more(runner, tmp_path):
    page = tmp_path / "page.txt"
    page.write_bytes(b"\xef\xbb\xbf" + ("\n".join(ARTICLE) + "\nShare this:\n").encode())
    out = tmp_path / "clean.txt"
    result = invoke(runner, "clean", page, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == b"\xef\xbb\xbf" + ("\n".join(ARTICLE) + "\n").encode()
    rows = tmp_path / "two.jsonl"
    rows.write_text("".join(json.dumps({"id": i, "text": t, "url": "u"}) + "\n"
                            for i, t in enumerate(["\n".join(ARTICLE), "\n".join(OTHER)])))
    result = invoke(runner, "clean", rows, "-o", tmp_path / "many.txt", "-q")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "a .txt output holds one document" in result.stderr and "folder" in result.stderr
    assert not (tmp_path / "many.txt").exists()
    assert invoke(runner, "clean", page, "-o", tmp_path / "clean.txt.gz", "-q").exit_code == 0
    assert gzip.decompress((tmp_path / "clean.txt.gz").read_bytes()) == out.read_bytes()


def test_an_input_file_without_a_suffix_is_text_unless_it_says_otherwise(runner, tmp_path):
    notes = tmp_path / "NOTES"
    notes.write_text("\n".join(ARTICLE) + "\nShare this:\n", encoding="utf-8")
    result = invoke(runner, "clean", notes, "-q")
    assert result.exit_code == 0, result.output
    (doc,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert doc == {"id": "NOTES", "text": "\n".join(ARTICLE) + "\n"}
    data = tmp_path / "DATA"
    data.write_text(json.dumps({"id": 1, "text": ARTICLE[0]}) + "\n")
    result = invoke(runner, "clean", data, "-q")
    assert result.exit_code == 1 and "DATA: no suffix" in result.stderr and "name it .jsonl" in result.stderr


def test_a_string_alone_is_refused_not_cleaned_character_by_character():
    for alone in ("Some text of a document.", b"bytes", {"id": 1, "text": "x"}):
        with pytest.raises(InputError, match=r"pass \[doc\] for one document"):
            list(clean(alone))  # type: ignore[arg-type]
        with pytest.raises(InputError):
            list(Cleaner().run(alone))  # type: ignore[arg-type]
    assert [d["text"] for d in clean(["Some text of a document."])] == ["Some text of a document."]


@pytest.mark.parametrize(("kwargs", "needle"), [({"jobs": -1}, "jobs"), ({"jobs": 1.5}, "jobs"),
                                                ({"engine": "spark"}, "engine")])
def test_cleaner_arguments_raise_dedupe_errors(kwargs, needle):
    with pytest.raises(DedupeError, match=needle):
        Cleaner(**kwargs)


def test_a_bar_asked_for_in_a_pipe_becomes_log_lines_not_a_blank_line(runner, tmp_path):
    (tmp_path / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    result = invoke(runner, "clean", tmp_path / "a.txt", "--progress", "bar", "--progress-interval", "0")
    assert result.exit_code == 0, result.output
    lines = result.stderr.split("\n")[:-1]
    assert lines and "" not in lines, result.stderr
    assert any(line.startswith("dedupe: fingerprint") for line in lines)


def test_an_unreadable_parquet_file_is_recorded_with_its_bytes(runner, tmp_path):
    pytest.importorskip("pyarrow")
    data = b"PAR1 this is not a Parquet file at all \xff\x00 PAR1"
    (tmp_path / "broken.parquet").write_bytes(data)
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "broken.parquet", "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0, result.output
    (entry,) = read_jsonl(rec)
    assert entry["rule"] == "corrupt-file" and entry["salvage"]["bytes_read"] == len(data)
    assert entry["text_encoding"] == "base64" and base64.b64decode(entry["text"]) == data


def _commands(group, prefix=""):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, f"{prefix}{name} ")
        else:
            yield prefix + name, command


def test_every_option_of_every_command_is_in_the_readme():
    import typer

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", readme))
    missing = []
    for name, command in _commands(typer.main.get_command(app)):
        for param in command.params:
            flags = [*param.opts, *param.secondary_opts]
            if any(flag.startswith("-") for flag in flags) and not named & set(flags):
                missing.append(f"{name} {flags[0]}")
    assert missing == []


def test_a_long_paragraph_costs_a_small_multiple_of_its_size():
    # one 4 MB line: the stages once made lists of every word and int64 arrays of
    # every character of it, 30 times its size in all
    text = "word " * 800_000
    list(Cleaner().run(["Warm up the catalogue and the context model once."]))
    load_kernels()  # a long line is fingerprinted by the compiled kernels: numba's import is not its cost
    tracemalloc.start()
    try:
        (long, _) = list(Cleaner().run([{"id": "long", "text": text}, {"id": "short", "text": ARTICLE[0]}]))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert long.text == text
    assert peak < 20 * len(text), peak / len(text)  # 18 now, 30 before


@given(st.text(alphabet="ab1 2.,-_\u00e9\u00c9\u00bd\uff11\u00df\n\t", max_size=80), st.booleans(),
       st.integers(1, 9))
@settings(max_examples=300, deadline=None)
def test_a_match_key_made_in_pieces_is_the_whole_texts_key(text, fold_digits, piece_chars):
    whole = match_key(text, fold_digits)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalize, "KEY_PIECE_CHARS", piece_chars)
        assert match_key(text, fold_digits) == whole


@given(st.lists(st.text(alphabet="aB1 .,!?\u00e9\u00a0\t|", max_size=12), max_size=8), st.integers(1, 7))
@settings(max_examples=300, deadline=None)
def test_page_chars_counted_in_blocks_are_the_same(lines, block_chars):
    page = chars.PageChars(lines)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chars, "COUNT_BLOCK_CHARS", block_chars)
        blocks = chars.PageChars(lines)
        assert blocks.words.tolist() == page.words.tolist() == [len(line.split()) for line in lines]
        assert blocks.nonspace.tolist() == page.nonspace.tolist()
        assert [a.tolist() for a in blocks.first_letter_lower()] == [a.tolist() for a in page.first_letter_lower()]
        mask = page.has(chars.UPPER)
        assert blocks.count(mask).tolist() == page.count(mask).tolist() == [sum(c.isupper() for c in x) for x in lines]


def test_parquet_cells_over_the_cap_are_bad_input_and_never_converted(runner, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    big = "word " * 200_000  # 1 MB, on 100 rows: a 3 KB file of 100 MB of text
    texts = [ARTICLE[0], big, OTHER[0]] + [big] * 97
    pq.write_table(pa.table({"id": [f"d{i}" for i in range(100)], "text": texts}), tmp_path / "bomb.parquet",
                   compression="zstd")
    assert (tmp_path / "bomb.parquet").stat().st_size < 20_000
    rec, out = tmp_path / "rec.jsonl", tmp_path / "out.jsonl"
    tracemalloc.start()
    try:
        result = invoke(runner, "clean", tmp_path / "bomb.parquet", "--max-document-bytes", "512KB", "--skip-bad",
                        "--removed", rec, "-o", out, "-q", "-j", "1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.exit_code == 0, result.output
    assert [d["id"] for d in read_jsonl(out)] == ["d0", "d2"]
    entries = read_jsonl(rec)
    assert [e["doc_id"] for e in entries] == ["d1"] + [f"d{i}" for i in range(3, 100)]
    assert {e["rule"] for e in entries} == {"too-long"}
    assert entries[0]["salvage"] == {"bytes_read": len(big), "bytes_kept": 65536}
    assert entries[0]["text"] == big[:65536] and "bomb.parquet:row 2" in entries[0]["detail"]
    assert peak < 40_000_000, peak  # the 100 MB of text was never made into Python strings


def test_a_parquet_row_group_of_one_row_over_the_cap_is_refused_from_its_metadata(runner, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"id": ["a", "huge", "b"], "text": [ARTICLE[0], "word " * 400_000, OTHER[0]]})
    pq.write_table(table, tmp_path / "groups.parquet", row_group_size=1, compression="zstd")
    result = invoke(runner, "clean", tmp_path / "groups.parquet", "--max-document-bytes", "1MB", "-q")
    assert result.exit_code == 1
    assert "groups.parquet:row 2" in result.stderr and "--max-document-bytes" in result.stderr
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "groups.parquet", "--max-document-bytes", "1MB", "--skip-bad",
                    "--removed", rec, "-q")
    assert [json.loads(x)["id"] for x in result.stdout.splitlines()] == ["a", "b"]
    (entry,) = read_jsonl(rec)
    assert entry["rule"] == "too-long" and entry["salvage"]["bytes_read"] >= 2_000_000


def test_an_index_refusal_names_settings_in_the_library_and_flags_on_the_command_line(runner, tmp_path):
    pytest.importorskip("pyarrow")
    (tmp_path / "a.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    index = tmp_path / "corpus.index"
    result = invoke(runner, "clean", tmp_path / "a.txt", "--index", index, "-o", tmp_path / "o.jsonl", "-q")
    assert result.exit_code == 0, result.output
    with pytest.raises(ConfigError, match=r"dedup\.num_perm=64") as caught:
        list(clean(["x"], CleanConfig(dedup=DedupConfig(num_perm=64)), index=index))
    assert "--" not in str(caught.value)
    result = invoke(runner, "clean", tmp_path / "a.txt", "--index", index, "--num-perm", "64", "-q")
    assert result.exit_code == 1 and "--num-perm=64" in result.stderr and "dedup." not in result.stderr
