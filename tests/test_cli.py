"""The command line, through typer's runner: the demo, formats, bad input, determinism."""

from __future__ import annotations

import gzip
import json
import re

import pytest
import zstandard

from dedupe.cli import app
from dedupe.layout import segment
from dedupe.normalize import match_key, repair_document

from .conftest import (
    ARTICLE,
    OTHER,
    ROOT,
    SEED_PAGE,
    SEEDS,
    read_jsonl,
    reference_take_out,
    write_jsonl,
)


def invoke(runner, *args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def seeds_run(tmp_path_factory):
    from typer.testing import CliRunner

    out = tmp_path_factory.mktemp("seeds")
    result = CliRunner().invoke(app, ["clean", str(SEEDS), "-o", str(out / "clean.jsonl"),
                                      "--removed", str(out / "removed.jsonl"), "--stats", str(out / "stats.json")])
    assert result.exit_code == 0, result.output
    stats = json.loads((out / "stats.json").read_text())
    return read_jsonl(out / "clean.jsonl"), read_jsonl(out / "removed.jsonl"), stats


def test_seed_demo_keeps_the_titles_its_small_sites_also_list_as_teasers(seeds_run):
    # each of these titles heads its own article and is listed as a related post on its
    # site's other pages (the sites hold four pages each): the article keeps it, the lists lose it
    docs, removed, _ = seeds_run
    for title in ("Three days on the ridge trail", "A winter soup that tastes better the next day",
                  "What the Baltic naval exercise tells us", "Stadtgärten als Zuflucht für Wildbienen"):
        holders = [d["id"] for d in docs if title in d["text"].splitlines()]
        assert len(holders) == 1, (title, holders)
        assert not [e for e in removed if e["text"] == title and e["doc_id"] == holders[0]]


def test_seed_demo_removes_chrome_and_keeps_each_article_paragraph_once(seeds_run):
    docs, _, _ = seeds_run
    kept = [p for d in docs for p in d["text"].split("\n")]
    seed = segment(SEED_PAGE.read_text(encoding="utf-8"))
    article = seed[:18]  # the page's own article, then the embedded wire story
    for paragraph in article:
        assert kept.count(paragraph) == 1, paragraph
    for chrome in ("No comments:", "Post a Comment", "UK Defence Secretary reveals hopes for imminent Moscow showdown",
                   "Russia sends 20 warships to the Black Sea to contain NATO"):
        assert chrome not in kept
    # no paragraph survives twice anywhere in the cleaned demo corpus
    keys = [match_key(p) for p in kept if len(p.split()) >= 8]
    assert len(keys) == len(set(keys))


def test_seed_demo_shows_every_kind_of_noise(seeds_run):
    docs, removed, stats = seeds_run
    reasons = {r["reason"] for r in removed}
    assert {"chrome", "boilerplate", "duplicate", "duplicate-document"} <= reasons
    rules = {r["rule"] for r in removed}
    assert {"related-links", "comment-count", "share", "cookie-notice", "copyright", "minhash", "exact"} <= rules
    kept_text = "\n".join(d["text"] for d in docs)
    assert "Ã" not in kept_text and "â€" not in kept_text  # mojibake repaired
    assert "européen" in kept_text.lower() or "Européen" not in kept_text
    assert stats["documents"]["in"] == stats["documents"]["kept"] + stats["documents"]["dropped"]
    assert stats["documents"]["in"] == len(docs) + sum(1 for r in removed if r["paragraph"] is None)


def test_removal_record_fields(seeds_run):
    _, removed, _ = seeds_run
    for entry in removed:
        assert list(entry)[:8] == ["doc_id", "paragraph", "text", "reason", "rule", "kept_doc_id",
                                   "kept_paragraph", "similarity"]
        if entry["reason"] == "duplicate":
            assert entry["kept_doc_id"] is not None and entry["kept_paragraph"] is not None
            assert 0 < entry["similarity"] <= 1


def test_every_command_has_help_and_a_readme_mention(runner):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__
        result = invoke(runner, name, "--help")
        assert result.exit_code == 0 and "Usage" in result.output
        assert f"dedupe {name}" in readme, f"README does not mention 'dedupe {name}'"


def test_readme_opens_with_two_working_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", readme, re.DOTALL)
    first = blocks[0].strip().splitlines()
    assert len(first) == 2
    assert "dedupe clean seeds/" in first[0] and "pytest" in first[1]


def test_byte_identical_output_across_jobs(runner, tmp_path, monkeypatch):
    from dedupe import pipeline
    from dedupe.executors import workers

    # The demo is far below the input that repays starting workers: with the
    # threshold at 0 and batches of 4 documents, -j2 runs its 6 batches on 2 workers.
    if workers.available_cores() < 2:
        pytest.skip("one core: --jobs 2 runs one worker")
    monkeypatch.setattr(workers, "MIN_POOL_CHARS", 0)
    monkeypatch.setattr(pipeline, "BATCH_DOCS", 4)
    started: list[int] = []
    start = workers.WorkerPool._start

    def counting_start(pool, count):
        started.append(count)
        start(pool, count)

    monkeypatch.setattr(workers.WorkerPool, "_start", counting_start)
    outputs = []
    for jobs in (1, 2):
        out, rec = tmp_path / f"o{jobs}.jsonl", tmp_path / f"r{jobs}.jsonl"
        result = invoke(runner, "clean", SEEDS, "-o", out, "--removed", rec, "--jobs", jobs, "-q")
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), rec.read_bytes()))
        assert started == ([] if jobs == 1 else [2])  # -j2 ran on two worker processes
    assert outputs[0] == outputs[1]
    assert read_jsonl(tmp_path / "r1.jsonl")  # something was removed: there was something to compare


