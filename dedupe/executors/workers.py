"""Worker processes of the local engine: how many, how they start, how they end.

A run asks for ``jobs`` workers; it gets at most the cores this process may
run on (:func:`available_cores`), and none at all until the input proves big
enough to repay starting them (:class:`WorkerPool`): a run over a few
megabytes of text is done in the parent before workers would be up.

Workers are spawned (a fresh interpreter, so no lock held by another thread
of the caller is copied into them) but, unlike multiprocessing's own spawn,
they never import the caller's ``__main__``: everything they run and receive
lives in :mod:`dedupe`, so a script calling the library needs no
``if __name__ == "__main__":`` guard. A worker ignores SIGINT (the parent
handles Ctrl-C and stops it) and exits when its parent dies, whatever killed
the parent.

>>> worker_count(1) == 1 and worker_count(0) == available_cores() >= 1
True
"""

from __future__ import annotations

import ctypes
import io
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from multiprocessing import context as mp_context
from multiprocessing import reduction, spawn, util
from multiprocessing.connection import Connection, wait
from typing import Any

from ..errors import DedupeError

log = logging.getLogger(__name__)

#: Characters of text the input must hold, beyond its largest batch, before a
#: pool starts: about two seconds of one worker's work (2 MB/s), twice what
#: starting a worker costs (1.1-1.3 s on 2 cores, spawn and imports). The
#: largest batch does not count because it runs on one worker either way.
MIN_POOL_CHARS = 4_000_000
#: Seconds between a worker's checks that its parent is still alive (where
#: the kernel cannot be asked to signal it: outside Linux, or a pool started
#: from a thread that may end before the run).
WATCH_PARENT_SECONDS = 1.0
#: Seconds a stopped worker gets to exit before it is killed.
STOP_SECONDS = 5.0
#: Linux prctl(2) option: a signal sent to this process when its parent dies.
_PR_SET_PDEATHSIG = 1


class WorkerLost(DedupeError):
    """A worker process died in the middle of a run (killed, most often for memory)."""


