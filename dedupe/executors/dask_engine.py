"""The Dask executor: the batch stages of both passes, and the clustering step, on a Dask cluster.

``dedupe clean … --engine dask [--scheduler ADDRESS]`` (extra ``dask``). Each
shard of the input (:mod:`dedupe.sharded`), or each batch of documents of an
input the driver reads itself, is one task, running the same stage functions
(:mod:`dedupe.stages`) as the local executors. The resolver's clustering step
groups band keys with dataframe shuffles on the workers and, past
``--memory-limit``, finds connected components there too
(:meth:`DaskExecutor.cluster`); the rest of the resolver runs on the driver
over numbers only (about 60 bytes per paragraph). Results are consumed in
input order and the clusters are numbered as the local step numbers them, so
output, removal record and stats counts are byte-identical to the local
engine's (docs/distributed.md).

>>> DaskExecutor.shares_disk
False
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..config import CleanConfig, DedupConfig
from ..errors import ConfigError, MissingExtraError
from ..features import Fingerprinted
from ..fingerprint import band_key
from ..resolve import StepCallback
from ..resolve.candidates import TEXT_WINDOW, band_edges, component_labels, exact_edges
from ..resolve.groups import group_pairs_across, text_representatives
from ..schema import ParagraphTable
from ..stages import Stage, run_in_process
from ..store import SignatureStore
from ..templates import TemplateTable
from .workers import available_cores, sigint_blocked

log = logging.getLogger(__name__)

R = TypeVar("R")

#: Candidate pairs and band rows per partition of the grouping shuffles (bytes).
PARTITION_BYTES = 64 << 20
#: Band rows above which the shuffles go peer to peer: below it, dask's
#: task-based shuffle is faster (20k documents, 11M band rows, 2 workers:
#: 5.0 s against 16.4 s); above it, p2p holds less in memory at once. A
#: ``dataframe.shuffle.method`` in the dask configuration takes precedence.
P2P_ROWS = 200_000_000
#: Signature rows per block the driver sends itself (rows of an index of earlier runs).
SCATTER_ROWS = 1 << 16
#: Large-star/small-star rounds before giving up (they need O(log² n)).
MAX_ROUNDS = 200


class DaskExecutor:
    """Runs the stages as tasks on a Dask cluster: the one at ``scheduler``, or a local one of
    ``workers`` processes (0: a worker per core) that it starts and closes.

    :meth:`map` submits batches as tasks, at most a few per worker ahead, and
    yields their results in submission order; a task's exception is raised in
    the driver when its turn comes.
    """

    #: Workers of a scheduler may not see the driver's disk.
    shares_disk = False

    def __init__(self, config: CleanConfig, scheduler: str | None = None, workers: int = 0,
                 scratch: str | None = None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise MissingExtraError("--engine dask", "dask", "distributed") from exc
        self._cluster = None
        self.scratch = scratch
        self.client: Any = None
        try:
            if scheduler:
                self.client = Client(scheduler, timeout="30s")
            else:
                # processes, one thread each: the stages hold the GIL. They start (from the
                # cluster's own thread, created here) with SIGINT blocked: Ctrl-C is the
                # driver's to handle, and it closes the cluster, where every worker printed
                # a KeyboardInterrupt traceback.
                resource_tracker.ensure_running()  # started later, it would unblock SIGINT there
                with sigint_blocked():
                    self._cluster = LocalCluster(n_workers=workers or available_cores(), threads_per_worker=1,
                                                 processes=True, dashboard_address=None)
                self.client = Client(self._cluster)
        except OSError as exc:
            self.close()
            raise ConfigError(f"cannot reach the Dask scheduler {scheduler or '(local)'}: {exc}") from exc
        self._config = self.client.scatter(config, broadcast=True)
        self._shared: Any = None  # the line counts, as the workers get them
        # [future, rows] per fingerprinted batch: its signatures, kept on the worker for cluster()
        self._signature_blocks: list[tuple[Any, int]] = []
        self.threads = sum(self.client.nthreads().values()) or 1
        self.ahead = 2 * self.threads + 1
        log.info("dask engine: %d worker thread(s) at %s", self.threads, self.client.scheduler.address)

    def map(self, stage: Stage[R], batches: Iterable[Any]) -> Iterator[R]:
        """Results of ``stage`` over ``batches``, in order.

        The signatures of fingerprinted batches also stay on the worker that
        computed them, for :meth:`cluster`: the grouping step reads them there
        instead of the driver sending them back.
        """
        self._signature_blocks = []
        pending: deque[Any] = deque()
        for batch in batches:
            pending.append(self.client.submit(run_in_process, stage, self._config, self._shared, batch, pure=False))
            if len(pending) >= self.ahead:
                yield self._take(pending)
        while pending:
            yield self._take(pending)

    def _take(self, pending: deque[Any]) -> Any:
        future = pending.popleft()
        try:
            result = future.result()
            printed = getattr(result, "fingerprinted", result)
            if isinstance(printed, Fingerprinted):
                self._signature_blocks.append(
                    (self.client.submit(_signatures_of, future, pure=False), printed.signatures.shape[0]))
            return result
        finally:
            future.release()

    def share(self, counts: TemplateTable) -> None:
        """The line counts for every worker.

        A cluster this executor started runs on this machine, so its workers
        memory-map one copy in the scratch folder; workers of a remote
        scheduler may not see the driver's disk, so they get the counts
        through the cluster, once per worker.
        """
        if self._cluster is not None and self.scratch is not None:
            counts.save(Path(self.scratch))
            self._shared = self.scratch
        else:
            self._shared = self._ship(counts)

    def _ship(self, counts: TemplateTable) -> Any:
        return self.client.scatter(counts, broadcast=True, hash=False)

    def cluster(self, table: ParagraphTable, config: DedupConfig, progress: StepCallback) -> tuple[np.ndarray, int]:
        """The resolver's clustering step on the cluster (see :func:`dedupe.resolve.cluster_labels`).

        Band keys are grouped by a shuffle on (band, key) into ``split_out``
        partitions, candidate pairs are made distinct by a second shuffle, and
        the driver verifies them against its signature store as they stream
        in; once that store has spilled past ``memory_limit``, the workers
        holding the signatures verify them (:func:`_verify_at_signatures`).
        Components are found on the driver while the verified edges fit
        ``memory_limit``; past it, by large-star/small-star rounds on the
        cluster. The labels equal the local step's, so the resolution is the same.
        """
        import dask

        store = table.signatures
        method = dask.config.get("dataframe.shuffle.method", None) or (
            "p2p" if store.size * store.bands > P2P_ROWS else "tasks")
        with dask.config.set({"dataframe.shuffle.method": method}):
            labels, count = self._group(table, config)
        self._signature_blocks = []
        return labels, count

    def _group(self, table: ParagraphTable, config: DedupConfig) -> tuple[np.ndarray, int]:
        import dask
        import dask.dataframe as dd

        store = table.signatures
        edges = _Edges(self.client, config.memory_limit)
        edges.add(*exact_edges(table))
        total = store.size
        if total > 1:
            blocks = self._all_signature_blocks(store)
            split_out = max(self.threads, -(-total * store.bands * 24 // PARTITION_BYTES))
            band_rows = _empty(band=np.uint8, key=np.uint64, sig=np.int64, text=np.uint64, page=np.int64)
            pair_rows = _empty(pair=np.int64)
            minhashed = np.flatnonzero(table.sig_row >= 0)  # signature i belongs to row minhashed[i]
            # each signature's text and page, for pairing the different texts of a band group; one
            # signature per text stands for its copies, as in the local engine (candidate_edges)
            texts, pages = table.exact[minhashed], table.doc[minhashed]
            stands = np.zeros(total, dtype=bool)
            stands[text_representatives(texts, pages)] = True
            frames = dd.from_delayed([
                dask.delayed(_band_frame)(future, offset, store.rows, texts[offset:offset + size],
                                          pages[offset:offset + size], stands[offset:offset + size])
                for offset, size, future in blocks if size], meta=band_rows)
            pairs = frames.shuffle(on=["band", "key"], npartitions=split_out) \
                .map_partitions(_band_pairs, total, meta=pair_rows)
            pairs = pairs.shuffle(on="pair", npartitions=split_out).map_partitions(_distinct, meta=pair_rows)
            if store.spilled:
                # the driver's store is on its disk: its signatures are read where they are
                verified = _verify_at_signatures(self.client, table, pairs, blocks, minhashed, config)
                for future in self.client.compute(verified):
                    a, b = future.result()
                    future.release()
                    edges.add(minhashed[a], minhashed[b])
            else:
                for future in self.client.compute(pairs.to_delayed()):
                    code = future.result()["pair"].to_numpy()
                    future.release()
                    a, b = minhashed[code // total], minhashed[code % total]
                    edges.add(*band_edges(table, a, b, config.threshold, config.short_chars, config.short_threshold))
        return edges.labels(table.size), edges.count

    def _all_signature_blocks(self, store: SignatureStore) -> list[tuple[int, int, Any]]:
        """(first row, rows, future) covering every signature in ``store``.

        Pass 1's blocks are on the workers; rows added after it (an index of
        earlier runs) are sent from the driver's store.
        """
        blocks, offset = [], 0
        for future, size in self._signature_blocks:
            blocks.append((offset, size, future))
            offset += size
        for start in range(offset, store.size, SCATTER_ROWS):
            rows = np.arange(start, min(store.size, start + SCATTER_ROWS))
            blocks.append((start, rows.shape[0], self.client.scatter(store.take(rows))))
        return blocks

    def close(self) -> None:
        client, cluster = self.client, self._cluster
        self._signature_blocks = []
        self._shared = None
        self.client = None
        self._cluster = None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def _signatures_of(batch: Any) -> np.ndarray:
    # a batch's Fingerprinted, or a shard's (dedupe.sharded.ShardPrint)
    return getattr(batch, "fingerprinted", batch).signatures


def _empty(**dtypes: Any) -> Any:
    """An empty frame with these columns: the ``meta`` dask needs to plan without running."""
    import pandas as pd

    return pd.DataFrame({name: np.empty(0, dtype) for name, dtype in dtypes.items()})


def _band_frame(signatures: np.ndarray, offset: int, rows: int, texts: np.ndarray, pages: np.ndarray,
                stands: np.ndarray) -> Any:
    """One row per (band, signature that ``stands`` for its text): the band's key, the signature's
    global number, its text's exact hash and its document."""
    import pandas as pd

    chosen = np.flatnonzero(stands)
    count, bands = chosen.shape[0], signatures.shape[1] // rows
    if count == 0:
        return _empty(band=np.uint8, key=np.uint64, sig=np.int64, text=np.uint64, page=np.int64)
    signatures = signatures[chosen]
    return pd.DataFrame({
        "band": np.repeat(np.arange(bands, dtype=np.uint8), count),
        "key": np.concatenate([band_key(signatures, band, rows) for band in range(bands)]),
        "sig": np.tile(offset + chosen.astype(np.int64), bands),
        "text": np.tile(texts[chosen], bands),
        "page": np.tile(pages[chosen], bands),
    })


