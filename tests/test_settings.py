"""Settings and side files: a wrong one is one line naming what to change.

Every field of every configuration dataclass checks its type (a quoted
number or boolean in a TOML file is an error, not a silent surprise), rule
names are checked against the catalogue, and a fallback encoding must read
ASCII as ASCII. Removal records, stats files and index manifests that are not
what dedupe writes are refused with one line, never a traceback.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from dedupe import CleanConfig
from dedupe.config import DedupConfig, NormalizeConfig, ReadConfig, StripConfig
from dedupe.errors import ConfigError

from .conftest import ARTICLE, assert_one_line_failure, write_jsonl
from .conftest import invoke_one_job as invoke

# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "needles"), [
    ("[dedup]\nnum_perm = 64.5", ["dedup.num_perm must be an integer", "64.5"]),
    ('[dedup]\nthreshold = "0.5"', ["dedup.threshold must be a number", "threshold = 0.5 without quotes"]),
    ("[dedup]\nseed = -1", ["dedup.seed must be between 0 and"]),
    ('[read]\nskip_bad = "false"', ["read.skip_bad must be true or false", "skip_bad = false without quotes"]),
    ("[read]\nskip_bad = 1", ["read.skip_bad must be true or false"]),
    ('[strip]\ndisabled_rules = ["share", "no-such-rule"]', ["no rule named 'no-such-rule'", "dedupe rules"]),
    ('[strip]\ndisabled_rules = "share"', ["strip.disabled_rules must be a list", 'disabled_rules = ["share"]']),
    ("[read]\ntext_field = 3", ["read.text_field must be a string"]),
    ("[dedup]\nkeep = 1", ["dedup.keep must be one of"]),
    ("[dedup.threshold]\nx = 1", ["dedup.threshold must be a number, not a table"]),
    ("[strip]\ncontext_threshold = nan", ["strip.context_threshold must be a number, not nan"]),
    ('[read]\nmax_document_bytes = "lots"', ["not a size"]),
])
def test_settings_of_the_wrong_type_are_refused_with_the_fix(runner, tmp_path, toml, needles):
    (tmp_path / "a.txt").write_text(ARTICLE[0])
    (tmp_path / "c.toml").write_text(toml + "\n")
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "a.txt", "--config", tmp_path / "c.toml"), *needles)


WRONG = {bool: ["false", 0, None], int: [1.5, "3", True, None, [1]], float: ["0.5", True, None, [0.5]],
         str: [3, None, ["a"]]}


@pytest.mark.parametrize("section", [ReadConfig, NormalizeConfig, StripConfig, DedupConfig])
def test_every_setting_refuses_a_value_of_the_wrong_type(section):
    hints = {f.name: f for f in dataclasses.fields(section)}
    checked = 0
    for name, item in hints.items():
        default = getattr(section(), name)
        kind = type(default) if default is not None else float if name.endswith("threshold") else str
        for value in WRONG.get(kind, [{"a": 1}]):
            if value is None and getattr(section(), name) is None:
                continue
            if name in ("memory_limit", "max_document_bytes") and isinstance(value, str):
                continue  # sizes may be written as strings
            with pytest.raises(ConfigError, match=rf"\.{name}"):
                section(**{name: value})
            checked += 1
        assert item.name == name
    assert checked >= len(hints)
    with pytest.raises(ConfigError, match=r"CleanConfig\.dedup"):
        CleanConfig(dedup={"threshold": 0.5})  # type: ignore[arg-type]
    # numbers of the other kind are fine where no meaning is lost
    assert DedupConfig(threshold=1).threshold == 1.0 and isinstance(DedupConfig(threshold=1).threshold, float)


@pytest.mark.parametrize("codec", ["rot13", "hex", "base64", "idna", "punycode", "utf-16", "utf-32", "utf-7", "cp500"])
def test_a_fallback_encoding_must_read_ascii_as_ascii(runner, tmp_path, codec):
    (tmp_path / "a.txt").write_bytes("Caf\xe9 and more text".encode("latin-1"))
    result = invoke(runner, "clean", tmp_path / "a.txt", "--fallback-encoding", codec)
    assert_one_line_failure(result, "read.fallback_encoding", repr(codec))


@pytest.mark.parametrize("codec", ["cp1252", "latin-1", "shift_jis", "gb18030", "koi8-r", "utf-8"])
def test_ascii_compatible_fallback_encodings_are_accepted(runner, tmp_path, codec):
    (tmp_path / "a.txt").write_bytes(b"plain words \xe9\xe8 " + ARTICLE[0].encode())
    result = invoke(runner, "clean", tmp_path / "a.txt", "--fallback-encoding", codec, "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["text"].endswith(ARTICLE[0])


# -- side files ------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("similarity", '"high"'), ("kept_paragraph", '"x"'), ("paragraph", "[1]"),
                                              ("text", '{"a": 1}'), ("kept_paragraph", "9" * 5000)])
def test_a_removal_record_with_a_field_of_the_wrong_type(runner, tmp_path, field, value):
    entry = {"doc_id": "d", "paragraph": 1, "text": "t", "reason": "duplicate", "rule": "minhash",
             "kept_doc_id": "k", "kept_paragraph": 0, "similarity": 0.9, field: "VALUE"}
    rec = tmp_path / "rec.jsonl"
    fine = {"similarity": 0.5, "kept_paragraph": 2, "paragraph": 3, "text": "u"}[field]
    rec.write_text(json.dumps({**entry, "doc_id": "other", field: fine}) + "\n"
                   + json.dumps(entry).replace('"VALUE"', value) + "\n")
    needle = "rec.jsonl:2"
    assert_one_line_failure(invoke(runner, "explain", "d", "--removed", rec), needle)
    assert_one_line_failure(invoke(runner, "report", "--removed", rec, "-o", tmp_path / "r.html"), needle)


@pytest.mark.parametrize("content", ["[1, 2]", '{"documents": [1]}', '"stats"', '{"a": ' + "1" * 5000 + "}"],
                         ids=["list", "documents-list", "string", "huge-number"])
def test_a_stats_file_that_is_not_a_stats_object(runner, tmp_path, content):
    rec, stats = tmp_path / "rec.jsonl", tmp_path / "stats.json"
    write_jsonl(rec, [{"doc_id": "d", "paragraph": 0, "text": "t", "reason": "chrome", "rule": "share"}])
    stats.write_text(content)
    result = invoke(runner, "report", "--removed", rec, "--stats", stats, "-o", tmp_path / "r.html")
    assert_one_line_failure(result, "stats.json")
    assert not (tmp_path / "r.html").exists()


BATCH = '{"number": 1, "file": "../../x.parquet", "documents": 1, "rows": 1, "kept": 1, "boilerplate": 0}'


@pytest.mark.parametrize("manifest", [
    '{"format": 1}',
    "[]",
    '{"format": 1, "parameters": {"num_perm": 128}, "batches": [{"number": "1"}]}',
    '{"format": 1, "parameters": {"num_perm": 128}, "batches": [' + BATCH + "]}",
], ids=["no-parameters", "list", "batch-number-string", "batch-file-outside"])
def test_a_damaged_index_manifest_is_one_line(runner, tmp_path, manifest):
    pytest.importorskip("pyarrow")
    index = tmp_path / "idx"
    index.mkdir()
    (index / "manifest.json").write_text(manifest)
    (tmp_path / "a.txt").write_text(ARTICLE[0])
    assert_one_line_failure(invoke(runner, "index", "info", index), "manifest.json")
    assert_one_line_failure(invoke(runner, "clean", tmp_path / "a.txt", "--index", index, "-q"), "manifest.json")
