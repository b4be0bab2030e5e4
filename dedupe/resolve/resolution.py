"""What the resolver decides: a status per row and a verdict per document, with their codes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KEPT = 0
DUPLICATE = 1
BOILERPLATE = 2
#: A row of an unheaded link list that the corpus confirmed as a link list:
#: it stays removed with the stripper's rule and counts toward no cluster.
STRIPPED = 3
#: Boilerplate rule codes and the names the removal record shows: a paragraph
#: and its copies on many documents (sites) or much of one site, or a template
#: family (lines equal but for their values: numbers, ids, dates, names with
#: addresses) on as many.
RULE_NONE = 0
RULE_BOILERPLATE_DOCS = 1
RULE_SITE_TEMPLATE = 2
RULE_TEMPLATED_DOCS = 3
RULE_TEMPLATED_SITE = 4
RULE_NAMES = {RULE_BOILERPLATE_DOCS: "boilerplate-docs", RULE_SITE_TEMPLATE: "site-template",
              RULE_TEMPLATED_DOCS: "templated-docs", RULE_TEMPLATED_SITE: "templated-site"}
#: How a duplicate was matched, and the rule names the removal record shows.
MATCH_EXACT = 1
MATCH_MINHASH = 2
MATCH_SENTENCES = 3
#: A short line matched through a one-typo edge to a line without a MinHash.
MATCH_TYPO = 4
MATCH_NAMES = {MATCH_EXACT: "exact", MATCH_MINHASH: "minhash", MATCH_SENTENCES: "sentences", MATCH_TYPO: "typo"}


@dataclass(slots=True)
class Resolution:
    """What happens to every row and document."""

    status: np.ndarray  # int8[n]: KEPT, DUPLICATE, BOILERPLATE, STRIPPED
    canonical: np.ndarray  # int64[n]: kept row of a duplicate, else -1
    similarity: np.ndarray  # float32[n]
    rule: np.ndarray  # int8[n]: boilerplate rule code
    match: np.ndarray  # int8[n]: how a duplicate was found (MATCH_*)
    doc_dropped: np.ndarray  # bool[D]
    doc_kept_ref: np.ndarray  # int64[D]: for dropped docs, the doc holding most kept copies
    cluster_stats: dict[str, int] = field(default_factory=dict)
    # the group every row was counted in for boilerplate: its star, a paragraph and its direct copies
    labels: np.ndarray | None = None  # int64[n]
    label_docs: np.ndarray | None = None  # int64[groups] documents a group spans (earlier runs included)
    label_sites: np.ndarray | None = None  # int64[groups] sites a group spans (earlier runs included)
    site_copies: np.ndarray | None = None  # int64[n] pages of the row's own site in its group
    # int8[n] boilerplate rule of the row's template family (the row itself may be kept: see resolve)
    family_rule: np.ndarray | None = None
