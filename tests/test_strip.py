"""The chrome stripper: catalogue cases with negatives, the seed page, and properties."""

from __future__ import annotations

import functools
import importlib
import json
import time
import tomllib
from importlib import resources

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dedupe.config import StripConfig
from dedupe.context import ContextScorer, LineStats
from dedupe.errors import ConfigError
from dedupe.layout import segment
from dedupe.prepare import prepare
from dedupe.strip import (
    RELATED_LINKS,
    is_headline_like,
    is_source_line,
    load_catalogue,
    parse_catalogue,
    shape,
    strip,
    strip_pages,
)

from .conftest import ARTICLE, OTHER, SEED_PAGE, load_case

CATALOGUE = load_catalogue()
EXAMPLES = [(rule.name, text) for rule in CATALOGUE.rules for text in rule.examples]
NEGATIVES = [(rule.name, text) for rule in CATALOGUE.rules for text in rule.negatives]
CASES = load_case("strip.json")


@pytest.mark.parametrize(("rule", "text"), EXAMPLES)
def test_every_catalogue_example_is_caught_by_its_rule(rule, text):
    assert CATALOGUE.match(text) == rule


@pytest.mark.parametrize(("rule", "text"), NEGATIVES)
def test_no_catalogue_negative_is_caught_by_any_rule(rule, text):
    assert CATALOGUE.match(text) is None


@pytest.mark.parametrize("case", CASES["chrome"], ids=lambda c: f"{c['lang']}:{c['text'][:30]}")
def test_chrome_lines_in_several_languages(case):
    assert CATALOGUE.match(case["text"]) is not None


@pytest.mark.parametrize("case", CASES["content"], ids=lambda c: f"{c['lang']}:{c['text'][:30]}")
def test_content_lines_in_several_languages_stay(case):
    assert CATALOGUE.match(case["text"]) is None


@pytest.mark.parametrize("case", CASES["real_content"], ids=lambda c: f"{c['rule']}:{c['text'][:30]}")
def test_content_only_text_that_a_rule_used_to_remove_stays(case):
    """Lines of real text with no chrome (package documentation, licences, articles)."""
    assert CATALOGUE.match(case["text"]) is None


@pytest.mark.parametrize("case", CASES["plain_documents"], ids=lambda c: c["source"][:40])
def test_a_plain_document_keeps_every_line(case):
    """Excerpts of real documents without page chrome: the catalogue, the related-link runs
    and the context pass (on by default) all leave them alone."""
    assert strip(case["lines"]) == [None] * len(case["lines"])


@pytest.mark.parametrize("case", CASES["documents_with_chrome"], ids=lambda c: c["source"][:40])
def test_chrome_in_a_document_still_goes_and_nothing_else(case):
    """Pages one block per line lose their bylines and footers; hard-wrapped text keeps its notices
    and dates but not a site's menu, share bar or comment form."""
    verdicts = strip(case["lines"])
    assert [index for index, verdict in enumerate(verdicts) if verdict] == case["chrome"]


def test_every_rule_has_examples_and_negatives():
    for rule in CATALOGUE.rules:
        assert rule.examples, rule.name
        assert rule.negatives, rule.name


def test_seed_page_loses_its_chrome_and_related_headlines_only():
    paragraphs = segment(SEED_PAGE.read_text(encoding="utf-8"))
    verdicts = strip(paragraphs)
    removed = {p: v for p, v in zip(paragraphs, verdicts) if v}
    assert removed == {
        "UK Defence Secretary reveals hopes for imminent Moscow showdown": RELATED_LINKS,
        "Russia sends 20 warships to the Black Sea to contain NATO": RELATED_LINKS,
        "No comments:": "comment-count",
        "Post a Comment": "comment-form",
    }
    # the embedded article's own headline is content
    assert "Russia reveals US response to security proposals" not in removed


def test_lone_headline_in_the_middle_is_kept():
    page = [ARTICLE[0], "A Subheading Inside The Story", ARTICLE[1], ARTICLE[2]]
    assert strip(page) == [None] * 4


def test_headlines_after_related_header_go_even_mid_page():
    page = [ARTICLE[0], "Related posts", "Ten tips for winter gardening", "Why the bus is late again", ARTICLE[1]]
    assert strip(page) == [None, "related-header", RELATED_LINKS, RELATED_LINKS, None]


def test_disabled_rules_are_not_applied():
    page = [ARTICLE[0], "Share this:"]
    assert strip(page, StripConfig(disabled_rules=("share",))) == [None, None]


