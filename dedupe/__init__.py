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

The names below are imported on first use: ``import dedupe`` loads neither
numpy nor scipy, and ``from dedupe import repair`` only what repairing needs.
"""

from __future__ import annotations

import importlib
import logging
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "DocResult": ".assemble",
    **dict.fromkeys(("CleanConfig", "DedupConfig", "NormalizeConfig", "ReadConfig", "StripConfig", "load_config"),
                    ".config"),
    **dict.fromkeys(("ConfigError", "DedupeError", "InputError", "MissingExtraError", "OutputError"), ".errors"),
    **dict.fromkeys(("Fingerprinter", "shingle_hash32"), ".fingerprint"),
    **dict.fromkeys(("segment", "take_out"), ".layout"),
    **dict.fromkeys(("match_key", "repair", "repair_document"), ".normalize"),
    **dict.fromkeys(("Cleaner", "clean"), ".pipeline"),
    **dict.fromkeys(("prepare", "prepare_many"), ".prepare"),
    **dict.fromkeys(("FileSource", "IterableSource"), ".readers"),
    **dict.fromkeys(("Removal", "Stats", "dumps_entry", "read_record", "record_entries"), ".record"),
    "resolve": ".resolve",
    **dict.fromkeys(("load_catalogue", "strip", "strip_pages"), ".strip"),
}

if TYPE_CHECKING:  # what the names are, for type checkers and editors
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

#: Functions named as the modules that define them: the names stay the functions.
_FUNCTIONS_OVER_MODULES = frozenset(("prepare", "resolve", "strip"))


class _Package(types.ModuleType):
    """The package module, which keeps ``dedupe.prepare``, ``dedupe.resolve`` and ``dedupe.strip`` the functions.

    Importing a submodule sets it as an attribute of its package: once
    something imported ``dedupe.strip``, ``from dedupe import strip`` would
    give the module. Eager imports bound the function after that; here the
    module is not bound, and the function comes from :func:`__getattr__`.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _FUNCTIONS_OVER_MODULES and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

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


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule) the first time it is asked for."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    elif name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
