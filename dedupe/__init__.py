"""dedupe: turn scraped web text into a clean corpus.

Repairs encoding, strips page chrome with named rules, removes paragraphs
repeated across documents (exactly or nearly: MinHash LSH), keeps one copy of
syndicated text, drops template boilerplate everywhere, and records every
removal with its reason.

>>> from dedupe import clean
>>> out = list(clean(["A short note about the weather today, written for the demo.",
...                   "A short note about the weather today, written for the demo."]))
>>> len(out)
1
"""

import logging

__version__ = "0.1.0"

from .assemble import DocResult
from .config import CleanConfig, DedupConfig, NormalizeConfig, ReadConfig, StripConfig, load_config
from .errors import ConfigError, DedupeError, InputError, MissingExtraError, OutputError
from .fingerprint import Fingerprinter, shingle_hash32
from .layout import segment, take_out
from .normalize import match_key, repair, repair_document
from .pipeline import Cleaner, clean
from .prepare import prepare, prepare_many
from .readers import FileSource, IterableSource
from .record import Removal, Stats, dumps_entry, read_record, record_entries
from .resolve import resolve
from .strip import load_catalogue, strip, strip_pages

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "CleanConfig",
    "Cleaner",
    "ConfigError",
    "DedupConfig",
    "DedupeError",
    "DocResult",
    "FileSource",
    "Fingerprinter",
    "InputError",
    "IterableSource",
    "MissingExtraError",
    "NormalizeConfig",
    "OutputError",
    "ReadConfig",
    "Removal",
    "Stats",
    "StripConfig",
    "__version__",
    "clean",
    "dumps_entry",
    "load_catalogue",
    "load_config",
    "match_key",
    "prepare",
    "prepare_many",
    "read_record",
    "record_entries",
    "repair",
    "repair_document",
    "resolve",
    "segment",
    "shingle_hash32",
    "strip",
    "strip_pages",
    "take_out",
]