def _band_pairs(frame: Any, total: int) -> Any:
    """Candidate pairs of one partition of band rows (every (band, key) group lies in one)."""
    import pandas as pd

    band, key, sig, text, page = (frame[name].to_numpy() for name in ("band", "key", "sig", "text", "page"))
    order = np.lexsort((sig, key, band))
    band, key, sig, text, page = band[order], key[order], sig[order], text[order], page[order]
    starts = np.ones(sig.shape[0], dtype=bool)
    starts[1:] = (band[1:] != band[:-1]) | (key[1:] != key[:-1])
    # pairs as the local engine makes them (candidates.candidate_edges), group by group
    a, b = group_pairs_across(np.cumsum(starts), sig, text, page, TEXT_WINDOW)
    return pd.DataFrame({"pair": np.minimum(a, b) * total + np.maximum(a, b)})


#: The columns of the paragraph table that verifying a candidate pair reads (besides the signatures).
_VERIFY_COLUMNS = ("exact", "doc", "ident", "text_hash", "length")


def _verify_at_signatures(client: Any, table: ParagraphTable, pairs: Any, blocks: list[tuple[int, int, Any]],
                          minhashed: np.ndarray, config: DedupConfig) -> list[Any]:
    """Delayed ``(a, b)`` arrays of signature numbers: the candidate pairs that are edges, verified on
    the workers that hold the signatures (pass 1's blocks), by :func:`band_edges` itself.

    Two hops: each pair goes to the block of its first signature, which adds that signature and
    its row's columns, then to the block of its second, which checks the pair. Only the pairs
    and one signature per pair move; the driver reads none of its (spilled) store.
    """
    import dask

    starts = np.array([offset for offset, _, _ in blocks], dtype=np.int64)
    total = table.signatures.size
    # a list of dicts: scatter() takes a dict for names of its own
    columns = client.scatter([{name: getattr(table, name)[minhashed[offset:offset + size]] for name in _VERIFY_COLUMNS}
                              for offset, size, _ in blocks])
    split = dask.delayed(_split_by_block, nout=len(blocks))
    firsts = [split(frame, starts, total, True) for frame in pairs.to_delayed()]
    attached = [dask.delayed(_attach_first)(future, offset, columns[k], total, *[parts[k] for parts in firsts])
                for k, (offset, _, future) in enumerate(blocks)]
    seconds = [split(half, starts, total, False) for half in attached]
    rule = (table.signatures.rows, config.threshold, config.short_chars, config.short_threshold)
    return [dask.delayed(_verify_second)(future, offset, columns[k], rule, *[parts[k] for parts in seconds])
            for k, (offset, _, future) in enumerate(blocks)]