def test_stdin_to_stdout(runner):
    data = "".join(json.dumps({"id": i, "text": t}) + "\n" for i, t in enumerate([ARTICLE[0], ARTICLE[0], OTHER[0]]))
    result = invoke(runner, "clean", "-", "-q", input=data)
    assert result.exit_code == 0
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [0, 2]


def test_compressed_jsonl_in_and_out(runner, tmp_path):
    rows = [{"id": "a", "text": "\n".join(ARTICLE)}, {"id": "b", "text": "\n".join(OTHER)}]
    raw = "".join(json.dumps(r) + "\n" for r in rows).encode()
    (tmp_path / "in.jsonl.gz").write_bytes(gzip.compress(raw))
    (tmp_path / "in2.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    for name in ("in.jsonl.gz", "in2.jsonl.zst"):
        for out_name in ("out.jsonl.gz", "out.jsonl.zst"):
            out = tmp_path / out_name
            result = invoke(runner, "clean", tmp_path / name, "-o", out, "-q")
            assert result.exit_code == 0, result.output
            data = gzip.decompress(out.read_bytes()) if out_name.endswith(".gz") else \
                zstandard.ZstdDecompressor().stream_reader(out.read_bytes()).read()
            assert [json.loads(line) for line in data.decode().splitlines()] == rows


def test_text_folder_in_and_out_keeps_relative_names(runner, tmp_path):
    src = tmp_path / "pages"
    (src / "blog").mkdir(parents=True)
    (src / "blog" / "one.txt").write_text("\n".join(ARTICLE + ["Share this:"]), encoding="utf-8")
    (src / "two.txt").write_text("\n".join(OTHER), encoding="utf-8")
    out = tmp_path / "clean"
    result = invoke(runner, "clean", src, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    assert (out / "blog" / "one.txt").read_text(encoding="utf-8") == "\n".join(ARTICLE)
    assert (out / "two.txt").read_text(encoding="utf-8") == "\n".join(OTHER)


LAYOUTS = {
    "crlf.txt": ("\r\n".join(ARTICLE) + "\r\n").encode(),
    "bom.txt": b"\xef\xbb\xbf" + "\n\n".join(OTHER).encode(),
    "indented.txt": b"# Notes\n\n    def gusts(kmh):\n        return kmh * 1.2\n\n\n\t- a list item  \n",
    "old-mac.txt": b"Written on a classic Mac, whose lines end in a lone CR.\r  and indented\r\r",
}


@pytest.mark.parametrize("command", ["clean", "strip"])
def test_txt_in_txt_out_is_byte_identical_when_nothing_is_removed(runner, tmp_path, command):
    src = tmp_path / "in"
    src.mkdir()
    for name, data in LAYOUTS.items():
        (src / name).write_bytes(data)
    result = invoke(runner, command, src, "-o", tmp_path / "out", "-j", 1, "-q")
    assert result.exit_code == 0, result.output
    for name, data in LAYOUTS.items():
        assert (tmp_path / "out" / name).read_bytes() == data, name


def test_jsonl_output_keeps_layout_and_takes_out_exactly_the_recorded_lines(runner, tmp_path):
    texts = [
        "  " + ARTICLE[0] + "\r\n\r\nShare this:\r\n\r\n\t" + ARTICLE[1] + "\r\n",
        "Tom &amp; Jerry&#10;" + ARTICLE[1] + "\n\n\n" + OTHER[0] + "\n\nNo comments:\n\n" + OTHER[1],
        "\n" + OTHER[2] + "  \r" + "Post a Comment\r",
    ]
    path = write_jsonl(tmp_path / "in.jsonl", [{"id": str(i), "text": t} for i, t in enumerate(texts)])
    out, rec = tmp_path / "out.jsonl", tmp_path / "rec.jsonl"
    assert invoke(runner, "clean", path, "-o", out, "--removed", rec, "-j", 1, "-q").exit_code == 0
    removed = {}
    for entry in read_jsonl(rec):
        removed.setdefault(entry["doc_id"], set()).add(entry["paragraph"])
    docs = read_jsonl(out)
    assert [d["id"] for d in docs] == ["0", "1", "2"] and all(removed.get(d["id"]) for d in docs)
    for doc in docs:
        text = repair_document(texts[int(doc["id"])])
        assert doc["text"] == reference_take_out(text, removed[doc["id"]])
    # ARTICLE[1] went as a copy of the first document's: the blank lines below it stay as they were
    assert docs[1]["text"] == "Tom & Jerry\n\n\n" + OTHER[0] + "\n\n" + OTHER[1]


def test_parquet_round_trip(runner, tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    text = "\r\n\r\n".join(ARTICLE) + "\r\n"
    table = pa.table({"id": ["a", "b"], "text": [text, text], "n": [1, 2]})
    pq.write_table(table, tmp_path / "in.parquet")
    result = invoke(runner, "clean", tmp_path / "in.parquet", "-o", tmp_path / "out.parquet", "-q")
    assert result.exit_code == 0, result.output
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == [{"id": "a", "text": text, "n": 1}]


# -- bad input ------------------------------------------------------------------


def test_malformed_jsonl_line_names_file_and_line(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "a", "text": ARTICLE[0]}) + "\n{not json\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "clean", path, "-o", out)
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.stderr and "not valid JSON" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()  # nothing half-written


def test_skip_bad_records_the_skipped_lines(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    lines = [json.dumps({"id": "a", "text": ARTICLE[0]}), "{not json", "[1, 2]",
             json.dumps({"id": "c", "body": "x"}), json.dumps({"id": "d", "text": 5})]
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "e", "text": "\xff\xfe"}\n')
    rec = tmp_path / "removed.jsonl"
    result = invoke(runner, "clean", path, "--removed", rec, "--skip-bad", "-q")
    assert result.exit_code == 0, result.output
    rules = [(r["doc_id"], r["rule"]) for r in read_jsonl(rec) if r["reason"] == "bad-input"]
    assert rules == [("bad.jsonl:2".replace("bad.jsonl", str(path)), "invalid-json"),
                     (f"{path}:3", "not-an-object"), ("c", "missing-text"), ("d", "text-not-string"),
                     (f"{path}:6", "invalid-utf8")]


def test_binary_and_undecodable_files_in_a_folder(runner, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("\n".join(ARTICLE), encoding="utf-8")
    (tmp_path / "in" / "image.txt").write_bytes(b"\x89PNG\x00\x00\x01binary")
    (tmp_path / "in" / "latin.txt").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    result = invoke(runner, "clean", tmp_path / "in", "-q")
    assert result.exit_code == 1
    assert "image.txt" in result.stderr and "binary" in result.stderr
    rec = tmp_path / "rec.jsonl"
    result = invoke(runner, "clean", tmp_path / "in", "--skip-bad", "--removed", rec, "-q")
    assert result.exit_code == 0
    assert {r["rule"] for r in read_jsonl(rec) if r["reason"] == "bad-input"} == {"binary-file", "invalid-utf8"}
    assert len(result.stdout.splitlines()) == 1


def test_truncated_gzip_is_reported(runner, tmp_path):
    raw = "".join(json.dumps({"id": i, "text": ARTICLE[i % 4] + f" {i}"}) + "\n" for i in range(200)).encode()
    (tmp_path / "cut.jsonl.gz").write_bytes(gzip.compress(raw)[:300])
    result = invoke(runner, "clean", tmp_path / "cut.jsonl.gz", "-q")
    assert result.exit_code == 1 and "cut.jsonl.gz" in result.stderr and "Traceback" not in result.output


def test_missing_input_and_unknown_format(runner, tmp_path):
    result = invoke(runner, "clean", tmp_path / "nope.jsonl")
    assert result.exit_code == 1 and "no such file" in result.stderr
    (tmp_path / "x.csv").write_text("a,b\n")
    result = invoke(runner, "clean", tmp_path / "x.csv")
    assert result.exit_code == 1 and "unknown input format" in result.stderr


def test_bad_setting_is_a_clear_error(runner, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "x"}])
    result = invoke(runner, "clean", tmp_path / "a.jsonl", "--num-perm", "100", "--bands", "7")
    assert result.exit_code == 1 and "must divide" in result.stderr


def test_config_file(runner, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "body": ARTICLE[0]}])
    (tmp_path / "c.toml").write_text('[read]\ntext_field = "body"\n[dedup]\nthreshold = 0.7\n')
    result = invoke(runner, "clean", tmp_path / "a.jsonl", "--config", tmp_path / "c.toml", "-q")
    assert result.exit_code == 0 and json.loads(result.stdout)["body"] == ARTICLE[0]
    (tmp_path / "bad.toml").write_text("[dedup]\nthresold = 0.7\n")
    result = invoke(runner, "clean", tmp_path / "a.jsonl", "--config", tmp_path / "bad.toml")
    assert result.exit_code == 1 and "thresold" in result.stderr


