"""Outputs never destroy what they did not write.

Folder outputs only add files and replace or remove their own; devices, FIFOs
and links are written through; outputs that would land on an input, the index
or each other are refused before anything is read; a run's outputs are
committed all together or not at all; a killed run's temporaries are swept by
the next run, never a live run's.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dedupe import writers
from dedupe.cli import app

from .conftest import ARTICLE, OTHER, read_jsonl, write_jsonl
from .conftest import invoke_one_job as invoke


def assert_refused(result, *needles):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]


def corpus(path: Path) -> Path:
    """Two documents, one with a chrome line (so the record has a line) and one copy."""
    return write_jsonl(path, [{"id": "a", "text": "\n".join(ARTICLE) + "\nShare this:"},
                              {"id": "b", "text": "\n".join(OTHER)},
                              {"id": "c", "text": "\n".join(ARTICLE)}])


MANIFEST = ".dedupe-output.json"  # what a folder output lists as its own


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` but a folder output's manifest, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != MANIFEST}


# -- 1. a folder output adds and replaces only its own files ----------------------


def test_folder_output_keeps_every_file_it_did_not_write(runner, tmp_path):
    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "README").write_text("mine")
    (out / "notes.md").write_text("also mine")
    (out / "sub" / "data.bin").write_bytes(b"\x00\x01")
    result = invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", out, "-q")
    assert result.exit_code == 0, result.output
    files = tree(out)
    assert files["README"] == b"mine" and files["notes.md"] == b"also mine" and files["sub/data.bin"] == b"\x00\x01"
    assert files["a.txt"] == "\n".join(ARTICLE).encode() and "b.txt" in files
    assert sorted(json.loads((out / MANIFEST).read_text())["files"]) == ["a.txt", "b.txt"]
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]


def test_output_folder_that_is_the_input_folder_is_refused_and_the_input_kept(runner, tmp_path):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    corpus(crawl / "pages.jsonl")
    (crawl / "unrelated.csv").write_text("x,y\n")
    before = tree(crawl)
    for target in (crawl, f"{crawl}/", crawl / "sub"):
        assert_refused(invoke(runner, "clean", crawl, "-o", target, "-q"), "input folder", str(crawl))
    assert tree(crawl) == before and sorted(os.listdir(crawl)) == ["pages.jsonl", "unrelated.csv"]


def test_dot_output_in_a_project_adds_files_and_removes_nothing(runner, tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('hi')\n")
    (project / "README.md").write_text("# project\n")
    corpus(tmp_path / "in.jsonl")
    monkeypatch.chdir(project)
    for target in (".", "./", str(project)):
        result = invoke(runner, "strip", tmp_path / "in.jsonl", "-o", target, "-q")
        assert result.exit_code == 0, result.output
        files = tree(project)
        assert files["src/main.py"] == b"print('hi')\n" and files["README.md"] == b"# project\n"
        assert {"a.txt", "b.txt", "c.txt"} <= set(files)


def test_folder_output_onto_the_index_folder_is_refused_and_batches_kept(runner, tmp_path):
    pytest.importorskip("pyarrow")
    index = tmp_path / "idx"
    assert invoke(runner, "clean", corpus(tmp_path / "one.jsonl"), "--index", index, "-o",
                  tmp_path / "first.jsonl", "-q").exit_code == 0
    before = tree(index)
    assert any(name.startswith("batch-") for name in before)
    write_jsonl(tmp_path / "two.jsonl", [{"id": "z", "text": OTHER[0]}])
    for target in (f"{index}/", index / "docs"):
        assert_refused(invoke(runner, "clean", tmp_path / "two.jsonl", "-o", target, "--index", index, "-q"),
                       "index folder")
    assert_refused(invoke(runner, "clean", tmp_path / "two.jsonl", "--stats", index / "stats.json",
                          "--index", index, "-q"), "index folder")
    assert tree(index) == before


def test_rerun_replaces_and_removes_only_unchanged_files_it_wrote(runner, tmp_path):
    out = tmp_path / "out"
    write_jsonl(tmp_path / "v1.jsonl", [{"id": "a", "text": ARTICLE[0]}, {"id": "b", "text": OTHER[0]},
                                         {"id": "c", "text": OTHER[1]}])
    assert invoke(runner, "strip", tmp_path / "v1.jsonl", "-o", out, "-q").exit_code == 0
    (out / "c.txt").write_text("edited by hand\n")  # now the user's
    write_jsonl(tmp_path / "v2.jsonl", [{"id": "a", "text": ARTICLE[1]}])
    assert invoke(runner, "strip", tmp_path / "v2.jsonl", "-o", out, "-q").exit_code == 0
    files = tree(out)
    assert files["a.txt"] == ARTICLE[1].encode()  # replaced: an earlier run wrote it
    assert "b.txt" not in files  # removed: an earlier run wrote it, nobody changed it, this run did not
    assert files["c.txt"] == b"edited by hand\n"  # kept: changed since


def test_folder_output_refuses_to_replace_a_file_it_did_not_write_unless_overwrite(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text("someone else's\n")
    (out / "other.txt").write_text("unrelated\n")
    write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": ARTICLE[0]}])
    assert_refused(invoke(runner, "strip", tmp_path / "in.jsonl", "-o", out, "-q"),
                   "a.txt", "'a'", "--overwrite")
    assert tree(out) == {"a.txt": b"someone else's\n", "other.txt": b"unrelated\n"}
    assert invoke(runner, "strip", tmp_path / "in.jsonl", "-o", out, "--overwrite", "-q").exit_code == 0
    write_jsonl(tmp_path / "none.jsonl", [{"id": "q", "text": OTHER[0]}])
    assert invoke(runner, "strip", tmp_path / "none.jsonl", "-o", out, "--overwrite", "-q").exit_code == 0
    files = tree(out)
    assert files["other.txt"] == b"unrelated\n" and files["q.txt"] == OTHER[0].encode()
    assert "a.txt" not in files  # replaced with --overwrite, it became dedupe's own


def test_folder_output_never_writes_onto_an_input_inside_it(runner, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_text(ARTICLE[0] + "\nShare this:\n")
    for overwrite in ([], ["--overwrite"]):
        assert_refused(invoke(runner, "strip", out / "a.txt", "-o", out, *overwrite, "-q"), "a.txt", "input")
    assert (out / "a.txt").read_text() == ARTICLE[0] + "\nShare this:\n"


def test_long_ids_and_a_file_where_a_folder_is_needed_get_names_that_fit(runner, tmp_path):
    long_id = "x" * 300
    wide_id = "é" * 200  # 400 bytes
    write_jsonl(tmp_path / "in.jsonl", [{"id": long_id, "text": ARTICLE[0]}, {"id": wide_id, "text": OTHER[0]},
                                        {"id": long_id + "y", "text": OTHER[1]}])
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    (two / "a.txt").mkdir(parents=True)
    (one / "a.txt").write_text(ARTICLE[1])  # the document "a.txt"
    (two / "a.txt" / "b.txt").write_text(ARTICLE[2])  # and "a.txt/b.txt", which needs a folder "a.txt"
    out = tmp_path / "out"
    result = invoke(runner, "strip", tmp_path / "in.jsonl", one, two, "-o", out, "-q")
    assert result.exit_code == 0, result.output
    files = tree(out)
    assert all(len(part.encode()) <= 255 for name in files for part in name.split("/"))
    texts = sorted(data.decode() for data in files.values())
    assert texts == sorted((ARTICLE[0], OTHER[0], OTHER[1], ARTICLE[1], ARTICLE[2]))
    assert files["a.txt"] == ARTICLE[1].encode()


def test_the_folder_manifest_maps_every_file_back_to_its_document_id(runner, tmp_path):
    # ids with slashes, case-only differences and overlong ids cannot all be file names
    ids = ["news/2024/storm", "News/2024/Storm", "x" * 300, "a/../b"]
    write_jsonl(tmp_path / "in.jsonl", [{"id": doc_id, "text": ARTICLE[n]} for n, doc_id in enumerate(ids)])
    out = tmp_path / "out"
    result = invoke(runner, "clean", tmp_path / "in.jsonl", "-o", out, "-q")
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / MANIFEST).read_text())
    assert sorted(manifest["ids"]) == sorted(tree(out)) == sorted(manifest["files"])
    assert sorted(manifest["ids"].values()) == sorted(ids)
    for name, doc_id in manifest["ids"].items():
        n = ids.index(doc_id)
        assert (out / name).read_text() == ARTICLE[n]


def test_folder_output_error_names_the_document(runner, tmp_path, monkeypatch):
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode and str(path).endswith("b.txt"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    result = invoke(runner, "strip", corpus(tmp_path / "in.jsonl"), "-o", tmp_path / "out", "-q")
    assert_refused(result, "b.txt", "No space left on device", "'b'")
    assert not (tmp_path / "out").exists()  # the folder this run made goes too


# -- 2. devices, FIFOs and links are written through ----------------------------


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A memory device (/dev/null: 3, /dev/full: 7): a private twin where we may create one
    (so that a regression cannot replace the system's), else the system's own."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        twin = tmp_path / name
        os.mknod(twin, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
        try:
            os.close(os.open(twin, os.O_WRONLY))
        except OSError:
            pytest.skip("cannot use device nodes here (nodev)")
        return twin
    return Path("/dev") / name


@pytest.fixture
def null_device(tmp_path):
    return _device(tmp_path, "null", 3)


def test_removed_and_stats_to_a_null_device(runner, tmp_path, null_device):
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", out, "--removed", null_device,
                    "--stats", null_device, "-q")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat(null_device).st_mode)
    assert [d["id"] for d in read_jsonl(out)] == ["a", "b"]
    assert not [p for p in os.listdir(null_device.parent) if p.endswith(".tmp")]


def test_removal_record_into_a_fifo_reaches_its_reader(runner, tmp_path):
    fifo = tmp_path / "record.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as handle:
            got.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    result = invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", tmp_path / "out.jsonl",
                    "--removed", fifo, "-q")
    reader.join(timeout=30)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    regular = tmp_path / "record.jsonl"
    assert invoke(runner, "clean", tmp_path / "in.jsonl", "--removed", regular, "-q").exit_code == 0
    assert got[0] == regular.read_bytes() and b'"chrome"' in got[0]


def test_output_through_a_symlink_replaces_the_target_and_keeps_the_link(runner, tmp_path):
    (tmp_path / "data").mkdir()
    target = tmp_path / "data" / "stats.json"
    target.write_text("old")
    (tmp_path / "hop.json").symlink_to(target)
    (tmp_path / "link.json").symlink_to("hop.json")  # a chain of two
    dangling = tmp_path / "dangling.jsonl"
    dangling.symlink_to(tmp_path / "data" / "new-record.jsonl")
    result = invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", tmp_path / "out.jsonl",
                    "--stats", tmp_path / "link.json", "--removed", dangling, "-q")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "link.json").is_symlink() and (tmp_path / "hop.json").is_symlink() and dangling.is_symlink()
    assert json.loads(target.read_text())["documents"]["in"] == 3
    assert {r["doc_id"] for r in read_jsonl(tmp_path / "data" / "new-record.jsonl")} == {"a", "c"}


def test_stats_to_a_link_to_the_process_stdout(tmp_path):
    link = tmp_path / "fd1.json"
    link.symlink_to("/proc/self/fd/1")
    if not os.path.exists("/proc/self/fd/1"):
        pytest.skip("no /proc here")
    done = subprocess.run([sys.executable, "-m", "dedupe", "clean", str(corpus(tmp_path / "in.jsonl")),
                           "-o", str(tmp_path / "out.jsonl"), "--stats", str(link), "-j", "1", "-q"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["documents"]["in"] == 3
    assert link.is_symlink()


def test_stats_to_a_process_substitution(tmp_path):
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("needs bash")
    got = tmp_path / "got.json"
    script = (f'"{sys.executable}" -m dedupe clean "{corpus(tmp_path / "in.jsonl")}" -o "{tmp_path / "out.jsonl"}" '
              f'--stats >(cat > "{got}") -j 1 -q; status=$?; wait; exit $status')
    done = subprocess.run([bash, "-c", script], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    for _ in range(100):
        if got.exists() and got.stat().st_size:
            break
        threading.Event().wait(0.05)
    assert json.loads(got.read_text())["documents"]["kept"] == 2


def test_a_full_device_names_itself_and_leaves_the_other_outputs(runner, tmp_path):
    full = _device(tmp_path, "full", 7)  # every write: ENOSPC, a real full disk
    paths = _previous_outputs(tmp_path)
    result = invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", paths["out"], "--stats", paths["stats"],
                    "--removed", full, "-q")
    assert_refused(result, f"{full}: No space left on device")
    for name in ("out", "stats"):
        assert paths[name].read_text() == f"previous {name}\n"
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


# -- 3. outputs on an input, the index or each other are refused -------------------


def test_two_outputs_on_one_file_are_refused_before_reading(runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")  # read first, this would be the error
    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    (tmp_path / "alias.jsonl").symlink_to(out)
    for extra in (["--removed", out], ["--stats", out], ["--removed", f"{tmp_path}/./out.jsonl"],
                  ["--stats", tmp_path / "alias.jsonl"]):
        assert_refused(invoke(runner, "clean", bad, "-o", out, *extra, "-q"), "would be the same file")
    assert_refused(invoke(runner, "clean", bad, "--removed", tmp_path / "r.jsonl", "--stats",
                          tmp_path / "r.jsonl", "-q"), "removal record and the stats")
    assert_refused(invoke(runner, "clean", bad, "--removed", "-", "-q"), "standard output")
    assert out.read_text() == "previous\n" and sorted(os.listdir(tmp_path)) == ["alias.jsonl", "bad.jsonl", "out.jsonl"]


def test_an_output_on_an_input_is_refused_before_reading(runner, tmp_path):
    crawl = tmp_path / "crawl"
    crawl.mkdir()
    corpus(crawl / "a.jsonl")
    before = tree(crawl)
    assert_refused(invoke(runner, "clean", crawl / "a.jsonl", "-o", crawl / "a.jsonl", "-q"), "is also an input")
    assert_refused(invoke(runner, "clean", crawl / "a.jsonl", "--removed", f"{crawl}/../crawl/a.jsonl", "-q"),
                   "is also an input")
    assert_refused(invoke(runner, "clean", crawl, "-o", crawl / "clean.jsonl", "-q"), "inside the input folder")
    assert_refused(invoke(runner, "clean", crawl, "--stats", crawl / "stats.json", "-q"), "inside the input folder")
    assert tree(crawl) == before


def test_report_refuses_to_write_over_its_removal_record(runner, tmp_path):
    record = tmp_path / "rec.jsonl"
    assert invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "--removed", record, "-q").exit_code == 0
    before = record.read_bytes()
    assert_refused(invoke(runner, "report", "--removed", record, "-o", record), "is also an input")
    assert record.read_bytes() == before


# -- 5. all outputs or none, and errors that name the file --------------------------


def _previous_outputs(tmp_path):
    paths = {"out": tmp_path / "out.jsonl", "rec": tmp_path / "rec.jsonl", "stats": tmp_path / "stats.json"}
    for name, path in paths.items():
        path.write_text(f"previous {name}\n")
    return paths


def _run_all(runner, tmp_path, paths):
    return invoke(runner, "clean", corpus(tmp_path / "in.jsonl"), "-o", paths["out"], "--removed", paths["rec"],
                  "--stats", paths["stats"], "-q")


def _assert_untouched(tmp_path, paths):
    for name, path in paths.items():
        assert path.read_text() == f"previous {name}\n", name
    assert sorted(os.listdir(tmp_path)) == ["in.jsonl", "out.jsonl", "rec.jsonl", "stats.json"]


def test_full_disk_while_syncing_the_stats_leaves_every_output_as_it_was(runner, tmp_path, monkeypatch):
    paths = _previous_outputs(tmp_path)
    real_fsync = os.fsync

    def fsync(fd):
        if "stats.json" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc here")
    monkeypatch.setattr(os, "fsync", fsync)
    assert_refused(_run_all(runner, tmp_path, paths), "stats.json: No space left on device")
    _assert_untouched(tmp_path, paths)


def test_a_parquet_output_is_synced_before_it_is_renamed_into_place(runner, tmp_path, monkeypatch):
    """Parquet goes through the same atomic file as JSONL: written, synced, then renamed."""
    pytest.importorskip("pyarrow")
    if not os.path.exists("/proc/self/fd"):
        pytest.skip("no /proc here")
    synced, real_fsync = [], os.fsync

    def fsync(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    result = runner.invoke(app, ["clean", str(corpus(tmp_path / "in.jsonl")), "-o", str(tmp_path / "out.parquet"),
                                 "-j", "1", "-q"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out.parquet").exists()
    assert [path for path in synced if "out.parquet" in path and path != str(tmp_path / "out.parquet")]


def test_full_disk_while_writing_the_record_names_the_record(runner, tmp_path, monkeypatch):
    paths = _previous_outputs(tmp_path)
    real_init = writers.AtomicFile.__init__

    class Full:
        def __init__(self, inner):
            self.inner = inner

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self.inner, name)

    def init(self, target, *args, **kwargs):
        real_init(self, target, *args, **kwargs)
        if str(target).endswith("rec.jsonl"):
            self.handle = Full(self.handle)

    monkeypatch.setattr(writers.AtomicFile, "__init__", init)
    assert_refused(_run_all(runner, tmp_path, paths), "rec.jsonl: No space left on device")
    _assert_untouched(tmp_path, paths)


def test_a_failed_rename_puts_back_the_outputs_already_renamed(runner, tmp_path, monkeypatch):
    paths = _previous_outputs(tmp_path)
    real_replace = os.replace

    def replace(src, dst, **kwargs):
        if str(dst).endswith("stats.json"):
            raise OSError(errno.EIO, "Input/output error", str(dst))
        return real_replace(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    assert_refused(_run_all(runner, tmp_path, paths), "stats.json: Input/output error")
    _assert_untouched(tmp_path, paths)


# -- 6. temporaries of killed runs go, a live run's stay ---------------------------


def _env(tmpdir: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmpdir), "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}


def _ours(folder: Path) -> list[str]:
    return sorted(p for p in os.listdir(folder) if p.startswith("dedupe-") or ".dedupe-" in p)


def _start_blocked_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path, Path]:
    """A run whose input is a FIFO nobody writes: it waits inside the pipeline, its
    output temporaries and scratch folder made."""
    tmpdir, out = tmp_path / "tmpdir", tmp_path / "out"
    tmpdir.mkdir(exist_ok=True)
    out.mkdir(exist_ok=True)
    fifo = tmp_path / "in.jsonl"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "dedupe", "clean", str(fifo), "-o", str(out / "clean.jsonl"),
         "--removed", str(out / "rec.jsonl"), "--stats", str(out / "stats.json"), "-j", "1", "-q", *extra],
        env=_env(tmpdir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for _ in range(600):
        if any(p.startswith("dedupe-run-") for p in os.listdir(tmpdir)) and len(_ours(out)) >= 3:
            break
        if process.poll() is not None:
            raise AssertionError(process.communicate())
        threading.Event().wait(0.05)
    else:
        process.kill()
        raise AssertionError("the run never started")
    return process, tmpdir, out


def _second_run(tmp_path: Path, tmpdir: Path, out: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dedupe", "clean", str(corpus(tmp_path / "small.jsonl")),
                           "-o", str(out / "other.jsonl"), "--stats", str(out / "other-stats.json"), "-j", "1", "-q"],
                          env=_env(tmpdir), capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def test_the_next_run_sweeps_what_a_killed_run_left(tmp_path):
    process, tmpdir, out = _start_blocked_run(tmp_path)
    process.kill()
    process.wait(timeout=30)
    left_out, left_tmp = _ours(out), _ours(tmpdir)
    assert len(left_out) == 3 and left_tmp and left_tmp[0].startswith("dedupe-run-")
    unrelated = [out / ".notes.tmp", out / ".x.dedupe-00000000-1-abcdefgh.tmp", tmpdir / "dedupe-run-mine"]
    for path in unrelated:  # not ours by name, or made on another host: never touched
        path.write_text("keep")
    _second_run(tmp_path, tmpdir, out)
    assert _ours(out) == [".x.dedupe-00000000-1-abcdefgh.tmp"] and _ours(tmpdir) == ["dedupe-run-mine"]
    assert all(path.read_text() == "keep" for path in unrelated)
    assert sorted(os.listdir(out)) == sorted([".notes.tmp", ".x.dedupe-00000000-1-abcdefgh.tmp",
                                              "other.jsonl", "other-stats.json"])


def test_a_live_runs_temporaries_are_left_alone(tmp_path):
    process, tmpdir, out = _start_blocked_run(tmp_path)
    try:
        process.send_signal(signal.SIGSTOP)  # alive but silent, as a run deep in its work
        before_out, before_tmp = _ours(out), _ours(tmpdir)
        _second_run(tmp_path, tmpdir, out)
        assert _ours(out) == before_out and _ours(tmpdir) == before_tmp
    finally:
        process.send_signal(signal.SIGCONT)
        process.kill()
        process.wait(timeout=30)


def test_sighup_ends_a_run_like_sigterm(tmp_path):
    process, tmpdir, out = _start_blocked_run(tmp_path)
    process.send_signal(signal.SIGHUP)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 129, stderr
    assert stderr.strip().splitlines() == ["dedupe: error: hung up (SIGHUP); no output was written"]
    assert os.listdir(out) == [] and os.listdir(tmpdir) == []


def test_stale_means_ours_by_name_and_host_with_no_live_owner(tmp_path):
    from dedupe.scratch import is_stale, owner_tag, sweep

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = owner_tag().split("-")[0]
    stale = tmp_path / f".out.jsonl.dedupe-{host}-{dead.pid}-abcdefgh.tmp"
    alive = tmp_path / f".out.jsonl.dedupe-{host}-{os.getppid()}-abcdefgh.tmp"
    foreign = tmp_path / f".out.jsonl.dedupe-ffffffff-{dead.pid}-abcdefgh.tmp"
    lookalike = tmp_path / f"out.jsonl.dedupe-{host}-{dead.pid}-abcdefgh.tmp"
    for path in (stale, alive, foreign, lookalike):
        path.write_text("x")
    assert [is_stale(p) for p in (stale, alive, foreign, lookalike)] == [True, False, False, False]
    assert sweep(tmp_path) == 1 and not stale.exists() and alive.exists() and foreign.exists()


# -- Parquet output with fields that change -----------------------------------------


def _parquet_run(runner, tmp_path, rows):
    pq = pytest.importorskip("pyarrow.parquet")
    write_jsonl(tmp_path / "in.jsonl", rows)
    result = invoke(runner, "strip", tmp_path / "in.jsonl", "-o", tmp_path / "out.parquet", "-q")
    assert result.exit_code == 0, result.output
    return pq.read_table(tmp_path / "out.parquet").to_pylist()


def _rows(n, field):
    return [{"id": i, "text": f"Document number {i} says something of its own.", **field(i)} for i in range(n)]


def test_parquet_field_null_for_the_first_rows_keeps_its_later_values(runner, tmp_path):
    out = _parquet_run(runner, tmp_path, _rows(1500, lambda i: {"v": None if i < 1100 else i}))
    assert [r["v"] for r in out] == [None] * 1100 + list(range(1100, 1500))


def test_parquet_field_appearing_late_is_kept(runner, tmp_path):
    out = _parquet_run(runner, tmp_path, _rows(1500, lambda i: {"late": {"k": i}} if i >= 1300 else {}))
    assert [r["late"] for r in out[1298:1301]] == [None, None, {"k": 1300}] and len(out) == 1500


def test_parquet_field_that_changes_type_becomes_json_text(runner, tmp_path):
    rows = _rows(1200, lambda i: {"v": 1 if i < 1100 else "x", "n": i if i % 2 else i + 0.5})
    out = _parquet_run(runner, tmp_path, rows)
    assert [r["v"] for r in out[1098:1102]] == ["1", "1", '"x"', '"x"']
    assert out[0]["n"] == 0.5 and out[1]["n"] == 1.0  # ints and floats share a float column


def test_parquet_output_named_gz_stays_plain_parquet_that_reads_back(runner, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    write_jsonl(tmp_path / "in.jsonl", _rows(3, lambda i: {}))
    assert invoke(runner, "strip", tmp_path / "in.jsonl", "-o", tmp_path / "out.parquet.gz", "-q").exit_code == 0
    assert len(pq.read_table(tmp_path / "out.parquet.gz")) == 3
    result = invoke(runner, "strip", tmp_path / "out.parquet.gz", "-q")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3


def test_parquet_empty_struct_becomes_json_text(runner, tmp_path):
    out = _parquet_run(runner, tmp_path, _rows(3, lambda i: {"e": {}, "l": [] if i else [{}]}))
    assert [r["e"] for r in out] == ["{}"] * 3 and out[0]["l"] == "[{}]" and out[1]["l"] == "[]"


# -- JSON that is JSON ---------------------------------------------------------------


def _strict(line: str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(line, parse_constant=refuse)


def test_nan_and_infinity_are_written_as_null(runner, tmp_path):
    (tmp_path / "in.jsonl").write_text(
        f'{{"id": "a", "text": "{ARTICLE[0]}", "score": NaN, "more": [Infinity, -Infinity, 1.5]}}\n')
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "clean", tmp_path / "in.jsonl", "-o", out, "--stats", tmp_path / "s.json", "-q")
    assert result.exit_code == 0, result.output
    (doc,) = [_strict(line) for line in out.read_text().splitlines()]
    assert doc == {"id": "a", "text": ARTICLE[0], "score": None, "more": [None, None, 1.5]}
    _strict((tmp_path / "s.json").read_text())
    from dedupe.writers import dumps_json

    assert dumps_json({"similarity": float("nan")}) == '{"similarity": null}'
