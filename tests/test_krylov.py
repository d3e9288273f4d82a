"""Krylov engine: analytic systems, the dense engine, SciPy expm_multiply, gradients, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse.linalg
from reference import xxz_dm_chain

import qbjax
from qbjax import _checks
from qbjax.engines import choose
from qbjax.kernels.krylov import check_krylov_fits, evolve_krylov, krylov_memory_bytes, spectral_width


def charge_krylov(battery, t_max, *, times=None, **options):
    return qbjax.charge(battery, t_max, times=times, method=qbjax.Krylov(**options))


def charge_model(model, t_max, method):
    result = qbjax.charge(qbjax.SpinChain.of(model), t_max, method=method)
    return result, result.method


X_STAR = 1.165561  # tan x = 2x: single-spin T* omega
SIN2_OVER_X = 0.724611


@pytest.fixture(scope="module")
def lr_chain():
    return qbjax.spin_chain_battery(6, coupling="lr", g=0.9, p=1.2, alpha=0.3, dm=0.6, field=1.1, omega=2.7)


@pytest.fixture(scope="module")
def lr_results(lr_chain):
    times = jnp.linspace(0.0, 2.5, 11)
    return charge_krylov(lr_chain, 2.0, times=times), qbjax.charge(lr_chain, 2.0, times=times)


def test_single_spin_is_analytic():
    b, omega = 1.3, 2.0
    battery = qbjax.spin_chain_battery(1, field=b, omega=omega)
    times = jnp.linspace(0.0, 3.0, 7)
    result = charge_krylov(battery, 2 * np.pi / omega, times=times)
    np.testing.assert_allclose(
        np.asarray(result.work), 2 * b * np.sin(omega * np.asarray(times)) ** 2, atol=1e-11
    )
    np.testing.assert_allclose(float(result.t_max_power), X_STAR / omega, rtol=1e-6)
    np.testing.assert_allclose(float(result.max_power), 2 * SIN2_OVER_X * omega * b, rtol=1e-6)


def test_xxx_chain_charges_like_independent_spins():
    """alpha = 1, D = 0: V commutes with H_int; the Krylov space from |down...down> is tiny (breakdown)."""
    n, b, omega = 5, 0.8, 3.0
    battery = qbjax.spin_chain_battery(n, coupling="lr", g=1.4, p=0.7, alpha=1.0, field=b, omega=omega)
    times = jnp.array([0.0, 0.2, 0.45, 1.1])
    work = charge_krylov(battery, 1.0, times=times).work
    np.testing.assert_allclose(
        np.asarray(work), n * 2 * b * np.sin(omega * np.asarray(times)) ** 2, atol=1e-10
    )


def test_charge_agrees_with_dense(lr_results):
    krylov, dense = lr_results
    for name in ("max_power", "t_max_power", "max_work", "t_max_work", "initial_energy", "ground_energy"):
        np.testing.assert_allclose(
            float(getattr(krylov, name)), float(getattr(dense, name)), atol=1e-9, rtol=0
        )
    for name in ("work", "power", "ergotropy"):
        np.testing.assert_allclose(
            np.asarray(getattr(krylov, name)), np.asarray(getattr(dense, name)), atol=1e-9
        )
    assert 0.0 <= float(krylov.error_estimate) < 1e-10


def test_states_agree_with_dense_in_both_precisions(lr_chain):
    times = jnp.array([0.0, 0.3, 1.7, 4.0])
    expected = np.asarray(qbjax.evolve(lr_chain.charging, lr_chain.initial_state(), times))
    run = evolve_krylov(lr_chain.charging, lr_chain.initial_state(), times)
    assert run.states.shape == (4, 64) and run.states.dtype == jnp.complex128
    np.testing.assert_allclose(np.asarray(run.states), expected, atol=1e-10)
    single = evolve_krylov(lr_chain.charging, lr_chain.initial_state(), times, dtype=jnp.complex64, tol=1e-5)
    assert single.states.dtype == jnp.complex64
    assert np.max(np.abs(np.asarray(single.states) - expected)) < 1e-4


def test_spectral_width_estimate_brackets_the_spectrum(lr_chain):
    evals = np.linalg.eigvalsh(np.asarray(qbjax.dense(lr_chain.charging)))
    width = spectral_width(lr_chain.charging)
    assert evals[-1] - evals[0] <= width <= 1.2 * (evals[-1] - evals[0])


def _model(x):
    return qbjax.spin_chain_battery(3, g=x[0], alpha=x[1], dm=x[2], field=1.0, omega=x[3])


def _charge_objective(x):
    result = charge_krylov(_model(x), 1.0, times=np.array([0.4, 0.9]), spectral_width=40.0)
    return result.work[1] + result.max_power + result.ergotropy[0]


def _work_objective(x):
    work = qbjax.work(_model(x), np.array([0.4, 0.9]), method=qbjax.Krylov(spectral_width=40.0))
    return work[0] + 2.0 * work[1]


def _check_against_differences(objective, x0):
    x = jnp.asarray(x0)
    grad = np.asarray(jax.grad(objective)(x))
    assert np.all(np.isfinite(grad))
    h = 1e-5
    # jit: one compiled objective for every point (traced D keeps the D term at D = 0 too)
    compiled = jax.jit(objective)
    diffs = [(compiled(x.at[i].add(h)) - compiled(x.at[i].add(-h))) / (2 * h) for i in range(4)]
    np.testing.assert_allclose(grad, np.asarray(diffs), atol=2e-6, rtol=1e-6)


# the generic point is slow-marked: the degenerate one (XXX, D = 0) is the harder check
POINTS = pytest.mark.parametrize(
    "x0",
    [pytest.param([0.9, 0.3, 0.4, 2.5], marks=pytest.mark.slow), [1.0, 1.0, 0.0, 2.5]],
    ids=["generic", "xxx-d0"],
)


@POINTS
def test_work_gradient_matches_central_differences(x0):
    """Reversible adjoint through the march and the in-block spectral rule."""
    _check_against_differences(_work_objective, x0)


@pytest.mark.slow
@POINTS
def test_charge_gradient_matches_central_differences(x0):
    """Also the envelope theorem at T* and the Hellmann-Feynman ground energy."""
    _check_against_differences(_charge_objective, x0)


@pytest.mark.slow
def test_state_gradient_memory_free_adjoint_matches_dense():
    battery = qbjax.spin_chain_battery(4, alpha=0.4, dm=0.2)
    times = jnp.array([0.5, 1.3])
    probe = jnp.asarray(np.random.default_rng(3).normal(size=16))

    def loss(g, engine):
        b = qbjax.spin_chain_battery(4, g=g, alpha=0.4, dm=0.2)
        if engine == "krylov":
            states = evolve_krylov(b.charging, b.initial_state(), times, spectral_width=50.0).states
        else:
            states = qbjax.evolve(b.charging, b.initial_state(), times)
        return jnp.sum(jnp.abs(states) ** 2 @ probe) + jnp.real(jnp.sum(states[:, 3]))

    del battery
    np.testing.assert_allclose(
        float(jax.grad(loss)(1.2, "krylov")), float(jax.grad(loss)(1.2, "dense")), rtol=1e-8, atol=1e-9
    )


def test_lowest_ritz_value_reads_only_the_active_block():
    # Sturm bisection on the leading m x m block of padded coefficients, against LAPACK;
    # includes a decoupled block (a zero beta), a constant diagonal and m not a block multiple
    from qbjax.kernels.ground_state import _lowest_ritz_value

    rng = np.random.default_rng(7)
    for m, scale, shift in [(1, 1.0, 0.0), (16, 1e-3, 0.0), (23, 1.0, -40.0), (48, 1e3, 5e3), (64, 1.0, 0.0)]:
        alpha = rng.normal(size=64) * scale + shift
        beta = np.abs(rng.normal(size=64)) * scale
        if m == 23:
            beta[10] = 0.0
        if m == 64:
            alpha[:] = 0.0
        t_m = np.diag(alpha[:m]) + np.diag(beta[: m - 1], 1) + np.diag(beta[: m - 1], -1)
        exact = np.linalg.eigvalsh(t_m)
        got = float(_lowest_ritz_value(jnp.asarray(alpha), jnp.asarray(beta), jnp.int32(m)))
        assert abs(got - exact[0]) <= 4e-15 * np.max(np.abs(exact)), (m, got, exact[0])


def test_bad_options_name_the_argument(lr_chain):
    cases = [
        (dict(krylov_dim=1), "krylov_dim"),
        (dict(tol=1e-20), "tol"),
        (dict(tol=1e-7, dtype=jnp.complex64), "tol"),
        (dict(dtype=jnp.float64), "dtype"),
        (dict(spectral_width=-1.0), "spectral_width"),
        (dict(times=[0.5, 0.1]), "times"),
    ]
    for options, argument in cases:
        with pytest.raises(qbjax.ArgumentError) as error:
            charge_krylov(lr_chain, 1.0, **options)
        assert error.value.argument == argument
    with pytest.raises(qbjax.ArgumentError) as error:
        jax.grad(lambda g: charge_krylov(qbjax.spin_chain_battery(3, g=g), 1.0).max_power)(1.0)
    assert error.value.argument == "spectral_width"


def test_memory_guard_refuses_before_allocating(monkeypatch):
    monkeypatch.setattr(_checks, "available_memory_bytes", lambda: 2**30)
    with pytest.raises(qbjax.ArgumentError) as error:
        check_krylov_fits(24)
    assert error.value.argument == "n"
    n_max = int(error.value.reason.rsplit("<= ", 1)[1])
    # the smallest march (Krylov dimension 4, Gram batch 1) is what must fit
    assert (
        krylov_memory_bytes(n_max, 4, gram_batch=1) <= 2**30 < krylov_memory_bytes(n_max + 1, 4, gram_batch=1)
    )
    with pytest.raises(qbjax.ArgumentError, match="krylov"):
        charge_model(dict(n=30), 1.0, method="krylov")


def test_a_memory_budget_plans_a_smaller_basis_with_the_same_numbers():
    chain = qbjax.SpinChain(9, alpha=0.3, dm=0.7)
    state = 16 * 2**9
    wide = qbjax.Krylov().plan(chain, 0.5)
    lean = qbjax.Krylov(memory=24 * state).plan(chain, 0.5)
    assert wide.krylov_dim == 40 and lean.krylov_dim < 40 and lean.blocks > wide.blocks
    assert lean.memory_bytes(chain) <= 24 * state < wide.memory_bytes(chain)
    times = np.linspace(0.0, 0.5, 6)
    a, b = (qbjax.energy_curve(chain, 0.5, method=engine).energy(times) for engine in (wide, lean))
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-9, rtol=0)
    with pytest.raises(qbjax.ArgumentError, match="memory"):
        qbjax.Krylov(memory=8 * state).plan(chain, 0.5)


def test_method_choice_and_registry():
    assert choose(qbjax.SpinChain(8)).name == "dense"
    assert choose(qbjax.SpinChain(16)).name == "chebyshev"  # measured faster than Krylov (issue 12)
    with pytest.raises(qbjax.ArgumentError) as error:
        charge_model(dict(n=3), 1.0, method="lanczos")
    assert error.value.argument == "method" and "krylov" in error.value.reason


@pytest.mark.slow  # 7 s; the CLI JSON contract is checked for dense and Chebyshev by default
def test_cli_json_has_the_dense_keys_plus_the_error_estimate(capsys):
    import json

    from qbjax.app.cli import main

    argv = ["charge", "--n", "3", "--dm", "0.5", "--times", "0,0.3", "--json"]
    assert main([*argv, "--method", "dense"]) == 0
    dense = json.loads(capsys.readouterr().out)
    assert main([*argv, "--method", "krylov"]) == 0
    krylov = json.loads(capsys.readouterr().out)
    assert set(krylov) == set(dense) | {"error_estimate"}
    assert krylov["method"] == "krylov"
    np.testing.assert_allclose(krylov["work"], dense["work"], atol=1e-9)


def _sparse_reference(n, times):
    h, h0 = xxz_dm_chain(n, 1.0, 0.3, 0.5, 1.0, 4.0)
    psi0 = np.zeros(2**n, complex)
    psi0[-1] = 1.0
    states = scipy.sparse.linalg.expm_multiply(-1j * h, psi0, start=0.0, stop=times[-1], num=len(times))
    energies = np.real(np.einsum("ti,ti->t", states.conj(), (h0 @ states.T).T))
    return states, energies - energies[0]


@pytest.mark.slow
@pytest.mark.parametrize("n", [14, 15, 16])
def test_large_chains_agree_with_expm_multiply(n):
    times = np.linspace(0.0, 0.8, 5)
    states, work = _sparse_reference(n, times)
    battery = qbjax.spin_chain_battery(n, g=1.0, alpha=0.3, dm=0.5, field=1.0, omega=4.0)
    result = charge_krylov(battery, 0.8, times=jnp.asarray(times))
    np.testing.assert_allclose(np.asarray(result.work), work, atol=1e-9)
    run = evolve_krylov(battery.charging, battery.initial_state(), jnp.asarray(times))
    np.testing.assert_allclose(np.asarray(run.states), states, atol=1e-9)


@pytest.mark.slow  # a benchmark script, not the engine: the slow run keeps it working
def test_benchmark_smoke_run(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_krylov.py"
    out = tmp_path / "krylov.json"
    run = subprocess.run(
        [sys.executable, str(script), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(out.read_text())
    assert results["curve"][0]["qbjax_error"] < 1e-9  # against expm_multiply
    assert results["curve"][0]["qutip_error"] < 1e-9
    assert results["matvec"][0]["complex128"]["bytes"] > 0


def test_speed_limit_from_the_blocks_agrees_with_the_spectrum():
    # the overlap <psi_0|psi_t> and Delta E = beta_1 come from the march's own blocks; the dense
    # curve takes them from the charging spectrum. Several blocks: t reaches past the first.
    model = qbjax.SpinChain(6, coupling="lr", p=1.0, alpha=0.4, dm=0.7, omega=2.0)
    t_end = 6.0
    engine = qbjax.Krylov().plan(model, t_end)
    assert engine.blocks > 2
    krylov = engine.prepare(model.battery(), jnp.asarray(t_end))
    dense = qbjax.Dense().plan(model, t_end).prepare(model.battery(), jnp.asarray(t_end))
    for t in (0.0, 0.37, 2.9, t_end):
        overlap, spread = (float(x) for x in krylov.speed_limit(t))
        want_overlap, want_spread = (float(x) for x in dense.speed_limit(t))
        assert overlap == pytest.approx(want_overlap, abs=1e-9)
        assert spread == pytest.approx(want_spread, rel=1e-12)
    assert 0.0 < overlap < 0.99  # the state has moved, so the check is not of 1 against 1
    result = qbjax.charge(model, t_end, method="krylov")
    assert result.method == "krylov"
    assert float(result.qsl_bound) == pytest.approx(
        float(qbjax.charge(model, t_end, method="dense").qsl_bound), rel=1e-9
    )