def available_cores() -> int:
    """Cores this process may run on: its CPU affinity where the system has one.

    >>> 1 <= available_cores() <= (os.cpu_count() or 1)
    True
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def worker_count(requested: int) -> int:
    """Workers for a run asking for ``requested`` (0: every available core), capped at the cores.

    More processes than cores add memory and no speed: each worker holds its
    own catalogue, fingerprinter and batches (``--jobs 1000`` once held 12 GB).

    >>> worker_count(10_000) == available_cores()
    True
    """
    if requested < 0:
        raise ValueError("jobs must be 0 (every core) or positive")
    cores = available_cores()
    return cores if requested == 0 else min(requested, cores)


class WorkerPool:
    """An ordered ``imap`` over at most ``workers`` processes, started only when worth it.

    The first :meth:`imap` reads jobs ahead until they hold
    :data:`MIN_POOL_CHARS` characters beyond their largest one; an input that
    ends before that runs in this process (``local``), every pass. Otherwise
    the workers start, one per batch read up to ``workers``, and serve every
    later pass; ``initializer(*initargs)`` prepares each, and
    ``before_start()`` runs here first (what all of them would otherwise
    each do, such as compiling kernels).

    Each worker has a pipe of its own and takes one job at a time; there is
    no shared queue or lock, so stopping never waits on a lock a worker held
    (``multiprocessing.Pool.terminate`` could wait forever) and a worker that
    dies (the out-of-memory killer, ``kill -9``) is seen at once and ends the
    run with :class:`WorkerLost` (``Pool`` waited forever for its result).

    >>> from dedupe.stages import Batch
    >>> pool = WorkerPool(2, None, ())
    >>> list(pool.imap(len, [Batch([(0, "short", None)])], lambda job: len(job.documents)))
    [1]
    >>> pool.processes
    0
    """

    def __init__(self, workers: int, initializer: Callable[..., object] | None, initargs: tuple[Any, ...],
                 before_start: Callable[[], object] | None = None) -> None:
        self.workers = max(1, workers)
        self._initializer = initializer
        self._initargs = initargs
        self._before_start = before_start
        self._procs: list[Any] = []
        self._conns: list[Connection] = []
        self._busy: set[int] = set()  # workers holding a job whose result is not read yet
        self._in_process = self.workers == 1

    @property
    def processes(self) -> int:
        """Worker processes started (0 while the work runs in this process)."""
        return len(self._procs)

    def imap(self, func: Callable[[Any], Any], jobs: Iterable[Any], local: Callable[[Any], Any]) -> Iterator[Any]:
        """Results of ``func`` (in a worker) or ``local`` (here) over ``jobs``, in order.

        ``func`` must be importable by name (a module-level function of
        dedupe, or a partial of one); a job tells the text it holds in ``chars``.
        """
        jobs = iter(jobs)
        if not self._procs and not self._in_process:
            head, ended = _read_ahead(jobs)
            if ended and (len(head) < 2 or _spare_chars(head) < MIN_POOL_CHARS):
                self._in_process = True
            else:
                self._start(self.workers if not ended else min(self.workers, len(head)))
            jobs = itertools.chain(head, jobs)
        if not self._procs:
            return map(local, jobs)
        return self._ordered(func, jobs)

    def _start(self, workers: int) -> None:
        if self._before_start is not None:
            self._before_start()
        # PR_SET_PDEATHSIG fires when the *thread* that started a worker ends,
        # so the kernel is asked only when that thread is the main one.
        main_thread = threading.current_thread() is threading.main_thread()
        args = (os.getpid(), main_thread, self._initializer, self._initargs)
        try:
            for number in range(workers):
                here, there = _MAINLESS.Pipe()
                proc = _MAINLESS.Process(target=_serve, args=(there, *args), daemon=True,
                                         name=f"dedupe-worker-{number + 1}")
                self._procs.append(proc)
                self._conns.append(here)
                proc.start()
                there.close()
        except BaseException:
            self.terminate()
            raise
        log.debug("started %d worker process(es)", workers)

    def _ordered(self, func: Callable[[Any], Any], jobs: Iterator[Any]) -> Iterator[Any]:
        self._drain()
        ahead = 2 * len(self._procs)  # results held for order: at most this many
        idle = [n for n in range(len(self._procs)) if n not in self._busy]
        sent = taken = 0  # jobs sent, results yielded
        held: dict[int, Any] = {}
        running: dict[int, int] = {}  # worker -> job number
        exhausted = False
        while True:
            while idle and not exhausted and sent < taken + ahead:
                job = next(jobs, _END)
                if job is _END:
                    exhausted = True
                    break
                worker = idle.pop()
                self._send(worker, (func, job))
                running[worker] = sent
                sent += 1
            if taken in held:
                ok, value = held.pop(taken)
                taken += 1
                if not ok:
                    raise value
                yield value
                continue
            if exhausted and taken == sent:
                return
            for worker, reply in self._replies(list(running)):
                held[running.pop(worker)] = reply
                idle.append(worker)

    def _send(self, worker: int, message: Any) -> None:
        try:
            self._conns[worker].send(message)
        except OSError:
            self._lost(worker)
        self._busy.add(worker)

    def _replies(self, workers: list[int]) -> Iterator[tuple[int, Any]]:
        """Wait for replies from any of ``workers``; a worker found dead meanwhile ends the run."""
        by_conn = {self._conns[n]: n for n in workers}
        by_sentinel = {p.sentinel: n for n, p in enumerate(self._procs)}
        for ready in wait(list(by_conn) + list(by_sentinel)):
            if ready in by_conn:
                worker = by_conn[ready]
                try:
                    reply = ready.recv()  # type: ignore[union-attr]
                except (EOFError, OSError):
                    self._lost(worker)
                self._busy.discard(worker)
                yield worker, reply
            elif ready in by_sentinel:
                self._lost(by_sentinel[ready])

    def _drain(self) -> None:
        """Read (and drop) the results of jobs an abandoned :meth:`imap` left with the workers."""
        for worker in sorted(self._busy):
            for _ in self._replies([worker]):
                pass

    def _lost(self, worker: int) -> None:
        proc = self._procs[worker]
        proc.join(STOP_SECONDS)
        raise WorkerLost(_lost_message(proc.exitcode))

    def terminate(self) -> None:
        """Stop the workers now (SIGTERM, then SIGKILL after :data:`STOP_SECONDS`)."""
        procs, conns = self._procs, self._conns
        self._procs, self._conns, self._busy = [], [], set()
        for proc in procs:
            if proc.pid is not None and proc.exitcode is None:
                proc.terminate()
        for proc in procs:
            if proc.pid is not None:
                proc.join(STOP_SECONDS)
                if proc.exitcode is None:
                    proc.kill()
                    proc.join()
        for conn in conns:
            conn.close()


_END = object()


def _serve(conn: Connection, parent: int, kernel_watch: bool, initializer: Callable[..., None] | None,
           initargs: tuple[Any, ...]) -> None:
    """A worker's life: prepare, then answer ``(func, job)`` with ``(True, result)`` or ``(False, error)``."""
    failed: BaseException | None = None
    try:
        _start_worker(parent, kernel_watch, initializer, initargs)
    except Exception as exc:  # noqa: BLE001 - reported with the first job, in the parent
        failed = exc
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the parent closed its end, or is gone
            return
        func, job = message
        try:
            if failed is not None:
                raise failed
            reply = (True, func(job))
        except Exception as exc:  # noqa: BLE001 - raised again in the parent, at this job's turn
            reply = (False, _portable(exc))
        try:
            conn.send(reply)
        except OSError:
            return
        except Exception as exc:  # noqa: BLE001 - a result that does not pickle
            conn.send((False, _portable(exc)))


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (for the parent to raise), else a RuntimeError saying what it was."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any failure to round-trip means: send a description
        return RuntimeError(f"in a worker process: {type(exc).__name__}: {exc}")


