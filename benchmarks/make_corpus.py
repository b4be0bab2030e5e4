"""Deterministic synthetic corpora for benchmark runs on corpus size.

    python benchmarks/make_corpus.py 100000 -o benchmarks/out/corpus-100k.jsonl [--seed 1]

Documents look like the scraped pages dedupe is for: stories published on an
origin site and reposted (0 to many times, heavy-tailed) by other sites with
light edits (a changed word, a dropped paragraph, a blogger's intro), every
site with its own template chrome (header, nav, share line, related headlines,
comment widget, footer), and some pages with mojibake. The text is generated
from a fixed vocabulary, so it is not prose: use these corpora for speed and
memory, and the shared evaluation sets for quality. Same size and seed, same
bytes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from pathlib import Path

_WORDS = (
    "the of and to in a is that for it as was with be by on not he this are or his from at which but have an they "
    "you were her she there been one all we their has would when if so no will more about up its out into them can "
    "only other new some could time these two may then do first any my now such like our over man me even most made "
    "after also did many before must through back years where much your way well down should because each just those "
    "people how too little state good very make world still own see men work long get here between both life being "
    "under never day same another know while last might us great old year off come since against go came right used "
    "take three council harbour storm market minister election report river city school police court water power "
    "budget company village station bridge museum hospital research farmers league season festival library"
).split()
_CHROME = [
    ["Home", "News", "Sport", "Culture", "Opinion", "Contact"],
    ["Share this:", "Twitter", "Facebook", "Like this:", "Like Loading..."],
    ["No comments:", "Post a Comment", "Newer Post Older Post Home", "Subscribe to: Post Comments (Atom)"],
    ["Leave a Reply", "Your email address will not be published. Required fields are marked *"],
]


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(_WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 22)) for _ in range(rng.randint(1, 4)))


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS).capitalize() for _ in range(rng.randint(4, 9)))


def _edit(rng: random.Random, paragraph: str) -> str:
    words = paragraph.split()
    position = rng.randrange(len(words))
    words[position] = rng.choice(_WORDS)
    return " ".join(words)


def _mojibake(text: str) -> str:
    return text.encode("utf-8").decode("cp1252", errors="replace")


def generate(documents: int, seed: int = 1):
    """Yield ``documents`` JSON-ready dicts."""
    rng = random.Random(seed)
    sites = max(10, documents // 40)
    templates = []
    for site in range(sites):
        name = f"{_title(rng).split()[0]} {_title(rng).split()[0]} {site}"
        templates.append({
            "host": f"site{site}.example",
            "header": [name, _sentence(rng, 6)[:-1]],
            "chrome": rng.sample(_CHROME, 3),
            "footer": [f"© 2022 {name}. All rights reserved.", _sentence(rng, 14)],
            "mojibake": rng.random() < 0.05,
        })
    stories: list[tuple[str, list[str]]] = []
    written = 0
    while written < documents:
        if stories and rng.random() < 0.55:
            # repost: heavy-tailed choice of an existing story, lightly edited
            back = min(int(rng.paretovariate(1.2)) - 1, len(stories) - 1)
            title, body = stories[len(stories) - 1 - back]  # recent stories, heavy tail
            body = [(_edit(rng, p) if rng.random() < 0.15 else p) for p in body if rng.random() > 0.1]
            intro = [_paragraph(rng)] if rng.random() < 0.3 else []
            body = intro + body
        else:
            title, body = _title(rng), [_paragraph(rng) for _ in range(rng.randint(3, 12))]
            stories.append((title, body))
        site = templates[rng.randrange(sites)]
        related = [s[0] for s in rng.sample(stories, min(4, len(stories)))]
        lines = (site["header"] + site["chrome"][0] + [title] + body + site["chrome"][1]
                 + ["Related"] + related + site["chrome"][2] + site["footer"])
        text = "\n".join(lines)
        if site["mojibake"]:
            text = _mojibake(text)
        yield {"id": f"doc-{written:08d}", "url": f"https://{site['host']}/{written}", "text": text}
        written += 1


def write(path: Path, documents: int, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wt", encoding="utf-8") as out:  # type: ignore[operator]
        for doc in generate(documents, seed):
            out.write(json.dumps(doc, ensure_ascii=False) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("documents", type=int)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write(args.output, args.documents, args.seed)


if __name__ == "__main__":
    main()
