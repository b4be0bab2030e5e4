"""Incremental runs against a persistent index (clean --index, dedupe index info)."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("pyarrow")

from dedupe import CleanConfig, Cleaner, ConfigError, DedupConfig, clean
from dedupe.index import Index

from .conftest import ARTICLE, OTHER, read_jsonl, write_jsonl
from .test_cli import invoke

NEW = "A brand new paragraph about the harbour festival, which nobody had written about before this week."


def docs(prefix: str, texts: list[str], url: str | None = None) -> list[dict]:
    rows = [{"id": f"{prefix}{n}", "text": text} for n, text in enumerate(texts)]
    if url:
        for n, row in enumerate(rows):
            row["url"] = f"{url}/{prefix}{n}"
    return rows


def run_batches(folder, batches, config=CleanConfig()):
    """Clean batches one after another against one index; the removals of each."""
    out = []
    for batch in batches:
        with Index.open(folder, config) as index:
            cleaner = Cleaner(config, index=index)
            results = list(cleaner.run(batch))
            index.commit()
        out.append([r for res in results for r in res.removals])
    return out


def test_second_batch_copies_point_at_the_earlier_documents(runner, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", docs("a", ["\n".join(ARTICLE), "\n".join(OTHER)]))
    second = write_jsonl(tmp_path / "second.jsonl", docs("b", ["\n".join(ARTICLE[:2] + [NEW])]))
    index = tmp_path / "index"
    for number, batch in enumerate((first, second)):
        out, rec = tmp_path / f"out{number}.jsonl", tmp_path / f"rec{number}.jsonl"
        result = invoke(runner, "clean", batch, "-o", out, "--removed", rec, "--index", index, "-q")
        assert result.exit_code == 0, result.output
    assert read_jsonl(tmp_path / "out1.jsonl") == [{"id": "b0", "text": NEW}]
    removed = read_jsonl(tmp_path / "rec1.jsonl")
    assert [(r["reason"], r["kept_doc_id"], r["kept_paragraph"]) for r in removed] == [
        ("duplicate", "a0", 0), ("duplicate", "a0", 1)]
    info = invoke(runner, "index", "info", index, "--json")
    assert info.exit_code == 0, info.output
    facts = json.loads(info.stdout)
    assert (facts["batches"], facts["documents"]) == (2, 3)
    assert facts["rows_kept"] == len(ARTICLE) + len(OTHER) + 1
    assert facts["parameters"]["num_perm"] == 128
    text = invoke(runner, "index", "info", index)
    assert "batches    2" in text.stdout and "ngram" in text.stdout


def test_a_batch_cleaned_twice_is_all_duplicate_the_second_time(tmp_path):
    batch = docs("a", ["\n".join(ARTICLE), "\n".join(OTHER)])
    # the second batch adds no rows: the third reads an empty batch file
    _, again, third = run_batches(tmp_path / "ix", [batch, batch, batch])
    assert {r.reason for r in again} == {"duplicate", "duplicate-document"}
    assert {r.kept_doc_id for r in again if r.paragraph is None} == {"a0", "a1"}
    assert [r.to_dict() for r in third] == [r.to_dict() for r in again]


def test_parameters_that_change_fingerprints_are_refused(runner, tmp_path):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "--ngram", "4", "-q")
    assert result.exit_code == 1
    assert "ngram=5" in result.output and "ngram=4" in result.output
    assert not (tmp_path / "o2.jsonl").exists()


def test_an_index_of_one_signature_scheme_is_refused_by_another(runner, tmp_path):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "--scheme", "oph", "-q")
    assert result.exit_code == 1
    assert "--scheme='datasketch'" in result.output and "--scheme='oph'" in result.output
    assert not (tmp_path / "o2.jsonl").exists()
    again = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index,
                   "--scheme", "datasketch", "-q")
    assert again.exit_code == 0, again.output


def test_an_index_from_before_the_scheme_setting_holds_datasketch_signatures(runner, tmp_path):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    manifest = json.loads((index / "manifest.json").read_text())
    del manifest["parameters"]["scheme"]
    (index / "manifest.json").write_text(json.dumps(manifest))
    served = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "-q")
    assert served.exit_code == 0, served.output
    refused = invoke(runner, "clean", batch, "-o", tmp_path / "o3.jsonl", "--index", index, "--scheme", "oph", "-q")
    assert refused.exit_code == 1 and "--scheme='datasketch'" in refused.output


@pytest.mark.parametrize("flags, named", [
    (["--threshold", "0.8"], "--threshold=0.8"),
    (["--num-perm", "64"], "--num-perm=64"),
    (["--bands", "16"], "--bands=16"),
])
def test_the_refusal_names_the_setting_the_user_changed_not_the_bands_it_moved(runner, tmp_path, flags, named):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE), "\n".join(OTHER)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "-q", *flags)
    assert result.exit_code == 1
    assert named in result.output, result.output
    if flags[0] == "--threshold":
        # the bands the index was built with serve the new threshold too
        bands = re.search(r"keep this one with --bands=(\d+), or a new index", result.output).group(1)
        again = invoke(runner, "clean", batch, "-o", tmp_path / "o3.jsonl", "--index", index, "-q", *flags,
                       "--bands", bands)
        assert again.exit_code == 0, again.output


def test_a_failed_run_leaves_the_index_as_it_was(runner, tmp_path):
    index = tmp_path / "index"
    good = write_jsonl(tmp_path / "good.jsonl", docs("a", ["\n".join(ARTICLE)]))
    assert invoke(runner, "clean", good, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    before = {p.name: p.read_bytes() for p in index.iterdir()}
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "b", "text": "\n".join(OTHER)}) + "\n{not json\n", encoding="utf-8")
    result = invoke(runner, "clean", bad, "-o", tmp_path / "o2.jsonl", "--index", index, "-q")
    assert result.exit_code == 1 and "bad.jsonl:2" in result.output
    assert {p.name: p.read_bytes() for p in index.iterdir()} == before


def test_an_uncommitted_batch_is_discarded(tmp_path):
    folder = tmp_path / "ix"
    run_batches(folder, [docs("a", ["\n".join(ARTICLE)])])
    manifest = (folder / "manifest.json").read_bytes()
    with Index.open(folder, CleanConfig()) as index:
        list(Cleaner(index=index).run(docs("b", ["\n".join(OTHER)])))  # staged, never committed
    assert (folder / "manifest.json").read_bytes() == manifest
    # batch 1's rows and its template families ("120 km/h": a line with values) stay, batch 2's go
    assert sorted(p.name for p in folder.glob("batch-*")) == ["batch-000001.families.parquet",
                                                               "batch-000001.parquet"]
    (folder / "batch-000009.parquet").write_bytes(b"left by a killed run")
    with Index.open(folder, CleanConfig()) as index:
        assert index.info()["batches"] == 1
    assert not (folder / "batch-000009.parquet").exists()


def test_an_index_in_use_is_refused(tmp_path):
    with Index.open(tmp_path / "ix", CleanConfig()), pytest.raises(ConfigError, match="in use"):
        Index.open(tmp_path / "ix", CleanConfig())


def test_boilerplate_counts_carry_across_batches(tmp_path):
    # a line in 3 documents of each batch: boilerplate once 5 documents have it
    config = CleanConfig(dedup=DedupConfig(boilerplate_docs=5))
    line = "The harbour museum opens at nine on weekdays and at ten on Sundays, all year."
    first = docs("a", [f"{line}\n{ARTICLE[n]}" for n in range(3)])
    second = docs("b", [f"{line}\n{OTHER[n]}" for n in range(3)])
    removed_first, removed_second = run_batches(tmp_path / "ix", [first, second], config)
    assert [r.reason for r in removed_first if r.paragraph == 0] == ["duplicate", "duplicate"]
    assert [(r.reason, r.rule) for r in removed_second if r.paragraph == 0] == [("boilerplate", "boilerplate-docs")] * 3
    # and once boilerplate, always boilerplate
    (third,) = run_batches(tmp_path / "ix", [docs("c", [f"{line}\n{NEW}"])], config)
    assert [(r.reason, r.paragraph) for r in third] == [("boilerplate", 0)]


def test_site_template_counts_carry_across_batches(tmp_path):
    header = "The Harbour Gazette has reported from the northern coast since 1887."
    first = docs("a", [f"{header}\n{ARTICLE[0]}", f"{header}\n{ARTICLE[1]}"], url="https://gazette.example")
    second = docs("b", [f"{header}\n{OTHER[0]}", f"{header}\n{OTHER[1]}"], url="https://gazette.example")
    removed_first, removed_second = run_batches(tmp_path / "ix", [first, second])
    assert [r.reason for r in removed_first] == ["duplicate"]  # two pages: not yet a template
    assert [(r.reason, r.rule) for r in removed_second] == [("boilerplate", "site-template")] * 2
    # a later page of the site loses it by the same rule
    (third,) = run_batches(tmp_path / "ix", [docs("c", [f"{header}\n{NEW}"], url="https://gazette.example")])
    assert [(r.reason, r.rule, r.paragraph) for r in third] == [("boilerplate", "site-template", 0)]


def test_library_clean_with_an_index_and_workers(tmp_path):
    batch = docs("a", ["\n".join(ARTICLE), "\n".join(OTHER)])
    assert len(list(clean(batch, index=tmp_path / "ix"))) == 2
    again = list(Cleaner(jobs=2, index=Index.open(tmp_path / "ix2", CleanConfig())).run(batch))
    assert len(again) == 2
    assert list(clean(batch + docs("b", [NEW]), index=tmp_path / "ix")) == [{"id": "b0", "text": NEW}]


def test_index_info_on_a_folder_that_is_not_an_index(runner, tmp_path):
    result = invoke(runner, "index", "info", tmp_path)
    assert result.exit_code == 1 and "not a dedupe index" in result.output


def test_first_batch_with_an_index_is_cleaned_exactly_as_without(runner, tmp_path):
    from .conftest import SEEDS

    plain = invoke(runner, "clean", SEEDS, "-o", tmp_path / "plain.jsonl", "--removed", tmp_path / "plain.rem", "-q")
    indexed = invoke(runner, "clean", SEEDS, "-o", tmp_path / "ix.jsonl", "--removed", tmp_path / "ix.rem",
                     "--index", tmp_path / "index", "-q")
    assert plain.exit_code == indexed.exit_code == 0
    assert (tmp_path / "plain.jsonl").read_bytes() == (tmp_path / "ix.jsonl").read_bytes()
    assert (tmp_path / "plain.rem").read_bytes() == (tmp_path / "ix.rem").read_bytes()


def test_incremental_runs_do_not_depend_on_the_memory_limit(tmp_path):
    first = docs("a", ["\n".join(ARTICLE), "\n".join(OTHER)])
    second = docs("b", ["\n".join(ARTICLE[1:] + [NEW]), "\n".join(OTHER[:2])])
    plain = run_batches(tmp_path / "one", [first, second, second])
    spilled = run_batches(tmp_path / "two", [first, second, second],
                          CleanConfig(dedup=DedupConfig(memory_limit="1")))
    assert [[r.to_dict() for r in batch] for batch in spilled] == [[r.to_dict() for r in batch] for batch in plain]
    assert sum(len(batch) for batch in plain) > 0


def test_loading_an_index_streams_its_signatures_into_the_run_s_budget(tmp_path):
    """An index's signatures join the run's store batch by batch, spilling past its limit."""
    import numpy as np

    from dedupe.store import SignatureStore

    config = CleanConfig()
    run_batches(tmp_path / "ix", [docs("a", ["\n".join(ARTICLE)]), docs("b", ["\n".join(OTHER)])], config)
    with Index.open(tmp_path / "ix", config) as index:
        whole = SignatureStore(rows=4, limit=0, folder=None)
        rows = index.load(whole).rows
        store = SignatureStore(rows=4, limit=1024, folder=str(tmp_path))
        index.load(store)
    assert store.spilled and not whole.spilled
    assert np.array_equal(store.take(np.arange(store.size)), whole.take(np.arange(whole.size)))
    assert whole.size == int((rows.sig_row >= 0).sum()) > 0


def test_a_damaged_index_file_stops_with_its_name(runner, tmp_path):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    (index / "batch-000001.parquet").write_bytes(b"PAR1 not really")
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "-q")
    assert result.exit_code == 1
    assert "batch-000001.parquet: cannot read this index file" in result.output


def test_an_index_of_the_format_before_identifiers_is_refused(runner, tmp_path):
    """Format 1 folded identifiers into its exact hashes and counted no template families."""
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    manifest = json.loads((index / "manifest.json").read_text())
    assert manifest["format"] == 2 and manifest["batches"][0]["families"]
    (index / "manifest.json").write_text(json.dumps({**manifest, "format": 1}))
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "-q")
    assert result.exit_code == 1
    assert "index format 1; this dedupe reads format 2" in result.output and "new index folder" in result.output
    assert not (tmp_path / "o2.jsonl").exists()


def test_identifiers_tell_lines_apart_across_batches(tmp_path):
    fix = "Fix a use after free in the WebShare component, reported by Khalil Zhani (CVE-2022-0794)."
    first = docs("a", [f"{fix}\n{ARTICLE[0]}"])
    second = docs("b", [f"{fix.replace('0794', '0795')}\n{OTHER[0]}", f"{fix}\n{OTHER[1]}"])
    _, removed = run_batches(tmp_path / "ix", [first, second])
    assert [(r.doc_id, r.reason, r.kept_doc_id) for r in removed] == [("b1", "duplicate", "a0")]


def test_template_family_pages_carry_across_batches(tmp_path):
    # sign-offs on 3 changelogs of each batch: a template once 5 documents have one
    config = CleanConfig(dedup=DedupConfig(boilerplate_docs=5))

    def changelog(n: int) -> str:
        return (f"{(ARTICLE + OTHER)[n]}\n -- Maintainer {'ABCDEFG'[n]} <m{'abcdefg'[n]}@debian.org>  "
                f"Thu, {n + 10} Aug 2022 1{n}:03:49 +0200")

    first = docs("a", [changelog(n) for n in range(3)])
    second = docs("b", [changelog(n) for n in range(3, 6)])
    removed_first, removed_second = run_batches(tmp_path / "ix", [first, second], config)
    assert removed_first == []
    assert [(r.reason, r.rule, r.paragraph) for r in removed_second] == [("boilerplate", "templated-docs", 1)] * 3
    # and the family stays a template
    (third,) = run_batches(tmp_path / "ix", [docs("c", [changelog(6)])], config)
    assert [(r.rule, r.paragraph) for r in third] == [("templated-docs", 1)]


@pytest.mark.parametrize(("recorded", "accepted"), [
    # what indexes recorded before the scheme was named after fingerprint.HASH_SCHEME: the same arithmetic
    ("murmur3-fmix32+affine32-mersenne61 / xxh3-64 exact", True),
    ("char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:affine32/bands:xormul-fmix64/exact:xxh3-64", True),
    ("some-other-hash", False),
])
def test_an_index_is_served_only_when_its_hash_scheme_is_this_one(runner, tmp_path, recorded, accepted):
    batch = write_jsonl(tmp_path / "in.jsonl", docs("a", ["\n".join(ARTICLE)]))
    index = tmp_path / "index"
    assert invoke(runner, "clean", batch, "-o", tmp_path / "o.jsonl", "--index", index, "-q").exit_code == 0
    manifest = json.loads((index / "manifest.json").read_text())
    manifest["parameters"]["hash_scheme"] = recorded
    (index / "manifest.json").write_text(json.dumps(manifest))
    result = invoke(runner, "clean", batch, "-o", tmp_path / "o2.jsonl", "--index", index, "-q")
    assert result.exit_code == (0 if accepted else 1), result.output
    if not accepted:
        assert "hash_scheme='some-other-hash'" in result.output