def test_strip_command_and_explain(runner, tmp_path):
    result = invoke(runner, "strip", SEED_PAGE, "--explain", "-q")
    assert result.exit_code == 0
    assert "- No comments:    [chrome: comment-count]" in result.stdout
    assert "+ Russia reveals US response to security proposals" in result.stdout


def test_comments_drop_on_both_commands_records_the_comment_rule(runner, tmp_path):
    from .conftest import ARTICLE

    page = ARTICLE + ["2 comments:", "Anna said...",
                      "Thanks for the update, we lost power too and the trains were still not running.",
                      "Post a Comment"]
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "p", "text": "\n".join(page)}])
    for command in ("strip", "clean"):
        out, rec = tmp_path / f"{command}.jsonl", tmp_path / f"{command}.removed.jsonl"
        result = invoke(runner, command, source, "-o", out, "--removed", rec, "--comments", "drop", "-q")
        assert result.exit_code == 0, result.output
        assert read_jsonl(out)[0]["text"] == "\n".join(ARTICLE)
        rules = {(r["paragraph"], r["rule"]) for r in read_jsonl(rec)}
        assert (len(ARTICLE) + 2, "comment") in rules
    result = invoke(runner, "strip", source, "--comments", "maybe", "-q")
    assert result.exit_code != 0 and "maybe" in result.output


