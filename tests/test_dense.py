"""Dense propagators: invariants, the two paths against each other, the memory guard."""

import jax.numpy as jnp
import numpy as np
import pytest
from reference import xxz_dm_chain
from scipy.sparse.linalg import expm_multiply

import qbjax
from qbjax.kernels.dense import check_dense_fits, dense_memory_bytes


@pytest.fixture(scope="module")
def chain():
    return qbjax.spin_chain_battery(4, coupling="lr", g=0.9, p=1.2, alpha=0.3, dm=0.6, field=1.1, omega=2.7)


def test_norm_and_charging_energy_are_conserved(chain):
    times = jnp.linspace(0.0, 3.0, 13)
    states = qbjax.evolve(chain.charging, chain.initial_state(), times)
    np.testing.assert_allclose(np.linalg.norm(np.asarray(states), axis=1), 1.0, atol=1e-13)
    h = np.asarray(qbjax.dense(chain.charging))
    energies = np.real(np.einsum("ti,ij,tj->t", np.asarray(states).conj(), h, np.asarray(states)))
    np.testing.assert_allclose(energies, energies[0], atol=1e-12)


def test_spectral_and_expm_paths_agree(chain):
    times = jnp.array([0.0, 0.37, 1.9])
    spectral = qbjax.evolve(chain.charging, chain.initial_state(), times)
    expm = qbjax.evolve_expm(chain.charging, chain.initial_state(), times)
    np.testing.assert_allclose(np.asarray(spectral), np.asarray(expm), atol=1e-12)


def test_power_at_zero_is_the_initial_rate_and_work_is_quadratic():
    """W(t) = <[H,[H0,H]]> t^2 / 2 + O(t^3) = (2BN + 4(1 - alpha)G) omega^2 t^2 + O(t^3)."""
    battery = qbjax.spin_chain_battery(3, alpha=0.2, g=1.0, field=1.0, omega=4.0)
    t = 1e-5
    power = np.asarray(qbjax.power(battery, [0.0, t]))
    assert power[0] == 0.0  # |down...down> is an eigenstate of H0: dW/dt(0) = 0
    curvature = (2 * 1.0 * 3 + 4 * (1 - 0.2) * 2.0) * 4.0**2
    assert power[1] / t == pytest.approx(curvature, rel=1e-3)


def test_memory_guard_refuses_before_allocating():
    assert dense_memory_bytes(12) == 7 * 16 * 4**12  # seven complex d x d matrices at the peak
    with pytest.raises(ValueError, match=r"^n: n = 20 needs about .* allowed range here is 1 <= n <= \d+"):
        check_dense_fits(20)
    battery = qbjax.spin_chain_battery(20)  # building the model is cheap: no matrices yet
    with pytest.raises(ValueError, match=r"^n: "):
        qbjax.charge(battery, 1.0, method="dense")


@pytest.mark.parametrize(
    ("n", "dm"), [(10, 0.7), pytest.param(12, 0.0, marks=pytest.mark.slow, id="12-real-slow")]
)
def test_large_chains_match_scipy_expm_multiply(n, dm):
    """Up to the dense method's range: W(t) against a Taylor-series propagator on sparse matrices."""
    g, alpha, field, omega = 1.0, 0.3, 1.0, 4.0
    battery = qbjax.spin_chain_battery(n, g=g, alpha=alpha, dm=dm, field=field, omega=omega)
    h_charge, h0 = xxz_dm_chain(n, g, alpha, dm, field, omega)
    psi0 = np.zeros(2**n, dtype=complex)
    psi0[-1] = 1.0
    states = expm_multiply(-1j * h_charge, psi0, start=0.0, stop=1.5, num=16, endpoint=True)
    energies = np.real(np.einsum("ti,ti->t", states.conj(), (h0 @ states.T).T))
    times = np.linspace(0.0, 1.5, 16)
    np.testing.assert_allclose(np.asarray(qbjax.work(battery, times)), energies - energies[0], atol=1e-9)
