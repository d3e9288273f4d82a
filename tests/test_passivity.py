"""Ergotropy, passive energy and capacity against their definitions."""

import numpy as np
import pytest
from scipy.linalg import expm

import qbjax


def random_density_matrix(d, rng):
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    rho = a @ a.conj().T
    return rho / np.trace(rho).real


def random_hamiltonian(d, rng):
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    return (a + a.conj().T) / 2


@pytest.mark.parametrize("d", [2, 3, 4])
def test_passive_state_is_reached_by_the_optimal_unitary_and_no_unitary_beats_it(d):
    rng = np.random.default_rng(d)
    rho, h = random_density_matrix(d, rng), random_hamiltonian(d, rng)
    _, u_rho = np.linalg.eigh(rho)
    _, u_h = np.linalg.eigh(h)
    # optimal unitary: largest population to lowest energy
    unitary = u_h @ u_rho[:, ::-1].conj().T
    passive = unitary @ rho @ unitary.conj().T
    assert float(qbjax.passive_energy(rho, h)) == pytest.approx(np.trace(passive @ h).real, abs=1e-12)
    energy = np.trace(rho @ h).real
    assert float(qbjax.ergotropy(rho, h)) == pytest.approx(energy - np.trace(passive @ h).real, abs=1e-12)
    # capacity = highest minus lowest energy over the unitary orbit
    active = u_h @ u_rho.conj().T
    highest = np.trace(active @ rho @ active.conj().T @ h).real
    assert float(qbjax.capacity(rho, h)) == pytest.approx(highest - np.trace(passive @ h).real, abs=1e-12)
    for _ in range(200):  # random unitaries never go below the passive energy or above the active one
        v = expm(1j * random_hamiltonian(d, rng))
        orbit_energy = np.trace(v @ rho @ v.conj().T @ h).real
        assert np.trace(passive @ h).real - 1e-12 <= orbit_energy <= highest + 1e-12


def test_pure_state_ergotropy_and_capacity():
    rng = np.random.default_rng(7)
    h = random_hamiltonian(4, rng)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    psi /= np.linalg.norm(psi)
    e = np.linalg.eigvalsh(h)
    mean = np.real(psi.conj() @ h @ psi)
    assert float(qbjax.ergotropy(psi, h)) == pytest.approx(mean - e[0], abs=1e-12)
    assert float(qbjax.ergotropy(np.outer(psi, psi.conj()), h)) == pytest.approx(mean - e[0], abs=1e-12)
    assert float(qbjax.capacity(psi, h)) == pytest.approx(e[-1] - e[0], abs=1e-12)


def test_maximally_mixed_and_thermal_states_are_passive():
    h = np.diag([0.0, 1.0, 2.5])
    assert float(qbjax.ergotropy(np.eye(3) / 3, h)) == pytest.approx(0, abs=1e-14)
    assert float(qbjax.capacity(np.eye(3) / 3, h)) == pytest.approx(0, abs=1e-14)
    thermal = np.diag(np.exp(-np.diag(h)))
    thermal /= np.trace(thermal)
    assert float(qbjax.ergotropy(thermal, h)) == pytest.approx(0, abs=1e-14)


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="state"):
        qbjax.ergotropy(np.ones(3) / 3, np.eye(2))
    with pytest.raises(ValueError, match="h"):
        qbjax.capacity(np.eye(2) / 2, np.ones((2, 3)))