def test_the_context_pass_is_on_by_default_on_both_commands_and_no_context_turns_it_off(runner, tmp_path):
    from .test_strip import NAV

    page = NAV[:6] + ARTICLE + NAV[6:]
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "p", "text": "\n".join(page)}])
    for command in ("strip", "clean"):
        rules = {}
        for flag in ([], ["--no-context"], ["--context"]):
            out, rec = tmp_path / f"{command}.jsonl", tmp_path / f"{command}.removed.jsonl"
            result = invoke(runner, command, source, "-o", out, "--removed", rec, *flag, "-q")
            assert result.exit_code == 0, result.output
            assert all(line in read_jsonl(out)[0]["text"].split("\n") for line in ARTICLE)
            rules[" ".join(flag)] = {r["rule"] for r in read_jsonl(rec)}
        assert "context" in rules[""] and rules[""] == rules["--context"]
        assert "context" not in rules["--no-context"] and rules["--no-context"] < rules[""]
    assert "--no-context" in invoke(runner, "strip", "--help").stdout


def test_novel_chars_decides_whether_a_repost_with_its_own_paragraph_is_dropped(runner, tmp_path):
    from .conftest import ARTICLE
    from .test_pipeline import INTRO

    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "wire", "text": "\n".join(ARTICLE)},
                                                {"id": "blog", "text": "\n".join([INTRO] + ARTICLE)}])
    kept = {}
    for bar in ("140", "0"):
        out = tmp_path / f"out{bar}.jsonl"
        result = invoke(runner, "clean", source, "-o", out, "--min-kept", "0.3", "--novel-chars", bar, "-q")
        assert result.exit_code == 0, result.output
        kept[bar] = [d["id"] for d in read_jsonl(out)]
    assert kept == {"140": ["wire", "blog"], "0": ["wire"]}
    result = invoke(runner, "clean", source, "--novel-chars", "-1", "-q")
    assert result.exit_code != 0