def test_catalogue_rejects_phrase_in_two_rules():
    data = {"rule": [{"name": "a", "phrases": ["Share"]}, {"name": "b", "phrases": ["share"]}]}
    with pytest.raises(ConfigError, match="both"):
        parse_catalogue(data)


def test_catalogue_rejects_bad_pattern():
    with pytest.raises(ConfigError, match="bad pattern"):
        parse_catalogue({"rule": [{"name": "a", "patterns": ["(unclosed"]}]})


line = st.one_of(
    st.sampled_from(ARTICLE + ["Share this:", "No comments:", "Post a Comment", "Home",
                               "Ten tips for winter gardening", "Why the bus is late again",
                               "Related posts", "Posted by Ann at 9:14 AM", "© 2022 Example"]),
    st.text(min_size=1, max_size=80).map(str.strip).filter(bool),
)


@given(st.lists(line, max_size=25))
@settings(max_examples=200)
def test_stripping_is_idempotent_and_keeps_lines_verbatim_in_order(lines):
    verdicts = strip(lines)
    kept = [p for p, v in zip(lines, verdicts) if v is None]
    # kept lines are exactly the input lines, in order, unedited
    it = iter(lines)
    assert all(any(k == x for x in it) for k in kept)
    assert strip(kept) == [None] * len(kept)


@given(st.lists(st.sampled_from(ARTICLE), min_size=1, max_size=10))
def test_a_normal_article_is_never_emptied(paragraphs):
    assert any(v is None for v in strip(paragraphs))


def test_pathological_lines_finish_quickly():
    catalogue = load_catalogue()
    started = time.perf_counter()
    huge = "a" * 5_000_000
    strip([huge])
    many = ["by " + "x " * 30 + "|"] * 20_000 + ["Share " * 60, "© " + "9" * 300]
    strip(many)
    # every pattern on adversarial lines at the rule length limit
    for attack in ("by " * 130, "| " * 200, "(c) " * 100, "1 " * 200, "cookie " * 57, "a" * 399 + "!"):
        catalogue.match(attack)
    assert time.perf_counter() - started < 10


def test_hundred_thousand_short_lines():
    started = time.perf_counter()
    verdicts = strip(["Home", "Share this:", "x y"] * 33_334)
    assert len(verdicts) == 100_002
    assert time.perf_counter() - started < 15


def test_headline_shape():
    assert is_headline_like("Council Approves Bike Lanes On Mill Street")
    assert not is_headline_like("the council approved the plan.")
    assert not is_headline_like("Word")


def test_prepare_repairs_before_stripping():
    prepared = prepare(b"Aucun commentaire:\nEnregistrer un commentaire".decode("utf-8"))
    assert prepared.verdicts == ["comment-count", "comment-form"]


# -- context pass ---------------------------------------------------------------

CONTEXT = StripConfig(context=True)
NAV = ["Home", "News", "Sport", "Culture", "Opinion", "Search", "Most read", "Storm cuts power to thousands",
       "Library reopens after repairs", "Contact us", "Jobs", "Advertise", "Terms", "Sitemap"]


@given(st.lists(st.sampled_from(ARTICLE + NAV + ["Share this:", "Posted by Ann at 9:14 AM"]), min_size=1, max_size=30))
@settings(max_examples=100, deadline=None)
def test_context_pass_is_a_fixed_point(lines):
    verdicts = strip(lines, CONTEXT)
    kept = [p for p, v in zip(lines, verdicts) if v is None]
    assert strip(kept, CONTEXT) == [None] * len(kept)


@given(st.lists(st.sampled_from(ARTICLE + NAV), min_size=1, max_size=30), st.sampled_from(ARTICLE))
@settings(max_examples=100, deadline=None)
def test_context_pass_never_empties_a_page_with_article_text(lines, paragraph):
    lines = lines + [paragraph]
    assert any(v is None for v in strip(lines, CONTEXT))


page_lines = st.lists(st.sampled_from(ARTICLE + NAV + ["Share this:", "Posted by Ann at 9:14 AM", "Home"]),
                      min_size=0, max_size=40)


@given(st.lists(page_lines, max_size=6), st.sampled_from([CONTEXT, StripConfig(context=True, comments="drop")]))
@settings(max_examples=60, deadline=None)
def test_a_batch_of_pages_is_stripped_as_each_page_alone(pages, config):
    """The pipeline strips a batch of documents at once; no document may see another."""
    assert strip_pages(pages, config) == [strip(page, config) for page in pages]


