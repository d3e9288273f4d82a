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


@pytest.mark.parametrize("method", [pytest.param("dense", marks=pytest.mark.slow), "chebyshev"])
def test_stored_programs_reproduce_the_traced_charge(tmp_path, monkeypatch, method):
    model = qbjax.SpinChain(2, alpha=0.3, dm=0.4, omega=3.0)
    times = [0.0, 0.3, 0.9]
    traced = qbjax.charge(model, 1.2, times=times, method=method)
    monkeypatch.setattr(program_cache, "_directory", tmp_path / "programs")
    stored = qbjax.charge(model, 1.2, times=times, method=method)  # compiles and stores
    files = sorted((tmp_path / "programs").iterdir())
    assert len(files) == 2
    loaded = qbjax.charge(model, 1.2, times=times, method=method)  # loads the executables
    for name in FIELDS:
        expected = np.asarray(getattr(traced, name))
        for result in (stored, loaded):
            np.testing.assert_allclose(np.asarray(getattr(result, name)), expected, rtol=1e-12, atol=1e-12)


def test_a_damaged_program_is_recompiled_and_keys_separate_models(tmp_path):
    damaged = tmp_path / "damaged.prepare"
    damaged.write_bytes(b"not an executable")
    assert program_cache._load(damaged) is None
    assert program_cache._load(tmp_path / "missing.prepare") is None
    model = qbjax.SpinChain(2, alpha=0.3)
    keys = {program_cache._key(("charge", m, 1.0, 400, 3)) for m in (model, model.replace(alpha=0.5))}
    assert len(keys) == 2 and None not in keys