def _read_ahead(jobs: Iterator[Any]) -> tuple[list[Any], bool]:
    """Jobs until they hold :data:`MIN_POOL_CHARS` beyond the largest, and whether the input ended."""
    head: list[Any] = []
    for job in jobs:
        head.append(job)
        if len(head) >= 2 and _spare_chars(head) >= MIN_POOL_CHARS:
            return head, False
    return head, True


def _spare_chars(jobs: list[Any]) -> int:
    """Characters of text in ``jobs`` beyond the largest job."""
    sizes = [job.chars for job in jobs]
    return sum(sizes) - max(sizes, default=0)


def _lost_message(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (most often the out-of-memory killer: try fewer jobs)" if name == "SIGKILL" else ""
        return f"a worker process was killed by {name}{hint}"
    if exitcode is None:
        return "a worker process stopped answering"
    return f"a worker process exited with code {exitcode}"


@contextmanager
def sigint_blocked() -> Iterator[None]:
    """SIGINT blocked in this thread meanwhile, so processes started here start with it blocked.

    A spawned interpreter inherits the signal mask, so a Ctrl-C to the
    process group stays pending in a worker while it imports (where it used
    to print a KeyboardInterrupt traceback per worker) until
    :func:`_start_worker` ignores it. The parent loses nothing: another of its
    threads takes the signal, or this one once the mask is restored.
    (Ignoring SIGINT here instead would lose a Ctrl-C that lands meanwhile.)

    >>> with sigint_blocked():
    ...     pass
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _start_worker(parent: int, kernel_watch: bool, initializer: Callable[..., None] | None,
                  initargs: tuple[Any, ...]) -> None:
    """Runs first in every worker: ignore Ctrl-C, die with the parent, then ``initializer``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # drops a Ctrl-C pending since launch, too
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if kernel_watch and sys.platform.startswith("linux"):
        _signal_on_parent_death(signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="dedupe-watch-parent").start()
    if initializer is not None:
        initializer(*initargs)


def _signal_on_parent_death(signum: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)
    except (OSError, AttributeError):  # no prctl here: the watcher thread still covers it
        pass


def _watch_parent(parent: int) -> None:
    """Exit as soon as the parent is gone (we are re-parented): no orphan holds memory."""
    while os.getppid() == parent:
        time.sleep(WATCH_PARENT_SECONDS)
    os._exit(1)


# -- spawn without the caller's __main__ ---------------------------------------------


def _preparation_data(name: str) -> dict[str, Any]:
    """What a spawned child needs from its parent, without the caller's main module.

    multiprocessing's spawn re-runs the parent's ``__main__`` in every child
    so that functions defined there can be unpickled; a script without an
    ``if __name__ == "__main__":`` guard then starts a run in each child, and
    each of those fails to start its own workers, forever. Our workers only
    ever unpickle dedupe's own functions and data, so they skip it.
    """
    data = spawn.get_preparation_data(name)
    data.pop("init_main_from_path", None)
    data.pop("init_main_from_name", None)
    return data


if sys.platform != "win32":
    from multiprocessing import popen_spawn_posix

    class _MainlessPopen(popen_spawn_posix.Popen):
        """``popen_spawn_posix.Popen`` with :func:`_preparation_data`, launching with SIGINT blocked.

        Its ``_launch`` with those two lines changed.
        """

        def _launch(self, process_obj: Any) -> None:
            from multiprocessing import resource_tracker

            tracker_fd = resource_tracker.getfd()
            self._fds.append(tracker_fd)  # type: ignore[attr-defined]  # set by Popen.__init__
            prep_data = _preparation_data(process_obj._name)
            fp = io.BytesIO()
            mp_context.set_spawning_popen(self)
            try:
                reduction.dump(prep_data, fp)
                reduction.dump(process_obj, fp)
            finally:
                mp_context.set_spawning_popen(None)

            parent_r = child_w = child_r = parent_w = None
            try:
                parent_r, child_w = os.pipe()
                child_r, parent_w = os.pipe()
                cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
                self._fds.extend([child_r, child_w])  # type: ignore[attr-defined]
                # here, not around the whole launch: starting multiprocessing's
                # resource tracker (getfd above) unblocks SIGINT in this thread.
                # The child's start-up data is written inside too: a Ctrl-C
                # between the spawn and the write closed the pipe on a child
                # that then printed "EOFError: Ran out of input".
                with sigint_blocked():
                    self.pid = util.spawnv_passfds(
                        spawn.get_executable(), cmd, self._fds)  # type: ignore[arg-type,attr-defined]
                    self.sentinel = parent_r
                    with open(parent_w, "wb", closefd=False) as f:
                        f.write(fp.getbuffer())
            finally:
                fds_to_close = [fd for fd in (parent_r, parent_w) if fd is not None]
                self.finalizer = util.Finalize(self, util.close_fds, fds_to_close)  # type: ignore[attr-defined]
                for fd in (child_r, child_w):
                    if fd is not None:
                        os.close(fd)

    class _MainlessProcess(mp_context.SpawnProcess):
        @staticmethod
        def _Popen(process_obj: Any) -> Any:
            return _MainlessPopen(process_obj)

    class _MainlessContext(mp_context.SpawnContext):
        Process = _MainlessProcess  # type: ignore[assignment]

    _MAINLESS: Any = _MainlessContext()
else:  # pragma: no cover - Windows spawns through another Popen; it keeps multiprocessing's own
    _MAINLESS = multiprocessing.get_context("spawn")