@given(st.lists(st.tuples(page_lines, st.booleans()), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_context_scores_do_not_depend_on_the_batch(pages):
    """Bit for bit, with and without line counts: a verdict near the threshold must not flip."""
    scorer = ContextScorer()
    inputs = [([None] * len(lines), LineStats.of(lines),
               np.arange(len(lines), dtype=np.float64) % 3 if counted else None, None) for lines, counted in pages]
    alone = [scorer.score_pages([page])[0] for page in inputs]
    together = scorer.score_pages(inputs)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(alone, together))
    # and the single-page API gives the same, without touching its inputs
    lines, _ = pages[0]
    assert scorer.score(lines, [None] * len(lines), repeats=inputs[0][2]) == alone[0].tolist()


def test_a_batch_of_long_pages_is_scored_in_parts(monkeypatch):
    """Memory stays bounded by the line budget, and parts change no verdict."""
    strip_module = importlib.import_module("dedupe.strip")
    pages = [NAV + ARTICLE + NAV * (1 + n % 3) for n in range(7)]
    whole = strip_pages(pages, CONTEXT)
    sizes = []
    real = ContextScorer.score_pages
    monkeypatch.setattr(ContextScorer, "score_pages", lambda self, batch: sizes.append(sum(len(v) for v, *_ in batch))
                        or real(self, batch))
    monkeypatch.setattr(strip_module, "CONTEXT_BATCH_LINES", 60)
    assert strip_pages(pages, CONTEXT) == whole
    longest = max(len(page) for page in pages)
    assert len(sizes) > 3 and all(size <= max(60, longest) for size in sizes)


def test_a_long_page_of_repeating_blocks_takes_bounded_rounds(monkeypatch):
    """The context pass peeled such a page a few lines a round: 853 rounds for 4,000 lines."""
    strip_module = importlib.import_module("dedupe.strip")
    rounds = []  # each round scores the page's kept lines once (one batch: under CONTEXT_BATCH_LINES)
    real = ContextScorer.score_pages
    monkeypatch.setattr(ContextScorer, "score_pages", lambda self, batch: rounds.append(1) or real(self, batch))
    page = (NAV[:3] + ["Storm cuts power to thousands"] + [ARTICLE[0]] * 6) * 2_000
    started = time.perf_counter()
    verdicts = strip(page, CONTEXT)
    assert len(rounds) <= strip_module.MAX_ROUNDS
    assert time.perf_counter() - started < 30
    assert any(v is None for v in verdicts)


def test_a_model_whose_weights_leave_the_exact_grid_is_refused():
    """Scores are batch-independent only while the grid's sums are exact."""
    from dedupe.context import load_model

    model = dict(load_model())
    model["stage1"] = [9.0] + list(model["stage1"])[1:]
    with pytest.raises(ValueError, match="weights must be under 8"):
        ContextScorer(model)


def test_a_batch_with_too_few_keys_is_refused_not_truncated():
    with pytest.raises(ValueError, match="2 pages but 1 entries in keys"):
        strip_pages([["Home"], ["Share this:"]], keys=[["home"]])


def test_short_pages_are_not_judged_by_context():
    page = ["Home", "News", ARTICLE[0], "Contact us"]
    assert strip(page, CONTEXT) == strip(page)


def test_context_pass_removes_navigation_around_an_article():
    page = NAV[:6] + ARTICLE + NAV[6:]
    verdicts = strip(page, CONTEXT)
    kept = [p for p, v in zip(page, verdicts) if v is None]
    assert all(p in kept for p in ARTICLE)
    assert {"Contact us", "Jobs", "Advertise", "Terms", "Sitemap"}.isdisjoint(kept)
    assert "context" in verdicts


def test_template_counts_push_repeated_lines_out():
    from dedupe.templates import TemplateTable

    header = ["Weekly Planet", "Letters to the Planet", "Photo Essays", "Local Weather Desk"]
    pages = [header + ARTICLE + [OTHER[i % 3], f"Page {i}"] + ["About the Planet", "Write for us"] * 2
             for i in range(4)]
    table = TemplateTable.build(("planet.example", p) for p in pages)
    repeats, share = table.lookup(pages[0], "planet.example")
    assert repeats.tolist()[:4] == [3, 3, 3, 3] and share.tolist()[:4] == [1.0] * 4
    with_counts = strip(pages[0], CONTEXT, repeats=repeats, site_share=share)
    without = strip(pages[0], CONTEXT)
    assert with_counts[:4] == ["context"] * 4
    assert sum(v is None for v in with_counts[4:8]) >= 3  # the article stays, all but at most one line
    assert sum(v is not None for v in with_counts) >= sum(v is not None for v in without)


# the comment-section rule alone: the context pass would also judge these short pages' lines
RULES = StripConfig(context=False)
DROP_COMMENTS = StripConfig(comments="drop", context=False)


# -- the default: which documents the context pass judges ------------------------

HEADINGS = ["Where the water rose", "Photo: the harbour at Vik on Tuesday morning", "What happens next"]


def test_the_context_pass_is_on_by_default_and_off_on_request():
    page = NAV[:6] + ARTICLE + NAV[6:]
    assert StripConfig().context
    assert "context" in strip(page)
    assert "context" not in strip(page, RULES)


def test_an_article_without_page_chrome_is_not_judged_by_context():
    """Extracted article text (no menu, widget or footer the catalogue knows) keeps its short lines."""
    article = [HEADINGS[0], ARTICLE[0], ARTICLE[1], HEADINGS[1], ARTICLE[2], HEADINGS[2], ARTICLE[3]] + OTHER + HEADINGS
    assert len(article) >= 12
    assert strip(article) == strip(article, RULES) == [None] * len(article)
    # the same text under a site's menu is a web page, and judged
    assert "context" in strip(["Share this:"] + NAV[:6] + article)


def test_lines_shared_with_the_sites_other_pages_show_a_template():
    menu = ["Weekly Planet", "Letters to the Planet", "Photo Essays", "Local Weather Desk", "About the Planet",
            "Write for us"]  # no catalogue rule knows these
    article = menu[:4] + [HEADINGS[0], ARTICLE[0], ARTICLE[1], HEADINGS[1], ARTICLE[2], ARTICLE[3]] + OTHER + menu[4:]
    shared = np.array([1.0] * 4 + [0.0] * (len(article) - 6) + [1.0] * 2)
    assert "context" not in strip(article, site_share=np.zeros(len(article)))
    assert "context" in strip(article, site_share=shared)


WRAPPED = [
    "The council voted on Tuesday to build new bike lanes along the whole of",
    "Mill Street, after a debate that ran late into the evening and drew a",
    "crowd of shop owners who had argued that losing parking would drive",
    "their customers away to the retail park on the ring road outside town.",
    "Home",
    "Work starts in the spring and should take about six months to finish,",
    "the council said, with the busiest section closed for two weeks at the",
    "height of the summer holidays when traffic is lighter than at any other",
    "time of the year.",
    "Storm Cuts Power To Thousands",
    "Library Reopens After Repairs",
    "Share this:",
]


def test_hard_wrapped_text_is_not_read_as_one_block_per_line():
    """A paragraph wrapped over several lines is not a page of headlines and menus."""
    verdicts = strip(WRAPPED)
    assert verdicts[4] == "navigation" and verdicts[-1] == "share"
    assert [v for v in verdicts if v] == ["navigation", "share"]  # no related-links, no context
    # one paragraph per line, the same words are a page whose two headlines after the text are a link list
    blocks = [" ".join(WRAPPED[:4]), "Home", " ".join(WRAPPED[5:9])] + WRAPPED[9:]
    assert strip(blocks, RULES)[3:5] == [RELATED_LINKS, RELATED_LINKS]


#: A package's list of file names, the bulk of a long copyright file: short lines, no prose,
#: which the context model, reading them as a page, scores as chrome.
FILE_LIST = [f"src/module_{n:03d}/reader_{n % 7}.c" for n in range(400)]


def _with_lines(lines, inserted):
    """``lines`` with ``inserted`` ({position: line}) put in, from the last position back."""
    out = list(lines)
    for position in sorted(inserted, reverse=True):
        out.insert(position, inserted[position])
    return out


def test_a_long_document_with_stray_chrome_like_lines_keeps_its_lines():
    """A 45,000-line copyright file with one "Comment:" field was read as a web page and lost all
    but 13 lines; a page needs evidence in proportion to its length."""
    document = _with_lines(FILE_LIST * 3, {300: "Comment:", 600: "Share this:", 900: "Comment:"})
    verdicts = strip(document)
    assert "context" not in verdicts
    assert [document[i] for i, v in enumerate(verdicts) if v] == ["Comment:", "Share this:", "Comment:"]
    assert verdicts == strip(document, RULES)


def test_template_signals_in_the_middle_of_a_document_do_not_make_it_a_page():
    """A menu sits at a page's top and a footer at its bottom; one chrome-like line inside a
    document (a heading "Links", a code line) is no evidence that it is a page."""
    body = ([HEADINGS[0]] + ARTICLE + [HEADINGS[1]] + OTHER + [HEADINGS[2]]) * 4
    middle = _with_lines(body, {20: "Links"})
    assert strip(middle) == strip(middle, RULES)
    assert [v for v in strip(middle) if v] == ["navigation"]
    # the same lines at the edges of the page are a site's menu and footer
    edges = ["Home", "Search"] + body + ["Contact us", "Sitemap"]
    assert "context" in strip(edges)


def test_a_page_judged_on_weak_evidence_that_the_model_would_empty_keeps_its_lines():
    """One menu-like line at the top of a list of file names: judged, the model would keep 1 line in 81."""
    document = ["Home"] + FILE_LIST[:80]
    assert strip(document) == strip(document, RULES) == ["navigation"] + [None] * 80


def test_a_document_written_in_markup_source_is_not_a_page():
    """Markdown links and fences are what a page's rendering removes: a README as written."""
    page = NAV[:6] + ARTICLE + NAV[6:]
    assert "context" in strip(page)
    readme = NAV[:6] + ["[Documentation](https://example.org/docs)", "```python", "import tracker", "```",
                        "See [the changelog](./CHANGES.md)."] + ARTICLE + NAV[6:]
    assert "context" not in strip(readme)


def test_a_date_heads_a_changelog_entry_only_above_a_list_item():
    entries = ["2000-05-30", "* Fixed a crash in the parser.", "July 22, 1999", "- First release."]
    assert strip(entries, RULES) == strip(entries) == [None] * 4
    assert strip(["July 22, 1999", ARTICLE[0]], RULES) == ["byline", None]


def test_a_debian_copyright_file_is_left_whole():
    """Its "Comment:", "Source:" and "All rights reserved." lines are fields, not page chrome."""
    record = ["Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
              "Source: https://github.com/lz4/lz4", "Files: *", "Copyright: 2011-2020, Yann Collet.",
              "All rights reserved.", "License: BSD-2-clause", "Comment:", "Assuming main license."]
    assert strip(record) == strip(record, RULES) == [None] * len(record)
    assert strip([record[1]] + record[3:5], RULES)[0] == "read-more"  # without a Files: stanza, a credit line
    # once `dedupe clean` has taken out the fields it shares with other files, still a record file
    assert strip([line for line in record if not line.startswith(("Format:", "License:"))]) == [None] * 6
    assert strip(["Comment:"] + FILE_LIST[:3], RULES)[0] == "comment-count"


def test_plain_documents_keep_their_lines_through_the_cli(tmp_path):
    """The commands a user runs: each file comes out byte for byte, nothing recorded as chrome."""
    from typer.testing import CliRunner

    from dedupe.cli import app

    files = {
        "copyright.txt": "\n".join(_with_lines(FILE_LIST * 3, {300: "Comment:", 900: "Comment:"})) + "\n",
        "README.txt": "My project\n\nThis library parses configuration files quickly and safely for you.\n"
                      "It supports YAML and TOML.\n\nUsage:\n\n    config = {\n        'name': {\n"
                      "            'type': 'str',\n        },\n    }\n\nInstall it with pip.\nLicense: MIT\n",
        "changelog.txt": "2000-05-30\n\n  * Fixed a crash in the parser.\n\nJuly 22, 1999\n\n  * First release.\n",
        "LICENSE.txt": "\n".join(next(case["lines"] for case in CASES["plain_documents"]
                                      if case["source"].startswith("BSD licence"))) + "\n",
        "NEWS.txt": "\n".join(next(case["lines"] for case in CASES["plain_documents"]
                                   if case["source"].startswith("GNU ChangeLog (gprof)"))) + "\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    inputs = [str(tmp_path / name) for name in files]
    for command in (["strip"], ["strip", "--no-context"], ["clean"]):
        out, removed = tmp_path / "out", tmp_path / "removed.jsonl"
        result = CliRunner().invoke(app, [*command, *inputs, "-o", str(out), "--removed", str(removed),
                                          "-q", "--overwrite"])
        assert result.exit_code == 0, result.output
        records = [json.loads(line) for line in removed.read_text(encoding="utf-8").splitlines()]
        chrome = {(r["text"], r["rule"]) for r in records if r["reason"] == "chrome"}
        assert chrome == {("Comment:", "comment-count")}, command
        for name in ("README.txt", "changelog.txt", "LICENSE.txt", "NEWS.txt"):
            assert (out / name).read_text(encoding="utf-8") == files[name], (command, name)


def test_plain_documents_keep_their_lines_through_the_library():
    """``dedupe.clean`` on a licence, a changelog and a README together: nothing is taken out."""
    from dedupe import clean

    documents = [{"id": case["source"], "text": "\n".join(case["lines"])} for case in CASES["plain_documents"]
                 if case["source"].startswith(("BSD licence", "GNU ChangeLog (gprof)", "changelog (sqlite)",
                                               "Debian changelog:", "README with shell lines"))]
    assert len(documents) == 5
    assert [(doc["id"], doc["text"]) for doc in clean(documents)] == [(doc["id"], doc["text"]) for doc in documents]


def test_a_licence_list_of_holders_stays_and_a_footer_notice_goes():
    holders = ["Copyright (C) 1999-2004 Dirk Eddelbuettel <edd@debian.org>",
               "Copyright (C) 2005-2013 John Hasler <jhasler@debian.org>",
               "Copyright (C) 2013-2021 Ryan Kavanagh <rak@debian.org>"]
    assert strip(ARTICLE + holders, RULES) == [None] * 7
    assert strip(ARTICLE + holders[:2], RULES)[4:] == ["copyright", "copyright"]
    assert strip(ARTICLE + ["© 2021 Die Zeitung GmbH"], RULES)[-1] == "copyright"


def test_dates_and_links_do_not_frame_a_related_list_but_page_chrome_does():
    run = ["Fix Potential Null Dereference", "Avoid Potential Null Dereferences"]
    for framing in ("https://lists.example.org/r/bug-tools/2020-06/msg00018.html", "2020-06-30"):
        assert strip(ARTICLE + [framing] + run, RULES)[-2:] == [None, None]
    assert strip(ARTICLE + ["Share this:"] + run, RULES)[-2:] == [RELATED_LINKS, RELATED_LINKS]


def test_site_pages_must_not_be_negative():
    with pytest.raises(ConfigError, match="site_pages"):
        StripConfig(site_pages=-1)


def test_in_clean_a_well_covered_sites_own_pages_decide_a_low_score():
    """With ``site_pages`` (what ``clean`` passes), a line the site's other pages do not carry stays."""
    page = NAV[:6] + ARTICLE + NAV[6:]
    by_score = strip(page)
    nav = [i for i, v in enumerate(by_score) if v == "context"]
    assert nav
    unseen = np.zeros(len(page))
    assert strip(page, site_share=unseen, site_pages=4) == strip(page, RULES)
    # lines on the site's other pages go; headline-shaped ones are left to the resolver
    template = np.array([1.0 if i in nav else 0.0 for i in range(len(page))])
    verdicts = strip(page, site_share=template, site_pages=4)
    assert all(verdicts[i] == "context" or is_headline_like(page[i]) for i in nav)
    assert any(verdicts[i] == "context" for i in nav)
    assert strip(page, site_share=template, site_pages=2) == strip(page, site_share=template)  # too few pages


PLAIN_LINES = [line for doc in CASES["plain_documents"] for line in doc["lines"]]


@given(st.lists(st.sampled_from(WRAPPED + ARTICLE + NAV + PLAIN_LINES), max_size=30))
@settings(max_examples=150, deadline=None)
def test_the_default_is_idempotent_on_mixed_blocks_and_wrapped_text(lines):
    """Whether a page is wrapped text or shows a template is read on the lines the catalogue keeps:
    a second stripping reads the same, and removes nothing more."""
    verdicts = strip(lines)
    kept = [p for p, v in zip(lines, verdicts) if v is None]
    assert strip(kept) == [None] * len(kept)


#: Lines of plain documents and articles that no catalogue rule matches, and short random lines.
NO_CHROME_LINES = [line for line in dict.fromkeys(PLAIN_LINES + ARTICLE + OTHER + WRAPPED + HEADINGS)
                   if CATALOGUE.match(line) is None]
no_chrome_line = st.one_of(
    st.sampled_from(NO_CHROME_LINES),
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=60)
    .map(str.strip).filter(lambda text: bool(text) and CATALOGUE.match(text) is None),
)


@given(st.lists(no_chrome_line, max_size=40), st.sampled_from([StripConfig(), StripConfig(comments="drop")]))
@settings(max_examples=150, deadline=None)
def test_a_document_with_no_chrome_like_line_loses_nothing(lines, config):
    """Every pass needs a line the catalogue knows as chrome before it removes anything: the context
    pass a template line, a related-link run a frame, a comment section a counter."""
    assert strip(lines, config) == [None] * len(lines)


COMMENTS = ["Anna said...",
            "Thanks for the update, we lost power too and the trains were still not running this morning.",
            "Reply", "Tomas said...", "Stay safe everyone, the river road is still closed near the old bridge tonight.",
            "Reply"]


def test_comments_are_kept_by_default_and_dropped_on_request():
    page = ARTICLE + ["12 comments:"] + COMMENTS + ["Post a Comment", "Newer Post Older Post Home"]
    kept = strip(page, RULES)
    assert [page[i] for i, v in enumerate(kept) if v is None] == ARTICLE + [COMMENTS[i] for i in (0, 1, 3, 4)]
    dropped = strip(page, DROP_COMMENTS)
    assert [page[i] for i, v in enumerate(dropped) if v is None] == ARTICLE
    assert set(dropped[len(ARTICLE) + 1 : -2]) <= {"comment", "comment-form"}


def test_a_counter_under_the_headline_does_not_open_a_comment_section():
    page = ["Storm Ada hits the coast", "3 comments"] + ARTICLE + ["Share this:"]
    verdicts = strip(page, DROP_COMMENTS)
    assert [page[i] for i, v in enumerate(verdicts) if v is None] == ["Storm Ada hits the coast"] + ARTICLE


def test_a_titled_comment_section_ends_at_the_reply_form():
    page = ARTICLE + ["3 Antworten zu „Sturm Ada“"] + COMMENTS + ["Leave a Reply",
                                                                  "A note from the editors of this small local paper."]
    verdicts = strip(page, DROP_COMMENTS)
    assert verdicts[len(ARTICLE)] == "comment"
    assert verdicts[-1] is None and all(v is None for v in verdicts[: len(ARTICLE)])


@given(st.lists(st.one_of(line, st.sampled_from(COMMENTS + ["3 Responses to “Storm Ada”", "Leave a Reply"])),
                max_size=30))
@settings(max_examples=200)
def test_dropping_comments_is_idempotent(lines):
    verdicts = strip(lines, DROP_COMMENTS)
    kept = [p for p, v in zip(lines, verdicts) if v is None]
    assert strip(kept, DROP_COMMENTS) == [None] * len(kept)


def test_a_titled_header_after_an_empty_comment_section_goes_in_the_first_pass():
    """Found by the idempotence property: the titled header came after the section that opened."""
    page = [ARTICLE[0], "No comments:", "Reply", "3 Responses to “Storm Ada”"]
    verdicts = strip(page, DROP_COMMENTS)
    assert verdicts == [None, "comment-count", "comment-form", "comment"]


_CATALOGUE_LINES = sorted({line for rule in load_catalogue().rules for line in rule.examples + rule.negatives})


@functools.cache
def _phrases_only(catalogue):
    return parse_catalogue({"rule": [{"name": rule.name, "family": rule.family, "phrases": list(rule.phrases)}
                                     for rule in catalogue.rules]})


def _every_rule_on_the_line(catalogue, line):
    """The rule whose phrase the line is, or else the first whose pattern matches it, trying them all
    one by one with Python's ``re`` (none for a line of code or markup source)."""
    if is_source_line(line):
        return None
    phrases = _phrases_only(catalogue)
    return phrases.match(line) or next(
        (name for name, pattern in catalogue.reference_patterns if pattern.fullmatch(shape(line))), None)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from(_CATALOGUE_LINES),
                 st.tuples(st.sampled_from(["", "1 ", "© ", "» ", "٣ ", "Ü", " ", "\ud800", "by the "]),
                           st.sampled_from(_CATALOGUE_LINES), st.text(max_size=8)).map("".join),
                 st.text(max_size=40)))
