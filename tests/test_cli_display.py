"""What the command line prints: help and its defaults, escaped corpus text, errors that name the fix."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
import typer
from typer.testing import CliRunner

from dedupe.cli import app
from dedupe.config import DedupConfig
from dedupe.display import escape_controls

from .conftest import ROOT, write_jsonl

#: Characters no terminal may receive raw from the corpus: ESC (CSI and OSC
#: sequences), BEL, CR, backspace, DEL, C1 CSI, line separator, RLO, LRI, PDI.
HOSTILE = "\x1b[2J\x1b]0;owned\x07\r\x08\x7f\x9b31m\u2028\u202e\u2066\u2069"


def invoke(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def _raw_controls(text: str) -> list[str]:
    """Characters of ``text`` that escape_controls would have escaped (a newline ends a line)."""
    return [c for c in text if c != "\n" and escape_controls(c) != c]


def _help_defaults(command: str) -> dict[str, str]:
    """``--option`` -> the default its help shows (typed into the text, or the parameter's own)."""
    click_command = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    defaults = {}
    for param in click_command.params:
        long = next((o for o in param.opts if o.startswith("--")), None)
        found = re.search(r"\[default: ([^\]]+)\]", getattr(param, "help", None) or "")
        if found:
            defaults[long] = found.group(1)
        elif param.default is not None and param.default is not False and long:
            defaults[long] = str(getattr(param.default, "value", param.default))
    return defaults


# -- help ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["clean", "strip"])
def test_help_shows_config_tables_and_defaults_and_no_bool_placeholders(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "[read], [normalize], [strip], [dedup] tables" in text
    assert "<bool>" not in text
    for option in ("--text-field", "--id-field", "--jobs", "--progress", "--progress-interval"):
        assert f"[default: {_help_defaults(command)[option]}" in text
    if command == "clean":
        assert "[default: 0.5]" in text and "[default: 128]" in text and "[default: 2GB]" in text


def test_help_defaults_are_the_configuration_defaults():
    shown = _help_defaults("clean")
    config = {f.name: f.default for f in dataclasses.fields(DedupConfig)}
    for field in ("threshold", "num_perm", "shingle", "ngram", "bands", "boilerplate_docs", "boilerplate_sites",
                  "min_kept", "novel_chars", "typo_words", "related_evidence", "keep"):
        assert shown["--" + field.replace("_", "-")] == str(config[field]), field
    assert shown["--memory-limit"] == "2GB" and config["memory_limit"] == 2 << 30


def test_readme_settings_agree_with_help_defaults():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    settings = readme.split("- **Settings**", 1)[1].split("\n- **", 1)[0]
    listed = dict(re.findall(r"`(--[a-z-]+)[^`]*`\s+\(([^):;,\s]+)", settings))
    shown = _help_defaults("clean")
    assert len(listed) >= 12
    for option, value in listed.items():
        assert shown.get(option) == value, f"README says {option} ({value}), --help says {shown.get(option)}"
    # every deduplication setting of the command line is in the README's list
    dedup_fields = {f.name for f in dataclasses.fields(DedupConfig)}
    for option in shown:
        if option and option[2:].replace("-", "_") in dedup_fields:
            assert option in listed, f"{option} is missing from the README's settings"
    workers = readme.split("- **Workers**", 1)[1].split("\n- **", 1)[0]
    assert f"`--jobs` ({shown['--jobs']}: every core)" in workers
    progress = readme.split("- **Progress**", 1)[1].split("\n- **", 1)[0]
    assert f"({shown['--progress']})" in progress and f"({shown['--progress-interval']})" in progress


# -- corpus text on the terminal ---------------------------------------------------------------


def test_strip_explain_escapes_control_characters_in_ids_and_text(tmp_path):
    corpus = write_jsonl(tmp_path / "in.jsonl", [
        {"id": f"doc{HOSTILE}", "text": f"Storm news{HOSTILE} from the coast, with more to come.\nShare this:"},
    ])
    result = invoke("strip", corpus, "--explain", "-q")
    assert result.exit_code == 0
    assert _raw_controls(result.stdout) == []
    assert "== doc\\x1b[2J\\x1b]0;owned\\x07\\r\\x08\\x7f\\x9b31m\\u2028\\u202e\\u2066\\u2069" in result.stdout


def test_explain_escapes_control_characters_from_the_record(tmp_path):
    record = tmp_path / "removed.jsonl"
    record.write_text(json.dumps({
        "doc_id": f"doc{HOSTILE}", "paragraph": 1, "text": f"Copied{HOSTILE} line", "reason": "duplicate",
        "rule": f"minhash{HOSTILE}", "kept_doc_id": f"other{HOSTILE}", "kept_paragraph": 0, "similarity": 0.9,
    }) + "\n", encoding="utf-8")
    result = invoke("explain", f"doc{HOSTILE}", "--removed", record)
    assert result.exit_code == 0, result.output
    assert _raw_controls(result.stdout) == []
    assert "kept in other\\x1b[2J" in result.stdout and "Copied\\x1b[2J" in result.stdout
    missing = invoke("explain", "nobody\x1b[2J", "--removed", record)
    assert missing.exit_code == 1 and _raw_controls(missing.stderr) == []


def test_errors_are_one_line_whatever_the_input_quotes(tmp_path):
    bad = tmp_path / "bad\r\x1b[2Jname.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    result = invoke("clean", bad, "-q")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1 and _raw_controls(result.stderr) == []


# -- errors that name what to change ------------------------------------------------------


def test_rules_with_an_unknown_family_is_an_error_listing_the_families():
    result = invoke("rules", "--family", "nosuch")
    assert result.exit_code == 2
    assert "no family 'nosuch'; the families are: " in result.output and "comments" in result.output
    assert invoke("rules", "--family", "comments").stdout.strip()
