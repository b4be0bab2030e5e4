"""Errors raised by dedupe. Every message says what went wrong and how to fix it.

The library raises these and never prints or exits; the CLI turns them into one
line on stderr and exit code 1.
"""

from __future__ import annotations


class DedupeError(Exception):
    """Base class of every error dedupe raises on purpose."""


class ConfigError(DedupeError, ValueError):
    """A setting is out of range or inconsistent with another one."""


class InputError(DedupeError):
    """An input file or record cannot be read.

    ``location`` is ``"file:line"`` (or ``"file"``, or ``"record N"`` for
    in-memory input) so the user can find the offending data.
    """

    def __init__(self, location: str, message: str) -> None:
        self.location = location
        self.message = message
        super().__init__(f"{location}: {message}")

    def __reduce__(self) -> tuple[type[InputError], tuple[str, str]]:
        # raised in a worker, it reaches the driver pickled
        return type(self), (self.location, self.message)


class OutputError(DedupeError):
    """An output cannot be written (unknown format, unwritable path)."""


class MissingExtraError(DedupeError):
    """An optional dependency is needed for the requested feature."""

    def __init__(self, feature: str, extra: str, module: str) -> None:
        super().__init__(
            f"{feature} needs the optional dependency {module!r}: "
            f"install it with  pip install 'dedupe-corpus[{extra}]'"
        )


class AccountingError(DedupeError):
    """The run's bookkeeping does not add up: a document or removal went missing.

    This is a bug in dedupe, never a property of the input; the run stops
    instead of writing output that silently lost data.
    """