def test_the_pattern_set_finds_the_rule_trying_every_rule_finds(line):
    """All patterns run at once in one RE2 set; the rule it finds must be the first one whose
    pattern Python's ``re`` matches when every rule is tried on the line in turn (Unicode digits,
    lone surrogates and the lookaheads written as `all` / `none` tables included)."""
    catalogue = load_catalogue()
    assert catalogue.match(line) == _every_rule_on_the_line(catalogue, line)


_CHROME = tomllib.loads(resources.files("dedupe").joinpath("data/chrome.toml").read_text("utf-8"))


@pytest.mark.parametrize("line", [
    "a" * 399, "(" * 399, "by " + "a " * 198, "posted by " + "x" * 300, "© " + "all rights reserved " * 19,
    "cookie " * 57, ("1 " * 199).strip(), "home » " * 57, "| " * 199, "» ".join(["a"] * 133),
    "share on facebook " * 22, "page 1 of 2 " * 33, ("x" * 39 + " | ") * 9, "▼" * 399,
])
def test_hostile_lines_are_matched_in_time_linear_in_their_length(line):
    """The classic backtracking shapes (runs of one character, repeated separators and phrases
    that nearly match) against the catalogue: the automaton reads each line once."""
    catalogue = parse_catalogue(_CHROME)  # nothing remembered yet: every line goes to the patterns
    started = time.process_time()
    for end in range(200, len(line) + 1):  # every length: no verdict is remembered twice
        catalogue.match(line[:end])
    assert time.process_time() - started < 2.0