def test_related_evidence_decides_whether_an_articles_closing_list_stays(runner, tmp_path):
    from .test_pipeline import SPECS, linked_corpus

    source = write_jsonl(tmp_path / "in.jsonl", linked_corpus(SPECS))
    last = {}
    for share in ("0.5", "0"):
        out, stats = tmp_path / f"out{share}.jsonl", tmp_path / f"stats{share}.json"
        result = invoke(runner, "clean", source, "-o", out, "--stats", stats, "--related-evidence", share, "-q")
        assert result.exit_code == 0, result.output
        last[share] = read_jsonl(out)[-1]["text"].split("\n")[len(OTHER):]
    assert json.loads((tmp_path / "stats0.5.json").read_text())["clusters"]["link_lists_kept"] == 1
    assert last == {"0.5": SPECS, "0": []}
    result = invoke(runner, "clean", source, "--related-evidence", "1.5", "-q")
    assert result.exit_code != 0


def test_typo_words_decides_whether_a_short_line_one_typo_apart_is_a_copy(runner, tmp_path):
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "\n".join(ARTICLE + ["Storm Floods Harbour"])},
                                                {"id": "b", "text": "\n".join(OTHER + ["Storm Floods Harbor"])}])
    kept = {}
    for words in ("6", "0"):
        out = tmp_path / f"out{words}.jsonl"
        result = invoke(runner, "clean", source, "-o", out, "--typo-words", words, "--min-kept", "0", "-q")
        assert result.exit_code == 0, result.output
        kept[words] = read_jsonl(out)[1]["text"].split("\n")[-1]
    assert kept == {"6": OTHER[-1], "0": "Storm Floods Harbor"}
    assert invoke(runner, "clean", source, "--typo-words", "-1", "-q").exit_code != 0


