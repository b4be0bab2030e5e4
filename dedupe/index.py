"""A persistent index of what earlier runs kept, for incremental cleaning.

``dedupe clean NEW --index DIR`` cleans a new batch against every batch cleaned
before with the same index, then adds the new batch to it. Earlier batches
win: a paragraph kept earlier makes its copies in the new batch duplicates
pointing at the earlier document, and a paragraph that was boilerplate stays
boilerplate. Cluster sizes carry across batches, so a paragraph that recurs in
a few documents of every batch still reaches ``--boilerplate-docs``.

Layout of ``DIR`` (files, no server)::

    manifest.json                   parameters and the list of committed batches
    batch-000001.parquet            rows added by batch 1 (needs pyarrow)
    batch-000001.updates.parquet    larger cluster counts for rows of earlier batches
    batch-000001.sites.parquet      pages per site in batch 1
    batch-000001.families.parquet   pages per template family and site in batch 1
    .lock                           held while a run writes the index

A row is a paragraph kept by its batch (or one copy of a new boilerplate
cluster): document id, paragraph number, exact, identifier and text hashes,
length, placement, its MinHash signature (band keys are recomputed from it,
and candidates are verified exactly as inside one run), its sentences'
hashes, its site and how many documents (sites) its cluster spans. Template
families (lines equal but for their values) are counted apart, as pages per
(family, site) and batch, with the boilerplate rule each family had.

A batch becomes part of the index only when :meth:`Index.commit` replaces the
manifest (after the run's outputs are written): a run that is killed leaves
the index as it was; files of uncommitted batches are removed by the next run.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .config import CleanConfig
from .errors import ConfigError, MissingExtraError
from .resolve.resolution import RULE_SITE_TEMPLATE, RULE_TEMPLATED_DOCS, Resolution, Status
from .schema import (
    DocumentTable,
    Earlier,
    EarlierFamilies,
    Paragraphs,
    ParagraphTable,
    concat,
    from_arrow,
    to_arrow,
)
from .store import SignatureStore
from .writers import AtomicFile

#: 2: identifier hashes per row and template families per batch (exact keys keep identifiers).
FORMAT = 2
MANIFEST = "manifest.json"


#: Hash schemes indexes recorded before they recorded fingerprint.HASH_SCHEME, and what
#: they are: an index never existed with other fingerprint arithmetic than the scheme
#: named here, so one that recorded the old description is read with today's name.
_EARLIER_HASH_SCHEMES = {
    "murmur3-fmix32+affine32-mersenne61 / xxh3-64 exact":
        "char:fmix64-roll64|word:xxh3-64-roll64>fmix64-32/minhash:affine32/bands:xormul-fmix64/exact:xxh3-64",
}


def parameters(config: CleanConfig) -> dict[str, Any]:
    """Every setting that changes fingerprints or match keys: an index only
    serves runs whose parameters equal the ones it was built with."""
    import ftfy

    from . import __version__
    from .fingerprint import HASH_SCHEMES, Fingerprinter
    from .normalize import NORMALIZER_VERSION

    d = config.dedup
    fp = Fingerprinter(num_perm=d.num_perm, seed=d.seed, ngram=d.ngram, min_length=d.min_minhash_length,
                       threshold=d.threshold, bands=d.bands, shingle=d.shingle, max_length=d.max_minhash_chars,
                       scheme=d.scheme)
    return json.loads(json.dumps({
        "shingle": d.shingle,
        "ngram": d.ngram,
        "num_perm": d.num_perm,
        "seed": d.seed,
        "bands": fp.bands,
        "rows": fp.rows,
        "min_minhash_length": d.min_minhash_length,
        "max_minhash_chars": d.max_minhash_chars,
        "scheme": d.scheme,
        "hash_scheme": HASH_SCHEMES[d.scheme],
        "normalizer_version": NORMALIZER_VERSION,
        "normalize": dataclasses.asdict(config.normalize),
        "ftfy_version": ftfy.__version__,
        "dedupe_version": __version__,
    }))


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise MissingExtraError("an index (--index)", "parquet", "pyarrow") from exc
    return pyarrow


@dataclass(slots=True)
class StoredFamilies:
    """Template families as batches store them: pages per (family, site) and the family's rule."""

    template: np.ndarray  # uint64[f] hash of the template key
    site: list[str | None]  # the site's name (None: pages without a url)
    pages: np.ndarray  # int64[f] pages of that site holding a line of the family, in one batch
    rule: np.ndarray  # int8[f] the family's boilerplate rule in that batch