def test_a_pattern_that_backtracks_exponentially_in_re_runs_in_linear_time():
    """Nested repetition on a line that nearly matches: 2**40 paths for a backtracking engine."""
    catalogue = parse_catalogue({"rule": [{"name": "nested", "patterns": ["(?:a+)+b", "(?:x|xx)+y"]}]})
    started = time.process_time()
    assert catalogue.match("a" * 40 + "c") is None and catalogue.match("x" * 40 + "z") is None
    assert catalogue.match("a" * 40 + "b") == "nested"
    assert time.process_time() - started < 1.0


def test_a_pattern_re2_cannot_run_is_refused_with_a_hint():
    with pytest.raises(ConfigError, match=r"bad pattern.*all.*none"):
        parse_catalogue({"rule": [{"name": "a", "patterns": ["(?!copyright:).*"]}]})
    with pytest.raises(ConfigError, match=r"\\w means something else"):
        parse_catalogue({"rule": [{"name": "a", "patterns": [r"\w+ comments"]}]})
    with pytest.raises(ConfigError, match="a pattern is a string or a table"):
        parse_catalogue({"rule": [{"name": "a", "patterns": [{"any": ["x"]}]}]})


def test_a_pattern_table_matches_all_of_its_patterns_and_none_of_its_vetoes():
    catalogue = parse_catalogue({"rule": [
        {"name": "credit", "patterns": [{"all": ["by .{1,20}", ".{0,12}"], "none": ["by the .*"]}]},
        {"name": "other", "patterns": ["by .*"]},
    ]})
    assert [catalogue.match(line) for line in ("By Ann Lee", "By the sea", "By Ann Lee of Cork")] == [
        "credit", "other", "other"]