def _split_by_block(pairs: Any, starts: np.ndarray, total: int, first: bool) -> list[Any]:
    """``pairs`` (a frame of pair codes, or :func:`_attach_first`'s dict) cut by the block of their
    first (or second) signature: one piece per block."""
    if isinstance(pairs, dict):
        side = pairs["b"]
        pieces = np.searchsorted(starts, side, side="right") - 1
        return [{name: values[pieces == k] for name, values in pairs.items()} for k in range(starts.shape[0])]
    code = pairs["pair"].to_numpy()
    side = code // total if first else code % total
    pieces = np.searchsorted(starts, side, side="right") - 1
    return [code[pieces == k] for k in range(starts.shape[0])]


def _attach_first(signatures: np.ndarray, offset: int, columns: dict[str, np.ndarray], total: int,
                  *codes: np.ndarray) -> dict[str, np.ndarray]:
    """The pairs whose first signature is in this block, with that signature and its row's columns."""
    code = np.concatenate(codes) if codes else np.empty(0, np.int64)
    a, b = code // total, code % total
    local = a - offset
    return {"a": a, "b": b, "signature": signatures[local], **{name: values[local] for name, values in columns.items()}}


def _verify_second(signatures: np.ndarray, offset: int, columns: dict[str, np.ndarray],
                   rule: tuple[int, float, int, float], *halves: dict[str, np.ndarray]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """The pairs whose second signature is in this block that :func:`band_edges` keeps."""
    rows, threshold, short_length, short_threshold = rule
    empty = np.empty(0, np.int64)
    halves = tuple(half for half in halves if half["a"].shape[0])
    if not halves:
        return empty, empty
    first = {name: np.concatenate([half[name] for half in halves]) for name in halves[0]}
    count = first["a"].shape[0]
    local = first["b"] - offset
    # a table of the pairs' rows, first sides then second sides: the local rule, verbatim
    pair_rows = ParagraphTable.build(
        **{name: np.concatenate([first[name], columns[name][local]]) for name in _VERIFY_COLUMNS},
        para=np.zeros(2 * count, np.int64), sig_row=np.arange(2 * count, dtype=np.int64),
        signatures=SignatureStore.of(np.concatenate([first["signature"], signatures[local]]), rows))
    kept_a, _ = band_edges(pair_rows, np.arange(count, dtype=np.int64), np.arange(count, 2 * count, dtype=np.int64),
                           threshold, short_length, short_threshold)
    return first["a"][kept_a], first["b"][kept_a]


def _distinct(frame: Any) -> Any:
    import pandas as pd

    return pd.DataFrame({"pair": np.unique(frame["pair"].to_numpy())})


#: Verified edges the driver buffers before sending them to the cluster.
_SHIP_EDGES = 1 << 20


class _Edges:
    """Verified edges: held by the driver while they fit ``limit`` bytes, then on the cluster.

    Every edge arrives once (exact edges and distinct band pairs are disjoint),
    so nothing needs deduplicating.
    """

    def __init__(self, client: Any, limit: int) -> None:
        self.client = client
        self.limit = limit
        self.count = 0
        self.held: list[tuple[np.ndarray, np.ndarray]] = []
        self.held_count = 0
        self.remote: list[Any] = []

    def add(self, a: np.ndarray, b: np.ndarray) -> None:
        if a.shape[0] == 0:
            return
        self.count += a.shape[0]
        self.held.append((a, b))
        self.held_count += a.shape[0]
        over = self.limit and self.count * 16 > self.limit  # two int64 per edge
        # once over, everything goes; after that, in chunks of _SHIP_EDGES
        if over and (not self.remote or self.held_count >= _SHIP_EDGES):
            self._ship()

    def _joined(self) -> tuple[np.ndarray, np.ndarray]:
        empty = np.empty(0, np.int64)
        return (np.concatenate([a for a, _ in self.held]) if self.held else empty,
                np.concatenate([b for _, b in self.held]) if self.held else empty)

    def _ship(self) -> None:
        import pandas as pd

        if self.held:
            u, v = self._joined()
            self.remote.append(self.client.scatter(pd.DataFrame({"u": u, "v": v})))
            self.held, self.held_count = [], 0

    def labels(self, n: int) -> np.ndarray:
        if not self.remote:
            return component_labels(n, *self._joined())
        self._ship()
        log.info("dask engine: %d verified edges passed --memory-limit; components on the cluster", self.count)
        return _propagate(self.remote, n)


def _propagate(chunks: list[Any], n: int) -> np.ndarray:
    """Connected components of edge frames on the cluster, numbered like :func:`component_labels`.

    Alternating large-star and small-star rounds (Kiveris et al., "Connected
    components in MapReduce and beyond", 2014): each round links nodes to
    the smallest node they know of, and the graph becomes one star per
    component, centred on its smallest node, in O(log² n) rounds — a long
    chain of near copies too, where plain label propagation needs a round
    per link. Each round is a few shuffles; nothing is gathered until the end.
    """
    import dask.dataframe as dd
    from distributed import wait

    # a fixed partition count: concat and merge would otherwise let it grow every round
    parts = max(1, len(chunks))
    edges = _oriented(dd.from_delayed(chunks, meta=_empty(u=np.int64, v=np.int64)), parts)
    rounds = 0
    for _ in range(MAX_ROUNDS):
        rounds += 1
        edges = _small_star(_large_star(edges, parts), parts).persist()
        # persist() returns while the scheduler still builds the round's graph
        # in a thread of its own; a scheduler in this process (LocalCluster)
        # and the next round's optimisation here read the same expression
        # classes' cached properties, whose locks are class-wide on Python
        # 3.11, and the two threads can deadlock (seen in CI). Waiting for
        # the round keeps the two apart.
        wait(edges)
        # a star forest: no centre (lo) is also a leaf (hi)
        centres = edges[["lo"]].drop_duplicates()
        leaves = edges[["hi"]].drop_duplicates()
        if int(centres.merge(leaves, left_on="lo", right_on="hi").shape[0].compute()) == 0:
            break
    else:  # pragma: no cover - O(log² n) rounds; 200 cover any graph that fits in memory
        raise RuntimeError("connected components did not converge")
    result = edges.compute()
    log.info("dask engine: components of %d rows in %d rounds", result.shape[0], rounds)
    full = np.arange(n, dtype=np.int64)
    full[result["hi"].to_numpy()] = result["lo"].to_numpy()
    return np.unique(full, return_inverse=True)[1].astype(np.int64)


def _orient(frame: Any) -> Any:
    import pandas as pd

    a, b = frame.iloc[:, 0].to_numpy(), frame.iloc[:, 1].to_numpy()
    keep = a != b
    return pd.DataFrame({"hi": np.maximum(a, b)[keep], "lo": np.minimum(a, b)[keep]})


def _oriented(pairs: Any, parts: int) -> Any:
    """Edges as distinct (hi, lo) with hi > lo, whatever the columns' order, in ``parts`` partitions."""
    return pairs.map_partitions(_orient, meta=_empty(hi=np.int64, lo=np.int64)).drop_duplicates(split_out=parts)


def _large_star(edges: Any, parts: int) -> Any:
    """Every node's larger neighbours link to the smallest of the node and its neighbours."""
    import dask.dataframe as dd

    arcs = dd.concat([edges.rename(columns={"hi": "u", "lo": "v"}), edges.rename(columns={"lo": "u", "hi": "v"})])
    low = arcs.groupby("u").v.min().reset_index().rename(columns={"v": "m"})
    low["m"] = low["m"].where(low["m"] < low["u"], low["u"])
    up = arcs[arcs["v"] > arcs["u"]].merge(low, on="u")
    return _oriented(up[["v", "m"]], parts)


def _small_star(edges: Any, parts: int) -> Any:
    """Every node and its smaller neighbours link to the smallest of them."""
    import dask.dataframe as dd

    low = edges.groupby("hi").lo.min().reset_index().rename(columns={"lo": "m"})
    linked = edges.merge(low, on="hi")[["lo", "m"]]
    return _oriented(dd.concat([linked, low[["hi", "m"]].rename(columns={"hi": "lo"})]), parts)