@dataclass(slots=True)
class EarlierRows:
    """Rows of the committed batches, as the resolver takes them."""

    rows: Paragraphs  # the stored columns; doc numbers index doc_ids; sig_row the signatures load() stored
    doc_ids: list[str]  # one per earlier document (batch-local ids may repeat across batches)
    site: list[str | None]  # per earlier document
    site_pages: dict[str, int]  # pages per site over all earlier batches
    ref_batch: np.ndarray  # int32[r] batch number of each row
    ref_row: np.ndarray  # int64[r] row number inside its batch file
    families: StoredFamilies  # of all batches


@dataclass(slots=True)
class CountUpdates:
    """Larger counts for rows of earlier batches whose cluster grew in this run."""

    batch: np.ndarray  # int32[u] the row's batch
    row: np.ndarray  # int64[u] its row in that batch's file
    docs: np.ndarray  # int64[u] documents its cluster spans now
    sites: np.ndarray  # int64[u] sites
    site_copies: np.ndarray  # int64[u] pages of its own site

    @classmethod
    def none(cls) -> CountUpdates:
        empty = np.empty(0, np.int64)
        return cls(empty.astype(np.int32), empty, empty, empty, empty)


@dataclass(slots=True)
class NewRows:
    """What a run adds: the rows to store and the larger counts of earlier rows."""

    rows: Paragraphs  # the rows to store, with what this run decided in the earlier* columns
    doc_id: list[str]
    site: list[str | None]
    signatures: np.ndarray  # uint32[r, num_perm]; rows without a signature (sig_row -1) are ignored
    site_pages: dict[str, int]  # pages per site in this batch
    documents: int  # documents of the batch (all of them, kept or not)
    updates: CountUpdates
    families: StoredFamilies  # this batch's