def test_comment_titles_catch_their_examples_and_none_of_their_negatives():
    table = tomllib.loads(resources.files("dedupe").joinpath("data/chrome.toml").read_text("utf-8"))["comment_title"]
    assert table["examples"] and table["negatives"]
    for line in table["examples"]:
        assert strip(ARTICLE + [line], DROP_COMMENTS)[-1] == "comment", line
    for line in table["negatives"]:
        assert strip(ARTICLE + [line], DROP_COMMENTS)[-1] is None, line


@given(st.lists(st.lists(st.tuples(st.sampled_from([0, 1, 3, 9, 10, 15, 30]), st.sampled_from([0.0, 0.2, 0.3, 0.5]),
                                   st.booleans(), st.booleans()), max_size=12), min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_main_blocks_of_a_batch_equal_each_page_alone(pages):
    """The context pass finds every page's main block in one scan of the batch; each page's block
    must be the one its own scan finds."""
    context = importlib.import_module("dedupe.context")
    lines = [line for page in pages for line in page]
    words, density, ends, hits = (np.array([line[i] for line in lines], dtype=np.float64) for i in range(4))
    layout = context._Pages.of([len(page) for page in pages])
    batch = context._main_blocks(context._block_scores(words, density, ends, hits), layout)
    for start, length in zip(layout.starts.tolist(), layout.lengths.tolist()):
        page = slice(start, start + length)
        alone = context._main_block_of_page(words[page], density[page], ends[page], hits[page])
        assert batch[page].tolist() == alone.tolist()
