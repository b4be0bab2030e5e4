"""Start-up: importing dedupe loads only what is used."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys

import pytest

import dedupe
from dedupe import resolve as resolve_function
from dedupe import strip as strip_function

from .conftest import ROOT


def loaded_after(code: str) -> set[str]:
    """Top-level modules loaded by a fresh interpreter after running ``code``."""
    script = f"import sys\n{code}\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=ROOT)
    return set(out.stdout.split())


def test_importing_dedupe_loads_no_dependency():
    assert not loaded_after("import dedupe") & {"numpy", "scipy", "ftfy", "pyarrow", "numba", "xxhash"}


def test_fingerprinting_a_little_text_loads_no_compiler():
    loaded = loaded_after("from dedupe.fingerprint import Fingerprinter\n"
                          "Fingerprinter().fingerprint(['a paragraph long enough to be fingerprinted'])\n"
                          "from dedupe.keys import match_keys\nmatch_keys(['A line'])")
    assert "numpy" in loaded and not loaded & {"numba", "scipy"}


def test_public_names_are_the_functions_even_after_their_modules_load():
    # in a fresh interpreter, the modules load before the names are asked for
    script = ("import dedupe.pipeline, dedupe.prepare, dedupe.resolve, dedupe.strip\n"
              "from dedupe import prepare, resolve, strip\n"
              "import dedupe\n"
              "assert callable(prepare) and callable(resolve) and callable(strip), (prepare, resolve, strip)\n"
              "assert dedupe.prepare is prepare and dedupe.resolve is resolve and dedupe.strip is strip\n"
              "assert all(getattr(dedupe, name) is not None for name in dedupe.__all__)\n"
              "assert dedupe.pipeline.Cleaner is dedupe.Cleaner\n")
    result = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert dedupe.resolve is resolve_function and dedupe.strip is strip_function


def test_every_public_name_that_is_also_a_module_stays_the_name():
    modules = {module.name for module in pkgutil.iter_modules(dedupe.__path__)}
    assert modules & set(dedupe.__all__) == dedupe._FUNCTIONS_OVER_MODULES


def test_every_public_name_is_exported_lazily():
    assert set(dedupe.__all__) == {"__version__", *dedupe._EXPORTS}


def test_workers_find_the_kernels_compiled_once_before_they_start(tmp_path):
    pytest.importorskip("numba")
    script = ("from dedupe.fingerprint import kernels_cached, warm_kernels\n"
              "cold = kernels_cached()\n"
              "warm_kernels()\n"
              "print(cold, kernels_cached())\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    assert out.stdout.split() == ["False", "True"]
    # a worker process now loads them without compiling: numba's cache holds them
    check = "from dedupe.fingerprint import kernels_cached\nprint(kernels_cached())\n"
    again = subprocess.run([sys.executable, "-c", check], check=True, capture_output=True, text=True, cwd=ROOT, env=env)
    assert again.stdout.split() == ["True"]


def test_the_command_line_loads_neither_scipy_nor_parquet_nor_the_compiler():
    assert not loaded_after("import dedupe.cli") & {"scipy", "pyarrow", "numba"}