class Index:
    """An index folder, opened for one run.

    >>> import tempfile
    >>> from dedupe import CleanConfig
    >>> folder = tempfile.mkdtemp()
    >>> with Index.open(folder, CleanConfig()) as index:
    ...     index.info()["batches"]
    0
    """

    def __init__(self, path: Path, manifest: dict[str, Any], lock: Any) -> None:
        self.path = path
        self.manifest = manifest
        self._lock = lock
        # the manifest entry of a staged batch, until commit() adds it
        self._pending: dict[str, Any] | None = None

    # -- opening ---------------------------------------------------------------

    @classmethod
    def open(cls, path: str | Path, config: CleanConfig, create: bool = True) -> Index:
        """Open (or create) the index at ``path`` for runs with ``config``.

        Refuses an index built with other parameters, naming the first that differs.
        """
        _pyarrow()
        folder = Path(path)
        manifest_path = folder / MANIFEST
        if not manifest_path.exists():
            if not create:
                raise ConfigError(f"{folder}: not a dedupe index (no {MANIFEST})")
            if folder.exists() and any(p.name != ".lock" for p in folder.iterdir()):
                raise ConfigError(f"{folder}: exists and is not a dedupe index; give an empty or new folder")
            folder.mkdir(parents=True, exist_ok=True)
        # readers need no lock: the manifest is replaced atomically
        lock = _lock(folder) if create else _Lock(None)
        try:
            if manifest_path.exists():
                manifest = _read_manifest(manifest_path)
                if create:
                    _check_parameters(folder, manifest["parameters"], parameters(config), config)
            else:
                manifest = {"format": FORMAT, "parameters": parameters(config), "batches": []}
            index = cls(folder, manifest, lock)
            if create:
                index._remove_uncommitted()
            return index
        except BaseException:
            lock.close()
            raise

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop an uncommitted batch and release the lock."""
        if self._pending is not None:
            for name in _files(self._pending):
                (self.path / name).unlink(missing_ok=True)
            self._pending = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def _remove_uncommitted(self) -> None:
        known = {name for batch in self.manifest["batches"] for name in _files(batch)}
        for path in self.path.glob("batch-*.parquet"):
            if path.name not in known:
                path.unlink()
        for path in self.path.glob(".*.tmp"):  # AtomicFile's temporary files
            path.unlink()

    # -- reading ---------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """What the index holds: batches, documents, rows and parameters."""
        batches = self.manifest["batches"]
        size = sum(f.stat().st_size for f in self.path.glob("*.parquet"))
        return {
            "path": str(self.path),
            "format": self.manifest["format"],
            "batches": len(batches),
            "documents": sum(b["documents"] for b in batches),
            "rows": sum(b["rows"] for b in batches),
            "rows_kept": sum(b["kept"] for b in batches),
            "rows_boilerplate": sum(b["boilerplate"] for b in batches),
            "bytes": size,
            "parameters": self.manifest["parameters"],
            "history": [{k: b[k] for k in ("number", "documents", "rows", "created") if k in b} for b in batches],
        }

    def load(self, store: SignatureStore) -> EarlierRows:
        """Every committed row, with counts raised by later batches' updates.

        The signatures go into ``store`` batch file by batch file (spilling
        past its memory limit): an index of many batches holds far more
        signatures than a run's budget. The rows' ``sig_row`` number them from 0.
        """
        pa = _pyarrow()
        import pyarrow.parquet as pq

        width = int(self.manifest["parameters"]["num_perm"])
        doc_ids: list[str] = []
        sites: list[str | None] = []
        parts: list[Paragraphs] = []
        refs: list[tuple[np.ndarray, np.ndarray]] = []
        families: list[Any] = []
        site_pages: dict[str, int] = {}
        for batch in self.manifest["batches"]:
            table = self._read(pq, batch["file"])
            n = table.num_rows
            # documents are numbered per batch (the same id in two batches is two
            # documents), in order of first appearance, as dictionary_encode numbers them
            encoded = table.column("doc_id").combine_chunks().dictionary_encode()
            local = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
            _, first_rows = np.unique(local, return_index=True)
            sites.extend(table.column("site").take(pa.array(first_rows)).to_pylist())
            sig = table.column("signature").combine_chunks()
            valid = ~np.asarray(sig.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            if valid.any():
                raw = np.frombuffer(sig.buffers()[1], dtype=np.uint32)
                raw = raw[sig.offset * width : (sig.offset + n) * width].reshape(n, width)
                store.append(raw[valid].copy())
            parts.append(from_arrow(table, doc=local + len(doc_ids), sig_row=np.where(valid, np.cumsum(valid) - 1, -1)))
            doc_ids.extend(encoded.dictionary.to_pylist())
            refs.append((np.full(n, batch["number"], dtype=np.int32), np.arange(n, dtype=np.int64)))
            if batch.get("sites"):
                pages = self._read(pq, batch["sites"])
                for site, count in zip(pages.column("site").to_pylist(), pages.column("pages").to_pylist()):
                    site_pages[site] = site_pages.get(site, 0) + count
            if batch.get("families"):
                families.append(self._read(pq, batch["families"]))
        rows = EarlierRows(
            rows=concat(parts), doc_ids=doc_ids, site=sites, site_pages=site_pages,
            ref_batch=np.concatenate([b for b, _ in refs]) if refs else np.empty(0, np.int32),
            ref_row=np.concatenate([r for _, r in refs]) if refs else np.empty(0, np.int64),
            families=StoredFamilies(
                template=_joined(families, "template", np.uint64),
                site=[site for table in families for site in table.column("site").to_pylist()],
                pages=_joined(families, "pages", np.int64), rule=_joined(families, "rule", np.int8)),
        )
        self._apply_updates(rows, pq)
        return rows

    def _read(self, pq: Any, name: str) -> Any:
        try:
            return pq.read_table(self.path / name)
        except (OSError, ValueError) as exc:  # pyarrow's errors derive from these
            raise ConfigError(f"{self.path / name}: cannot read this index file: {exc}") from exc

    def _apply_updates(self, earlier: EarlierRows, pq: Any) -> None:
        rows = earlier.rows
        if rows.size == 0:
            return
        # global row of (batch, row): batches are numbered 1.. and stored in order
        first_row = {}
        start = 0
        for batch in self.manifest["batches"]:
            first_row[batch["number"]] = start
            start += batch["rows"]
        for batch in self.manifest["batches"]:
            if not batch.get("updates"):
                continue
            table = self._read(pq, batch["updates"])
            ref_batch = table.column("batch").to_numpy()
            ref_row = table.column("row").to_numpy().astype(np.int64)
            where = np.array([first_row[int(b)] for b in ref_batch], dtype=np.int64) + ref_row
            rows.earlier_docs[where] = table.column("docs").to_numpy()
            rows.earlier_sites[where] = table.column("sites").to_numpy()
            rows.earlier_site_copies[where] = table.column("site_copies").to_numpy()

    # -- writing ---------------------------------------------------------------

    def stage(self, new: NewRows) -> None:
        """Write the new batch beside the index; it joins it at :meth:`commit`."""
        pa = _pyarrow()
        import pyarrow.parquet as pq

        number = max((b["number"] for b in self.manifest["batches"]), default=0) + 1
        name = f"batch-{number:06d}.parquet"
        width = int(self.manifest["parameters"]["num_perm"])
        signature = pa.Array.from_buffers(
            pa.binary(4 * width), len(new.doc_id),
            [pa.array(new.rows.sig_row >= 0, pa.bool_()).buffers()[1],
             pa.py_buffer(np.ascontiguousarray(new.signatures, dtype=np.uint32).tobytes())])
        table = pa.table({"doc_id": pa.array(new.doc_id, pa.string()), **to_arrow(new.rows, pa),
                          "site": pa.array(new.site, pa.string()), "signature": signature})
        self._pending = {"number": number, "file": name, "updates": None, "sites": None, "families": None,
                         "documents": new.documents, "rows": int(table.num_rows),
                         "kept": int((new.rows.earlier_status == Earlier.KEPT).sum()),
                         "boilerplate": int((new.rows.earlier_status >= Earlier.BOILERPLATE).sum())}
        _write_parquet(pq, table, self.path / name)
        if new.updates.row.shape[0]:
            updates = self._pending["updates"] = f"batch-{number:06d}.updates.parquet"
            _write_parquet(pq, pa.table({
                "batch": pa.array(new.updates.batch, pa.int32()),
                "row": pa.array(new.updates.row, pa.int64()),
                "docs": pa.array(new.updates.docs, pa.int64()),
                "sites": pa.array(new.updates.sites, pa.int64()),
                "site_copies": pa.array(new.updates.site_copies, pa.int64()),
            }), self.path / updates)
        if new.families.template.shape[0]:
            families = self._pending["families"] = f"batch-{number:06d}.families.parquet"
            _write_parquet(pq, pa.table({
                "template": pa.array(new.families.template, pa.uint64()),
                "site": pa.array(new.families.site, pa.string()),
                "pages": pa.array(new.families.pages, pa.int64()),
                "rule": pa.array(new.families.rule, pa.int8()),
            }), self.path / families)
        if new.site_pages:
            sites = self._pending["sites"] = f"batch-{number:06d}.sites.parquet"
            names = sorted(new.site_pages)
            _write_parquet(pq, pa.table({"site": pa.array(names, pa.string()),
                                         "pages": pa.array([new.site_pages[k] for k in names], pa.int64())}),
                           self.path / sites)

    def commit(self) -> None:
        """Make the staged batch part of the index (one atomic manifest replace)."""
        if self._pending is None:
            return
        entry = {**self._pending, "created": datetime.now(UTC).isoformat(timespec="seconds")}
        manifest = {**self.manifest, "batches": [*self.manifest["batches"], entry]}
        _write_atomic(self.path / MANIFEST, lambda f: f.write(
            (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode("utf-8")))
        self.manifest = manifest
        self._pending = None


def _files(batch: dict[str, Any]) -> list[str]:
    """The files of a batch's manifest entry."""
    return [batch[k] for k in ("file", "updates", "sites", "families") if batch.get(k)]


