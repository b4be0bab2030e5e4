"""What the command line prints: help and its defaults."""

from __future__ import annotations

import dataclasses
import re

import pytest
import typer
from typer.testing import CliRunner

from dedupe.cli import app
from dedupe.config import DedupConfig

from .conftest import ROOT


def invoke(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


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
