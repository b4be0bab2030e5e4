"""Temporary files and folders that a later run can recognise when their run died.

A run writes each output to a temporary beside it, and keeps scratch data
(spilled signatures, prepared documents, a copy of stdin: corpus text) in a
folder under TMPDIR. A run ended by SIGKILL or the kernel's out-of-memory
killer cannot remove them, so every run sweeps away the ones it finds whose
run is gone.

Only our own names are ever considered, and a temporary is stale only when all
three hold:

1. it was made on this host (a hash of the host name is in its name: a folder
   shared over the network may hold another machine's live run);
2. the process id in its name is not running (a reused pid keeps it: the safe
   way round);
3. no process holds its lock (each run holds an exclusive ``flock`` on its
   temporaries until they are renamed or removed: this covers a process in
   another pid namespace on the same kernel).

>>> folder = make_scratch_dir("run")
>>> is_stale(folder.path)  # ours, alive and locked
False
>>> folder.cleanup(); folder.path.exists()
False
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

#: Kinds of scratch folder made in TMPDIR (``dedupe-<kind>-<host>-<pid>-<random>``).
SCRATCH_KINDS = ("run", "stdin")
#: Longest part of an output's name kept in its temporary's name (a name may be 255 bytes).
MAX_NAME_BYTES_IN_TEMP = 120

_RANDOM = r"[a-z0-9_]{8}"  # what tempfile.mkstemp / mkdtemp put in the middle
_SCRATCH = re.compile(rf"dedupe-(?:{'|'.join(SCRATCH_KINDS)})-([0-9a-f]{{8}})-(\d+)-{_RANDOM}")
_BESIDE = re.compile(rf"\..*\.dedupe-([0-9a-f]{{8}})-(\d+)-{_RANDOM}\.tmp", re.DOTALL)


def _host_tag() -> str:
    return hashlib.blake2b(socket.gethostname().encode("utf-8", "replace"), digest_size=4).hexdigest()


def owner_tag() -> str:
    """``<host hash>-<pid>``: who made a temporary (computed per call: pids change across fork)."""
    return f"{_host_tag()}-{os.getpid()}"


def _lock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # no advisory locks here: the pid alone decides
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _open_locked(path: Path) -> int | None:
    """A descriptor holding the lock on a folder (``None`` where folders cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None  # the pid alone then tells a live run
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        raise
    return fd


class ScratchDir:
    """A scratch folder in TMPDIR, locked while this run uses it.

    Has ``name`` (a str) and :meth:`cleanup`, like :class:`tempfile.TemporaryDirectory`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = str(path)
        self._fd: int | None = _open_locked(path)

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def make_scratch_dir(kind: str) -> ScratchDir:
    """A new locked scratch folder in TMPDIR, after sweeping stale ones away.

    >>> folder = make_scratch_dir("stdin")
    >>> folder.path.name.startswith("dedupe-stdin-")
    True
    >>> folder.cleanup()
    """
    if kind not in SCRATCH_KINDS:
        raise ValueError(f"unknown scratch kind {kind!r}")
    sweep_scratch()
    return ScratchDir(Path(tempfile.mkdtemp(prefix=f"dedupe-{kind}-{owner_tag()}-")))


def _temp_prefix(name: str) -> str:
    short = name.encode("utf-8", "surrogateescape")[:MAX_NAME_BYTES_IN_TEMP].decode("utf-8", "ignore")
    return f".{short}.dedupe-{owner_tag()}-"


def make_temp_beside(folder: Path, name: str) -> tuple[int, Path]:
    """A locked temporary file named after ``name`` in ``folder``: ``(open fd, path)``.

    The fd holds the lock; the caller closes it only after the temporary was
    renamed or removed.

    >>> import tempfile
    >>> fd, path = make_temp_beside(Path(tempfile.mkdtemp()), "out.jsonl")
    >>> path.name.startswith(".out.jsonl.dedupe-"), path.suffix, is_stale(path)
    (True, '.tmp', False)
    >>> os.close(fd); is_stale(path)  # the lock is gone, but this process still runs
    False
    """
    fd, raw = tempfile.mkstemp(prefix=_temp_prefix(name), suffix=".tmp", dir=folder)
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        raise
    return fd, Path(raw)


def make_temp_dir_beside(folder: Path, name: str) -> tuple[int | None, Path]:
    """A locked temporary folder named after ``name`` in ``folder``: ``(fd holding
    the lock or None where folders cannot be opened, path)``."""
    path = Path(tempfile.mkdtemp(prefix=_temp_prefix(name), suffix=".tmp", dir=folder))
    return _open_locked(path), path


def link_beside(path: Path) -> Path | None:
    """A hard link to ``path`` under a temporary's name beside it (``None`` where the
    file system has no hard links); a run that dies leaves it for the next sweep."""
    for _ in range(100):
        token = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(8))
        link = path.with_name(f"{_temp_prefix(path.name)}{token}.tmp")
        try:
            os.link(path, link)
        except FileExistsError:
            continue
        except OSError:
            return None
        return link
    return None


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    with contextlib.suppress(OSError, IndexError):
        # a zombie (killed, not yet reaped) holds nothing any more
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    return True


def _locked(path: Path) -> bool:
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return True  # cannot tell: keep it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


def is_stale(path: Path) -> bool:
    """Whether ``path`` is one of our temporaries whose run is gone (see the module doc)."""
    match = _SCRATCH.fullmatch(path.name) or _BESIDE.fullmatch(path.name)
    if match is None or match.group(1) != _host_tag():
        return False
    return not _running(int(match.group(2))) and not _locked(path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        if stat.S_ISDIR(path.lstat().st_mode):
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()


def sweep(folder: str | Path) -> int:
    """Remove the stale temporaries directly in ``folder``; how many went.

    >>> sweep("/nonexistent-folder")
    0
    """
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if entry.name.startswith(("dedupe-", ".")) and is_stale(Path(entry.path)):
            _remove(Path(entry.path))
            removed += 1
    if removed:
        log.info("%s: removed %d temporary file(s) left by runs that were killed", folder, removed)
    return removed


def sweep_scratch() -> int:
    """Remove stale scratch folders from TMPDIR; how many went."""
    return sweep(tempfile.gettempdir())