def _write_atomic(target: Path, write: Any) -> None:
    out = AtomicFile(target)
    try:
        write(out)
        out.commit()
    finally:
        out.abort()


def _write_parquet(pq: Any, table: Any, target: Path) -> None:
    _write_atomic(target, lambda f: pq.write_table(table, f.handle, compression="zstd"))


#: Fields of a batch's manifest entry and the JSON types they hold.
_BATCH_FIELDS: dict[str, tuple[type, ...]] = {
    "number": (int,), "file": (str,), "documents": (int,), "rows": (int,), "kept": (int,),
    "boilerplate": (int,), "updates": (str, type(None)), "sites": (str, type(None)),
}


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError(f"{path}: cannot read the index manifest: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ConfigError(f"{path}: damaged index manifest (a JSON {type(manifest).__name__}, not an object)")
    if manifest.get("format") != FORMAT:
        raise ConfigError(f"{path}: index format {manifest.get('format')!r}; this dedupe reads format {FORMAT} "
                          "only: clean the earlier batches again into a new index folder")
    problem = _manifest_problem(manifest)
    if problem:
        raise ConfigError(f"{path}: damaged index manifest: {problem}; restore it, or start a new index")
    return manifest


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with a manifest's structure, or None."""
    parameters = manifest.get("parameters")
    if not isinstance(parameters, dict):
        return "no 'parameters' object"
    if isinstance(parameters.get("num_perm"), bool) or not isinstance(parameters.get("num_perm"), int):
        return "'parameters' has no integer 'num_perm'"
    batches = manifest.get("batches")
    if not isinstance(batches, list):
        return "no 'batches' list"
    for number, batch in enumerate(batches, start=1):
        if not isinstance(batch, dict):
            return f"batch entry {number} is not an object"
        for name, allowed in _BATCH_FIELDS.items():
            value = batch.get(name)
            if isinstance(value, bool) or not isinstance(value, allowed):
                return f"batch entry {number}: {name!r} is {value!r}"
        for name in _files(batch):
            if Path(name).name != name or name in (".", ".."):
                return f"batch entry {number}: {name!r} is not a file name in the index folder"
    return None


#: Parameters as the user sets them: flags where there is one, else the configuration's name.
SETTING_NAMES = {
    "shingle": "--shingle", "ngram": "--ngram", "num_perm": "--num-perm", "seed": "dedup.seed", "scheme": "--scheme",
    "min_minhash_length": "dedup.min_minhash_length", "max_minhash_chars": "dedup.max_minhash_chars",
}
#: Parameters derived from the settings above and from --threshold / --bands: checked after them,
#: so that a changed --num-perm is named as such rather than by the bands it changes.
DERIVED = ("bands", "rows")


def _check_parameters(folder: Path, stored: dict[str, Any], current: dict[str, Any],
                      config: CleanConfig) -> None:
    """Refuse an index built with other parameters, naming the setting the user gave."""
    scheme = stored.get("hash_scheme")
    # indexes from before the scheme setting all hold datasketch's signatures
    stored = {"scheme": "datasketch", **stored, "hash_scheme": _EARLIER_HASH_SCHEMES.get(str(scheme), scheme)}
    keys = sorted(set(stored) | set(current), key=lambda k: (k in DERIVED, k not in SETTING_NAMES, k))
    for key in keys:
        if stored.get(key) == current.get(key):
            continue
        if key in DERIVED:
            raise ConfigError(_bands_message(folder, stored, current, config))
        name = SETTING_NAMES.get(key, key)
        raise ConfigError(
            f"{folder}: the index was built with {name}={stored.get(key)!r}, this run has "
            f"{name}={current.get(key)!r}; use the same settings or a new index"
        )


def _bands_message(folder: Path, stored: dict[str, Any], current: dict[str, Any], config: CleanConfig) -> str:
    """The LSH bands differ while every setting they depend on but --threshold / --bands agrees."""
    built = f"{stored.get('bands')} bands of {stored.get('rows')} rows"
    here = f"{current.get('bands')} of {current.get('rows')}"
    if config.dedup.bands:
        given = f"--bands={config.dedup.bands} gives {here}"
    else:
        given = f"--threshold={config.dedup.threshold} chooses {here} (with --bands=0)"
    return (f"{folder}: the index was built with {built} (from its --threshold, or --bands); this run's "
            f"{given}; use the index's --threshold, or keep this one with --bands={stored.get('bands')}, "
            f"or a new index")


class _Lock:
    def __init__(self, handle: Any) -> None:
        self.handle = handle

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


def _lock(folder: Path) -> _Lock:
    handle = open(folder / ".lock", "a+")  # noqa: SIM115 - held for the run, closed by _Lock
    try:
        import fcntl

        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except ImportError:  # no advisory locks here: trust the user
        pass
    except OSError as exc:
        handle.close()
        raise ConfigError(f"{folder}: the index is in use by another run") from exc
    return _Lock(handle)


# -- glue between the index and one run's resolver ------------------------------


def extend_with_earlier(table: Paragraphs, docs: DocumentTable, earlier: EarlierRows, store: SignatureStore,
                        sites: dict[str, int]) -> tuple[ParagraphTable, DocumentTable]:
    """The run's tables with the index's rows after them, as documents after the run's own.

    Earlier rows get document numbers after the run's documents, signature
    rows after the run's signatures (:meth:`Index.load` put theirs in
    ``store`` after the run's), and the earlier runs' verdicts, so the
    resolver lets them win and never drops their documents.
    """
    n_docs = docs.chars.shape[0]
    # sites numbered as they come: the documents' first, then the template families'
    site_ids = np.array([-1 if s is None else sites.setdefault(s, len(sites)) for s in earlier.site], dtype=np.int64)
    rows = concat([table, earlier.rows.replace(doc=earlier.rows.doc + n_docs)])
    extended = ParagraphTable.of(rows, store, _families(earlier.families, sites))
    n_earlier_docs = len(earlier.doc_ids)
    chars = np.bincount(earlier.rows.doc, weights=earlier.rows.length, minlength=n_earlier_docs).astype(np.int64)
    extended_docs = DocumentTable(
        chars=np.concatenate([docs.chars, chars]),
        site=np.concatenate([docs.site, site_ids]),
        date=np.concatenate([docs.date, np.full(n_earlier_docs, -np.inf)]),
        # pages per site over every batch, for the share rule of site templates
        site_docs=np.bincount(docs.site[docs.site >= 0], minlength=len(sites)).astype(np.int64)
        + _site_pages(earlier.site_pages, sites),
        earlier=np.concatenate([np.zeros(n_docs, bool), np.ones(n_earlier_docs, bool)]),
    )
    return extended, extended_docs


def _families(stored: StoredFamilies, sites: dict[str, int]) -> EarlierFamilies:
    """The earlier batches' template families, sorted by hash, sites numbered as this run's."""
    site = np.array([-1 if s is None else sites.setdefault(s, len(sites)) for s in stored.site], dtype=np.int64)
    order = np.argsort(stored.template, kind="stable")
    return EarlierFamilies(template=stored.template[order], site=site[order], pages=stored.pages[order],
                           rule=stored.rule[order])


def _site_pages(pages: dict[str, int], sites: dict[str, int]) -> np.ndarray:
    out = np.zeros(len(sites), dtype=np.int64)
    for site, count in pages.items():
        if site in sites:
            out[sites[site]] = count
    return out


def _joined(tables: list[Any], name: str, dtype: Any) -> np.ndarray:
    """Column ``name`` of Arrow tables, one after another."""
    parts = [table.column(name).to_numpy().astype(dtype) for table in tables]
    return np.concatenate(parts) if parts else np.empty(0, dtype)


def new_rows(table: ParagraphTable, resolution: Resolution, store: SignatureStore, doc_ids: list[str],
             site_names: list[str], docs_site: np.ndarray, n_docs: int, earlier: EarlierRows | None) -> NewRows:
    """The rows a run adds to the index: paragraphs its kept documents keep, one
    copy of each cluster that became boilerplate, and larger counts for earlier rows."""
    spread = resolution.spread
    groups = spread.group
    n_new = int(np.searchsorted(table.doc, n_docs))  # this run's rows come first
    status = resolution.status[:n_new]
    doc = table.doc[:n_new]
    kept = np.flatnonzero((status == Status.KEPT) & ~resolution.doc_dropped[doc])
    boiler = np.zeros(groups.max(initial=-1) + 1, dtype=bool)
    boiler[groups[n_new:][table.earlier_status >= Earlier.BOILERPLATE]] = True  # already stored as boilerplate
    # template families are stored apart (their pages per site); a cluster's rule is kept by one copy
    candidates = np.flatnonzero((status == Status.BOILERPLATE) & (resolution.rule[:n_new] < RULE_TEMPLATED_DOCS))
    _, first = np.unique(groups[candidates], return_index=True)
    firsts = candidates[first]
    new_boiler = firsts[~boiler[groups[firsts]]]
    rows = np.sort(np.concatenate([kept, new_boiler]))
    row_status = np.select([status[rows] != Status.BOILERPLATE, resolution.rule[rows] == RULE_SITE_TEMPLATE],
                           [Earlier.KEPT, Earlier.TEMPLATE], Earlier.BOILERPLATE)

    sig_row = table.sig_row[rows]
    minhashed = sig_row >= 0
    signatures = np.zeros((rows.shape[0], store.width or 1), np.uint32)
    if minhashed.any():
        signatures[minhashed] = store.take(sig_row[minhashed])
    return NewRows(
        rows=table.take(rows).replace(
            earlier_placement=resolution.placement[rows], earlier_status=row_status,
            earlier_docs=spread.group_docs[groups[rows]],
            earlier_sites=spread.group_sites[groups[rows]], earlier_site_copies=spread.site_copies[rows]),
        doc_id=[doc_ids[d] for d in doc[rows]],
        site=[None if docs_site[d] < 0 else site_names[docs_site[d]] for d in doc[rows]],
        signatures=signatures,
        site_pages={site_names[s]: int(c) for s, c in enumerate(
            np.bincount(docs_site[:n_docs][docs_site[:n_docs] >= 0], minlength=len(site_names))) if c},
        documents=n_docs,
        updates=_count_updates(table, resolution, n_new, earlier),
        families=_new_families(table, resolution, n_new, docs_site, site_names),
    )


def _count_updates(table: ParagraphTable, resolution: Resolution, n_new: int,
                   earlier: EarlierRows | None) -> CountUpdates:
    """Earlier rows whose star reached more documents with this run's copies."""
    if earlier is None or earlier.rows.size == 0:
        return CountUpdates.none()
    spread = resolution.spread
    groups = spread.group
    has_new = np.zeros(groups.max(initial=-1) + 1, dtype=bool)
    has_new[groups[:n_new]] = True
    past = np.arange(n_new, table.size)
    grew = past[has_new[groups[past]] & (spread.group_docs[groups[past]] > table.earlier_docs)]
    return CountUpdates(
        batch=earlier.ref_batch[grew - n_new], row=earlier.ref_row[grew - n_new],
        docs=spread.group_docs[groups[grew]],
        sites=np.maximum(spread.group_sites[groups[grew]], table.earlier_sites[grew - n_new]),
        site_copies=np.maximum(spread.site_copies[grew], table.earlier_site_copies[grew - n_new]),
    )


def _new_families(table: ParagraphTable, resolution: Resolution, n_new: int, docs_site: np.ndarray,
                  site_names: list[str]) -> StoredFamilies:
    """This run's template families as the resolver counted them: pages per (family, site), and rule."""
    current = np.arange(n_new)
    rows = current[(table.template[:n_new] != table.exact[:n_new]) & (resolution.status[:n_new] != Status.STRIPPED)]
    if rows.shape[0] == 0:
        return StoredFamilies(np.empty(0, np.uint64), [], np.empty(0, np.int64), np.empty(0, np.int8))
    hashes, family = np.unique(table.template[rows], return_inverse=True)
    family = family.ravel()
    site = docs_site[table.doc[rows]]
    triples = np.unique(np.stack([family, site, table.doc[rows]]), axis=1)
    pairs, pages = np.unique(triples[:2], axis=1, return_counts=True)
    rule = np.zeros(hashes.shape[0], dtype=np.int8)
    np.maximum.at(rule, family, resolution.spread.family_rule[rows])
    return StoredFamilies(hashes[pairs[0]], [None if s < 0 else site_names[s] for s in pairs[1]],
                          pages.astype(np.int64), rule[pairs[0]])
