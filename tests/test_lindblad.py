"""Lindblad superoperators, evolution and steady states against QuTiP and exact results."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import needs_qutip
from optional_qutip import qutip as qt

from qbjax import ArgumentError, pauli_sum
from qbjax.kernels import lindblad as lb
from qbjax.open.steady import steady_state
from qbjax.operators.terms import dense


def _random_system(seed, d=4, n_jumps=3):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))
    h = (a + a.conj().T) / 2
    jumps = [0.4 * (rng.normal(size=(d, d)) + 1j * rng.normal(size=(d, d))) for _ in range(n_jumps)]
    return h, jumps


def test_vec_is_column_stacking():
    rho = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(lb.vec(rho), rho.flatten(order="F"))
    np.testing.assert_array_equal(lb.unvec(lb.vec(rho)), rho)


@needs_qutip
@pytest.mark.parametrize("seed", [0, 1])
def test_liouvillian_matches_qutip_and_rhs(seed):
    h, jumps = _random_system(seed)
    superop = np.asarray(lb.liouvillian(h, jumps))
    reference = qt.liouvillian(qt.Qobj(h), [qt.Qobj(j) for j in jumps]).full()
    np.testing.assert_allclose(superop, reference, atol=1e-13)
    x = np.random.default_rng(seed + 10).normal(size=(4, 4)) + 0j  # any matrix, not only states
    np.testing.assert_allclose(lb.apply_superop(superop, x), lb.lindblad_rhs(x, h, jumps), atol=1e-12)
    # trace preservation: vec(I)^T L = 0
    np.testing.assert_allclose(np.eye(4).flatten(order="F") @ superop, 0, atol=1e-12)


@needs_qutip
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_steady_state_matches_qutip(seed):
    h, jumps = _random_system(seed)
    rho = np.asarray(steady_state(lb.liouvillian(h, jumps)))
    reference = qt.steadystate(qt.Qobj(h), [qt.Qobj(j) for j in jumps]).full()
    np.testing.assert_allclose(rho, reference, atol=1e-10)
    assert lb.is_density_matrix(rho, atol=1e-12)


def test_qubit_thermalises_to_gibbs():
    omega, temp, gamma = 1.3, 0.7, 0.2
    n = 1 / np.expm1(omega / temp)
    h = 0.5 * omega * lb.SIGMA_Z
    jumps = [np.sqrt(gamma * (n + 1)) * lb.SIGMA_MINUS, np.sqrt(gamma * n) * lb.SIGMA_PLUS]
    rho = np.asarray(steady_state(lb.liouvillian(h, jumps)))
    weights = np.exp(-np.array([omega / 2, -omega / 2]) / temp)
    np.testing.assert_allclose(rho, np.diag(weights / weights.sum()), atol=1e-14)


def test_steady_state_gradient_matches_finite_differences():
    h, jumps = _random_system(7)

    def population(theta):
        theta = theta.astype(complex)
        superop = lb.liouvillian(
            h + theta * np.diag([1.0, 0, 0, -1.0]).astype(complex), [jumps[0] * (1 + theta), *jumps[1:]]
        )
        rho = steady_state(superop)
        return jnp.real(rho[0, 0]) + 2 * jnp.real(rho[1, 2])

    theta, eps = jnp.asarray(0.3), 1e-5
    values = jax.jit(jax.vmap(population))(jnp.stack([theta + eps, theta - eps]))
    fd = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(jax.jit(jax.grad(population))(theta), fd, rtol=1e-7)
    np.testing.assert_allclose(jax.jit(jax.jacfwd(population))(theta), fd, rtol=1e-7)


@needs_qutip
def test_dense_evolution_matches_mesolve_and_stays_physical():
    h, jumps = _random_system(11, n_jumps=2)
    rng = np.random.default_rng(12)
    psi = rng.normal(size=4) + 1j * rng.normal(size=4)
    rho0 = np.outer(psi, psi.conj()) / np.vdot(psi, psi)
    times = np.linspace(0, 3, 7)
    states = np.asarray(lb.evolve_dense(lb.liouvillian(h, jumps), rho0, times))
    reference = qt.mesolve(
        qt.Qobj(h), qt.Qobj(rho0), times, [qt.Qobj(j) for j in jumps], options={"atol": 1e-13, "rtol": 1e-11}
    )
    for rho, ref in zip(states, reference.states, strict=True):
        np.testing.assert_allclose(rho, ref.full(), atol=1e-9)
        assert lb.is_density_matrix(rho, atol=1e-10)


@pytest.mark.slow
def test_adaptive_solver_matches_exponential():
    h, jumps = _random_system(11, n_jumps=2)
    rho0 = np.diag([0.4, 0.3, 0.2, 0.1]).astype(complex)
    times = np.linspace(0, 3, 7)
    exact = lb.evolve_dense(lb.liouvillian(h, jumps), rho0, times)
    adaptive = lb.evolve(lambda r: lb.lindblad_rhs(r, h, jumps), rho0, times, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(adaptive, exact, atol=1e-8)


def test_chain_rhs_matches_dense_liouvillian():
    n = 3
    rng = np.random.default_rng(21)
    terms = [((0, "X"), (1, "X")), ((1, "Y"), (2, "Y")), ((0, "Z"),), ((2, "X"),), ((0, "X"), (1, "Y"))]
    h = pauli_sum(n, [(t, c) for t, c in zip(terms, rng.normal(size=len(terms)), strict=True)])
    chain = lb.chain_lindbladian(h, dephasing=0.3, damping=0.2, pumping=0.1)
    assert len(chain.sites) == 3 * n
    x = rng.normal(size=(8, 8)) + 1j * rng.normal(size=(8, 8))  # not Hermitian on purpose
    reference = lb.lindblad_rhs(x, dense(h), chain.jumps_dense())
    np.testing.assert_allclose(chain(jnp.asarray(x)), reference, atol=1e-12)


def test_bad_input_names_the_argument():
    h = pauli_sum(2, [(((0, "Z"),), 1.0)])
    with pytest.raises(ArgumentError, match="dephasing"):
        lb.chain_lindbladian(h, dephasing=-0.1)
    with pytest.raises(ArgumentError, match="damping"):
        lb.chain_lindbladian(h, damping=float("nan"))
    with pytest.raises(ArgumentError, match="n: must be <= 10"):
        lb.chain_lindbladian(pauli_sum(11, [(((0, "Z"),), 1.0)]))
    rho0 = np.diag([1.0, 0, 0, 0]) + 0j
    with pytest.raises(ArgumentError, match="times: must be sorted"):
        lb.evolve(lambda r: r, rho0, [0.0, 2.0, 1.0])
    with pytest.raises(ArgumentError, match="times: must be >= 0"):
        lb.evolve_dense(lb.liouvillian(np.eye(4)), rho0, [-1.0, 1.0])
    with pytest.raises(ArgumentError, match="superop"):
        steady_state(np.zeros((5, 5)))
