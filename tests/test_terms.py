"""Pauli-term structure: dense matrices against explicit Kronecker products."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import pauli_string

import qbjax
from qbjax.operators.terms import apply, diagonal, expectation, is_diagonal, norm_bound


def random_sum(n, n_terms, seed):
    rng = np.random.default_rng(seed)
    weighted = []
    for _ in range(n_terms):
        sites = rng.choice(n, size=rng.integers(1, min(n, 3) + 1), replace=False)
        term = tuple((int(s), str(rng.choice(list("XYZ")))) for s in sorted(sites))
        weighted.append((term, float(rng.normal())))
    return qbjax.pauli_sum(n, weighted), weighted


@pytest.mark.parametrize(("n", "seed"), [(1, 0), (3, 1), (5, 2)])
def test_dense_and_apply_match_kronecker_products(n, seed):
    h, weighted = random_sum(n, 12, seed)
    expected = sum(c * pauli_string(n, term).toarray() for term, c in weighted)
    np.testing.assert_allclose(np.asarray(qbjax.dense(h)), expected, atol=1e-13)
    psi = np.random.default_rng(seed).normal(size=2**n) + 1j * np.random.default_rng(seed + 9).normal(
        size=2**n
    )
    np.testing.assert_allclose(np.asarray(apply(h, jnp.asarray(psi))), expected @ psi, atol=1e-12)
    assert float(expectation(h, jnp.asarray(psi))) == pytest.approx(np.real(psi.conj() @ expected @ psi))
    assert float(norm_bound(h)) >= np.max(np.abs(np.linalg.eigvalsh(expected))) - 1e-12


def test_basis_convention_matches_qutip_order():
    """Site 0 is the most significant bit; bit 0 is up (sz = +1); all-down is the last state."""
    h = qbjax.pauli_sum(2, [(((0, "Z"),), 1.0)])
    np.testing.assert_allclose(np.diag(np.asarray(qbjax.dense(h))), [1, 1, -1, -1])
    battery = qbjax.spin_chain_battery(3)
    psi = np.asarray(battery.initial_state())
    assert psi[-1] == 1 and np.sum(np.abs(psi)) == 1


def test_real_structure_gives_real_matrix_and_dm_makes_it_complex():
    real = qbjax.spin_chain_battery(3, alpha=0.5)
    assert real.charging.is_real and not jnp.iscomplexobj(qbjax.dense(real.charging))
    with_dm = qbjax.spin_chain_battery(3, alpha=0.5, dm=0.2)
    assert not with_dm.charging.is_real and jnp.iscomplexobj(qbjax.dense(with_dm.charging))


def test_concrete_zeros_are_dropped_but_traced_zeros_are_kept():
    """D = 0 given as a number drops the DM terms; under jax.grad the terms stay (d/dD at 0)."""
    n_terms = len(qbjax.spin_chain_battery(3, dm=0.0).charging.terms)
    assert len(qbjax.spin_chain_battery(3, dm=0.5).charging.terms) == n_terms + 4

    def count(dm):
        battery = qbjax.spin_chain_battery(3, dm=dm)
        count.value = len(battery.charging.terms)
        return jnp.sum(battery.charging.coeffs)

    jax.grad(count)(0.0)
    assert count.value == n_terms + 4


def test_diagonal_fast_path():
    battery = qbjax.spin_chain_battery(4, alpha=0.0, field=0.7)
    assert is_diagonal(battery.energy) and not is_diagonal(battery.charging)
    np.testing.assert_allclose(
        np.asarray(diagonal(battery.energy)), np.diag(np.asarray(qbjax.dense(battery.energy)))
    )
    dense_ground = np.linalg.eigvalsh(np.asarray(qbjax.dense(battery.energy)))[0]
    assert float(qbjax.ground_energy(battery.energy)) == pytest.approx(dense_ground)
    assert float(qbjax.ground_energy(battery.energy)) == pytest.approx(-4 * 0.7 - 3 * 1.0)


def test_couplings():
    nn = qbjax.couplings(5, "nn", 2.0, periodic=True)
    assert nn.pairs == ((0, 1), (1, 2), (2, 3), (3, 4), (4, 0))  # the ring closes 4 -> 0
    assert float(nn.total) == 10.0
    lr = qbjax.couplings(4, "lr", 1.0, 2.0)
    np.testing.assert_allclose(np.asarray(lr.strengths), [1, 1 / 4, 1 / 9, 1, 1 / 4, 1])
    infinite_range = qbjax.couplings(4, "lr", 1.5, 0.0)
    np.testing.assert_allclose(np.asarray(infinite_range.strengths), 1.5)


def test_initial_energy_is_the_ferromagnetic_ground_energy():
    """E0 = -N B - sum_{i<j} g_ij (paper eq. 5), and ergotropy of the initial state is 0."""
    battery = qbjax.spin_chain_battery(5, coupling="lr", g=0.8, p=1.0, alpha=0.4, field=1.3)
    result = qbjax.charge(battery, 1.0, times=[0.0])
    total = float(qbjax.couplings(5, "lr", 0.8, 1.0).total)
    assert float(result.initial_energy) == pytest.approx(-5 * 1.3 - total, rel=1e-12)
    assert float(result.ground_energy) == pytest.approx(-5 * 1.3 - total, rel=1e-12)
    assert abs(float(result.ergotropy[0])) < 1e-12
