"""Matrix-free H @ psi against the dense matrix and an independent SciPy reference."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from reference import xxz_dm_chain

import qbjax
from qbjax.operators.matfree import matfree, matvec_bytes
from qbjax.operators.terms import dense, expectation

MODELS = {
    "lr-dm": dict(coupling="lr", p=1.2, alpha=0.3, dm=0.6, protocol="add"),
    "nn-periodic-dm-vector": dict(alpha=0.7, dm=jnp.array([0.2, -0.3, 0.5]), periodic=True, protocol="add"),
    "ising-replace": dict(),
}


@eqx.filter_jit
def _apply(h, psi):
    # one compiled program: eager mode would compile every primitive separately
    return matfree(h)(psi)


def _state(n, seed=0):
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return jnp.asarray(psi / np.linalg.norm(psi))


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("n", [1, 5])
def test_matfree_equals_the_dense_matrix(name, n):
    battery = qbjax.spin_chain_battery(n, g=0.9, field=1.1, omega=2.7, **MODELS[name])
    psi = _state(n)
    expected = np.asarray(dense(battery.charging)) @ np.asarray(psi)
    got = _apply(battery.charging, psi)
    assert got.dtype == jnp.complex128
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-13)


def test_groups_beyond_one_fused_loop_give_the_same_product():
    # lr, N = 8: 28 bond groups and 8 field groups, more than one loop holds on the CPU
    from qbjax.operators.matfree import CPU_FUSED_GROUPS

    battery = qbjax.spin_chain_battery(8, coupling="lr", p=0.7, alpha=0.3, dm=0.6, protocol="add")
    assert matfree(battery.charging).n_groups > CPU_FUSED_GROUPS
    psi = _state(8, seed=2)
    expected = np.asarray(dense(battery.charging)) @ np.asarray(psi)
    np.testing.assert_allclose(np.asarray(_apply(battery.charging, psi)), expected, atol=1e-12)


def test_matfree_matches_an_independent_sparse_chain():
    h_ref, h0_ref = xxz_dm_chain(7, 0.8, 0.4, 0.5, 1.3, 3.0)
    battery = qbjax.spin_chain_battery(7, g=0.8, alpha=0.4, dm=0.5, field=1.3, omega=3.0)
    psi = _state(7, seed=1)
    np.testing.assert_allclose(np.asarray(_apply(battery.charging, psi)), h_ref @ np.asarray(psi), atol=1e-12)
    np.testing.assert_allclose(np.asarray(_apply(battery.energy, psi)), h0_ref @ np.asarray(psi), atol=1e-12)


def test_complex64_product_has_single_precision_error():
    battery = qbjax.spin_chain_battery(6, coupling="lr", alpha=0.3, dm=0.6)
    psi = _state(6)
    expected = np.asarray(dense(battery.charging)) @ np.asarray(psi)
    got = _apply(battery.charging, psi.astype(jnp.complex64))
    assert got.dtype == jnp.complex64
    error = np.max(np.abs(np.asarray(got) - expected)) / np.max(np.abs(expected))
    assert 1e-9 < error < 1e-5  # single precision, not silently double


def test_batched_coefficients_and_gradient_through_the_product():
    psi = _state(4)

    def energy(g):
        return jnp.real(
            jnp.vdot(psi, matfree(qbjax.spin_chain_battery(4, g=g, alpha=0.5, dm=0.3).charging)(psi))
        )

    def reference(g):
        return expectation(qbjax.spin_chain_battery(4, g=g, alpha=0.5, dm=0.3).charging, psi)

    gs = jnp.array([0.5, 1.0, 1.7])
    batched = jax.jit(jax.vmap(energy))(gs)
    np.testing.assert_allclose(np.asarray(batched), np.asarray(jax.jit(jax.vmap(reference))(gs)), atol=1e-13)
    np.testing.assert_allclose(
        float(jax.jit(jax.grad(energy))(1.3)), float(jax.grad(reference)(1.3)), atol=1e-13
    )


def test_bytes_count_one_pass_per_flip_mask_group():
    n = 6
    battery = qbjax.spin_chain_battery(n, dm=0.5)  # replace: drive on n sites + (n - 1) bonds
    op = matfree(battery.charging)
    assert op.n_groups == n + (n - 1)
    # each group reads psi, the diagonal terms read psi once (no stored diagonal), one write
    assert matvec_bytes(battery.charging) == (op.n_groups + 2) * 16 * 2**n
