"""The CLI's program cache: stored executables give exactly what tracing gives."""

import numpy as np
import pytest

import qbjax
from qbjax import program_cache

FIELDS = (
    "max_power",
    "t_max_power",
    "max_work",
    "t_max_work",
    "initial_energy",
    "work",
    "power",
    "ergotropy",
)


def test_stored_programs_reproduce_the_traced_charge(tmp_path, monkeypatch):
    model = qbjax.SpinChain(2, alpha=0.3, dm=0.4, omega=3.0)
    times = [0.0, 0.3, 0.9]
    traced = qbjax.charge(model, 1.2, times=times, method="chebyshev")
    monkeypatch.setattr(program_cache, "_directory", tmp_path / "programs")
    stored = qbjax.charge(model, 1.2, times=times, method="chebyshev")  # compiles and stores
    files = sorted((tmp_path / "programs").iterdir())
    assert len(files) == 2
    loaded = qbjax.charge(model, 1.2, times=times, method="chebyshev")  # loads the executables
    for name in FIELDS:
        expected = np.asarray(getattr(traced, name))
        for result in (stored, loaded):
            np.testing.assert_allclose(np.asarray(getattr(result, name)), expected, rtol=1e-12, atol=1e-12)


def test_programs_that_call_lapack_are_not_stored(tmp_path, monkeypatch):
    """A loaded executable calling a LAPACK kernel that a fresh process has not registered
    would crash that process; the dense engine's programs (eigh) are therefore not kept."""
    monkeypatch.setattr(program_cache, "_directory", tmp_path / "programs")
    result = qbjax.charge(qbjax.SpinChain(2, dm=0.4), 1.2, method="dense")
    assert not (tmp_path / "programs").exists()
    assert float(result.max_power) > 0


def test_a_damaged_program_is_recompiled_and_keys_separate_models(tmp_path):
    damaged = tmp_path / "damaged.prepare"
    damaged.write_bytes(b"not an executable")
    assert program_cache._load(damaged) is None
    assert program_cache._load(tmp_path / "missing.prepare") is None
    model = qbjax.SpinChain(2, alpha=0.3)
    keys = {program_cache._key(("charge", m, 1.0, 400, 3)) for m in (model, model.replace(alpha=0.5))}
    assert len(keys) == 2 and None not in keys


@pytest.mark.slow  # 6-8 s; test_stored_programs_reproduce_the_traced_charge runs by default
@pytest.mark.parametrize("method", ["dense", "chebyshev"])
def test_a_repeated_command_in_a_fresh_process_gives_the_same_json(tmp_path, method):
    """Stored programs are loaded by new processes (where a crash would show)."""
    import json
    import os
    import subprocess
    import sys

    argv = [sys.executable, "-m", "qbjax", "charge", "--n", "3", "--dm", "0.4", "--times", "0,0.2"]
    env = {**os.environ, "QBJAX_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([*argv, "--method", method, "--json"], env=env, capture_output=True, text=True)]
    runs.append(
        subprocess.run([*argv, "--method", method, "--json"], env=env, capture_output=True, text=True)
    )
    for run in runs:
        assert run.returncode == 0, run.stderr[-2000:]
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == second
    stored = list((tmp_path / "programs").glob("*")) if (tmp_path / "programs").exists() else []
    assert len(stored) == (2 if method == "chebyshev" else 0)


@pytest.mark.slow  # a rare path (JAX cache hit, stored files deleted); 15 s
def test_programs_stored_after_a_compilation_cache_hit_still_run(tmp_path):
    """A program whose compilation JAX's cache already held (the stored files were deleted)
    is compiled afresh before it is stored: an executable from JAX's cache, stored again,
    fails in the next process ('Function ... not found'), and switching JAX's cache off for
    one compilation has no effect once the process has compiled anything."""
    import json
    import os
    import shutil
    import subprocess
    import sys

    argv = [sys.executable, "-m", "qbjax", "charge", "--n", "3", "--dm", "0.4", "--method", "chebyshev"]
    env = {**os.environ, "QBJAX_CACHE_DIR": str(tmp_path)}

    def run():
        done = subprocess.run([*argv, "--json"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout)

    def stored():
        files = (tmp_path / "programs").iterdir()
        return {path.name: (path.stat().st_ino, path.stat().st_mtime_ns) for path in files}

    first = run()
    shutil.rmtree(tmp_path / "programs")  # JAX's compilation cache keeps both stages
    assert run() == first  # compiled again, stored
    written = stored()
    assert len(written) == 2
    assert run() == first  # loaded and called
    # not rewritten: a stored program that fails when called is deleted and stored anew, which
    # hid that such stored programs failed in every later process
    assert stored() == written


@pytest.mark.slow  # a damaged stored program; 9 s
def test_a_program_that_fails_when_called_is_compiled_again(tmp_path, monkeypatch):
    import jax

    class Broken:
        def __call__(self, *args):
            raise jax.errors.JaxRuntimeError("NOT_FOUND: Function wrapped_broadcast not found")

    model = qbjax.SpinChain(2, alpha=0.3, dm=0.4, omega=3.0)
    monkeypatch.setattr(program_cache, "_directory", tmp_path / "programs")
    stored = qbjax.charge(model, 1.2, method="chebyshev")
    assert len(list((tmp_path / "programs").iterdir())) == 2
    monkeypatch.setattr(program_cache, "_load", lambda path: Broken())
    again = qbjax.charge(model, 1.2, method="chebyshev")
    assert float(again.max_power) == float(stored.max_power)
    assert len(list((tmp_path / "programs").iterdir())) == 2  # deleted, then stored anew