def test_strip_is_idempotent_on_its_output(runner, tmp_path):
    once, twice = tmp_path / "once.jsonl", tmp_path / "twice.jsonl"
    assert invoke(runner, "strip", SEEDS, "-o", once, "-q").exit_code == 0
    assert invoke(runner, "strip", once, "-o", twice, "-q").exit_code == 0
    assert once.read_bytes() == twice.read_bytes()


def test_explain_command_reads_the_record(runner, seeds_run, tmp_path):
    _, removed, _ = seeds_run
    rec = write_jsonl(tmp_path / "r.jsonl", removed)
    doc = next(r["doc_id"] for r in removed if r["reason"] == "duplicate")
    result = invoke(runner, "explain", doc, "--removed", rec)
    assert result.exit_code == 0 and "duplicate/" in result.stdout and "kept in" in result.stdout
    assert invoke(runner, "explain", "no-such-doc", "--removed", rec).exit_code == 1


def test_rules_command_lists_the_catalogue(runner):
    result = invoke(runner, "rules")
    assert result.exit_code == 0 and "comment-count" in result.stdout


def test_summary_goes_to_stderr_and_data_to_stdout(runner, tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": ARTICLE[0]}])
    result = invoke(runner, "clean", tmp_path / "a.jsonl")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"id": 1, "text": ARTICLE[0]}
    assert "documents" in result.stderr


def test_failed_run_leaves_previous_output_untouched(runner, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    assert invoke(runner, "clean", tmp_path / "bad.jsonl", "-o", out).exit_code == 1
    assert out.read_text() == "previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "out.jsonl"]


def test_memory_limit_spills_without_changing_output_and_rejects_bad_sizes(runner, tmp_path):
    outputs = []
    for limit in ("0", "1KB"):
        out, rec, st = tmp_path / f"o{limit}.jsonl", tmp_path / f"r{limit}.jsonl", tmp_path / f"s{limit}.json"
        result = invoke(runner, "clean", SEEDS, "-o", out, "--removed", rec, "--stats", st,
                        "--memory-limit", limit, "--jobs", 1, "-q")
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), rec.read_bytes()))
        assert (json.loads(st.read_text())["signatures_spilled"] > 0) == (limit != "0")
    assert outputs[0] == outputs[1]
    result = invoke(runner, "clean", SEEDS, "--memory-limit", "lots", "-q")
    assert result.exit_code == 1 and "not a size" in result.output


def test_keep_first_keeps_the_first_copy_wherever_its_headline_stands(runner, tmp_path):
    """Failed before: the placement ranking overrode --keep first, keeping b's copy (a title) over a's
    (an entry of a list after a's text); placement now decides for the default policy only."""
    line = "Update Install Scripts For The Build"
    a = OTHER + [line, "Council Approves New Bike Lanes", "Library Reopens After Long Repairs"]
    b = [line] + ARTICLE
    source = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": "\n".join(a)}, {"id": "b", "text": "\n".join(b)}])
    holders = {}
    for keep in ("first", "placement"):
        out, removed = tmp_path / f"{keep}.jsonl", tmp_path / f"{keep}.removed.jsonl"
        result = invoke(runner, "clean", source, "-o", out, "--removed", removed, "--keep", keep,
                        "--min-kept", "0", "-q")
        assert result.exit_code == 0, result.output
        holders[keep] = [d["id"] for d in read_jsonl(out) if line in d["text"].split("\n")]
        (dup,) = [r for r in read_jsonl(removed) if r["reason"] == "duplicate"]
        assert dup["kept_doc_id"] == holders[keep][0]
    assert holders == {"first": ["a"], "placement": ["b"]}
    default = tmp_path / "default.jsonl"
    assert invoke(runner, "clean", source, "-o", default, "--min-kept", "0", "-q").exit_code == 0
    assert default.read_bytes() == (tmp_path / "placement.jsonl").read_bytes()
