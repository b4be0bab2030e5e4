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

from .assemble import DocResult  # noqa: E402
from .config import CleanConfig, DedupConfig, NormalizeConfig, ReadConfig, StripConfig, load_config  # noqa: E402
from .errors import ConfigError, DedupeError, InputError, MissingExtraError, OutputError  # noqa: E402
from .fingerprint import Fingerprinter, shingle_hash32  # noqa: E402
from .layout import segment, take_out  # noqa: E402
from .normalize import match_key, repair, repair_document  # noqa: E402
from .pipeline import Cleaner, clean  # noqa: E402
from .prepare import prepare, prepare_many  # noqa: E402
from .readers import FileSource, IterableSource  # noqa: E402
from .record import Removal, Stats, dumps_entry, read_record, record_entries  # noqa: E402
from .resolve import resolve  # noqa: E402
from .strip import load_catalogue, strip, strip_pages  # noqa: E402

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "__version__",
    "CleanConfig", "DedupConfig", "NormalizeConfig", "ReadConfig", "StripConfig", "load_config",
    "ConfigError", "DedupeError", "InputError", "MissingExtraError", "OutputError",
    "Fingerprinter", "shingle_hash32", "FileSource", "IterableSource",
    "match_key", "repair", "repair_document", "Cleaner", "DocResult", "clean", "prepare", "prepare_many",
    "segment", "take_out", "Removal", "Stats", "dumps_entry", "read_record", "record_entries", "resolve",
    "load_catalogue", "strip", "strip_pages",
]
