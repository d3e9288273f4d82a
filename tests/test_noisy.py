"""Noisy charging of spin chains: QuTiP mesolve reference, physicality, limits and trends."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import needs_qutip
from optional_qutip import qutip as qt

import qbjax
from qbjax import ArgumentError, noisy_charge
from qbjax.operators.terms import dense


def _qutip_work(battery, times, dephasing, damping):
    n = battery.n_sites
    dims = [[2] * n, [2] * n]
    h = qt.Qobj(np.asarray(dense(battery.charging)), dims=dims)
    h0 = np.asarray(dense(battery.energy))
    ops = []
    for k in range(n):
        for op, rate in ((qt.sigmaz(), dephasing), (qt.sigmam(), damping)):
            factors = [qt.qeye(2)] * n
            factors[k] = op
            ops.append(np.sqrt(rate) * qt.tensor(factors))
    psi0 = qt.Qobj(np.asarray(battery.initial_state()), dims=[[2] * n, [1] * n])
    result = qt.mesolve(h, psi0, times, ops, options={"atol": 1e-12, "rtol": 1e-10})
    energies = np.array([np.trace(s.full() @ h0).real for s in result.states])
    return energies - energies[0], [s.full() for s in result.states]


@needs_qutip
def test_noisy_chain_matches_mesolve_and_stays_physical():
    rng = np.random.default_rng(2026)
    g, alpha, dm, omega = rng.uniform(0.3, 1.2), rng.uniform(-1, 1), rng.uniform(0, 0.5), rng.uniform(1, 3)
    dephasing, damping = rng.uniform(0.02, 0.3, size=2)
    battery = qbjax.spin_chain_battery(3, g=g, alpha=alpha, dm=dm, omega=omega)
    times = np.linspace(0, 2.0, 11)
    result = noisy_charge(battery, times, dephasing=dephasing, damping=damping)  # rtol 1e-8, atol 1e-10
    work, states = _qutip_work(battery, times, dephasing, damping)
    np.testing.assert_allclose(result.work, work, atol=1e-7)
    h0 = np.asarray(dense(battery.energy))
    ergo = [float(qbjax.ergotropy(s, h0)) for s in states]
    np.testing.assert_allclose(result.ergotropy, ergo, atol=1e-7)
    np.testing.assert_allclose(result.trace, 1.0, atol=1e-10)
    assert np.all(np.asarray(result.min_eigenvalue) > -1e-9)
    np.testing.assert_allclose(result.power[1:], result.work[1:] / times[1:])


@pytest.mark.slow  # a physics trend; the mesolve comparison checks the numbers by default
def test_noise_reduces_power_and_ergotropy():
    # same model structure and grid length as the mesolve test, so the compiled solver is reused
    battery = qbjax.spin_chain_battery(3, g=0.8, alpha=0.5, dm=0.2, omega=2.0)
    times = np.linspace(0, 2.0, 11)
    runs = [noisy_charge(battery, times, dephasing=rate, damping=rate) for rate in (0.01, 0.2, 1.0)]
    p_max = [float(r.max_power) for r in runs]
    e_max = [float(r.max_ergotropy) for r in runs]
    assert p_max[0] > p_max[1] > p_max[2] > 0
    assert e_max[0] > e_max[1] > e_max[2]
    for r in runs:
        np.testing.assert_allclose(r.trace, 1.0, atol=1e-9)
        assert np.all(np.asarray(r.min_eigenvalue) > -1e-9)


@pytest.mark.slow
def test_zero_noise_matches_closed_system_charging():
    battery = qbjax.spin_chain_battery(2, g=1.0, alpha=0.5, omega=2.0)
    times = np.linspace(0, np.pi / 2, 41)
    clean = noisy_charge(battery, times, rtol=1e-10, atol=1e-12)
    pure = qbjax.charge(battery, np.pi / 2, times=times)  # closed-system propagator, pure states
    np.testing.assert_allclose(clean.work, pure.work, atol=1e-8)
    np.testing.assert_allclose(clean.ergotropy, pure.ergotropy, atol=1e-8)


@pytest.mark.slow
def test_noisy_work_gradient_matches_finite_differences():
    battery = qbjax.spin_chain_battery(2, g=0.8, alpha=0.3, omega=1.5)
    times = jnp.asarray([0.0, 0.7])

    @jax.jit
    def final_work(rate):
        return noisy_charge(battery, times, dephasing=rate, damping=0.1, rtol=1e-11, atol=1e-13).work[-1]

    rate, eps = jnp.asarray(0.3), 1e-5
    fd = (final_work(rate + eps) - final_work(rate - eps)) / (2 * eps)
    np.testing.assert_allclose(jax.grad(final_work)(rate), fd, rtol=1e-6)


def test_bad_input_names_the_argument():
    battery = qbjax.spin_chain_battery(2)
    with pytest.raises(ArgumentError, match=r"^dephasing: must be >= 0"):
        noisy_charge(battery, [0.0, 1.0], dephasing=-0.1)
    with pytest.raises(ArgumentError, match=r"^damping: must be finite"):
        noisy_charge(battery, [0.0, 1.0], damping=float("nan"))
    with pytest.raises(ArgumentError, match=r"^times: must be sorted"):
        noisy_charge(battery, [1.0, 0.5])
    with pytest.raises(ArgumentError, match=r"^times: must be >= 0"):
        noisy_charge(battery, [-1.0, 0.5])
    with pytest.raises(ArgumentError, match=r"^n: must be <= 10"):
        noisy_charge(qbjax.spin_chain_battery(11), [0.0, 1.0])


@pytest.mark.slow
def test_eight_site_chain_runs_and_stays_physical():
    battery = qbjax.spin_chain_battery(8, g=1.0, alpha=0.5, omega=2.0)
    result = noisy_charge(battery, np.linspace(0, 0.5, 3), dephasing=0.1, damping=0.1)  # default tolerances
    np.testing.assert_allclose(result.trace, 1.0, atol=1e-9)
    # explicit Runge-Kutta steps keep positivity only to the local error: small eigenvalues of a
    # nearly pure state may dip below zero by about rtol
    assert np.all(np.asarray(result.min_eigenvalue) > -1e-8)
    assert float(result.work[-1]) > 0
