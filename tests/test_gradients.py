"""Gradients through the evolution against central finite differences.

Includes the degenerate points alpha = 1, D = 0 (XXX chains), where autodiff through
`eigh` eigenvectors gives NaN; the divided-difference JVP must stay exact there.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax

NAMES = ("alpha", "dm", "g", "omega", "field", "t", "p")


def power_at(x, n, coupling, protocol):
    alpha, dm, g, omega, field, t, p = x
    battery = qbjax.spin_chain_battery(
        n, coupling=coupling, g=g, p=p, alpha=alpha, dm=dm, field=field, omega=omega, protocol=protocol
    )
    return qbjax.power(battery, t[None])[0]


def central_differences(f, x, step=1e-5):
    grad = np.zeros_like(x)
    for i in range(x.size):
        h = step * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (float(f(jnp.asarray(up))) - float(f(jnp.asarray(down)))) / (2 * h)
    return grad


CASES = [
    # (n, coupling, protocol, alpha, dm, g, omega, field, t, p)
    (4, "nn", "replace", 0.3, 0.4, 1.2, 4.0, 1.0, 0.21, 1.0),  # slow run (below)
    (4, "nn", "replace", 1.0, 0.0, 1.0, 4.0, 1.0, 0.18, 1.0),  # XXX, D = 0: degenerate
    (3, "lr", "add", 1.0, 0.0, 0.8, 3.0, 1.3, 0.35, 1.5),  # degenerate, long range
    (3, "lr", "collective", -0.4, 0.9, 1.1, 2.5, 0.7, 0.5, 0.5),
]


@pytest.mark.parametrize(
    "case",
    # the generic nearest-neighbour case in the slow run: the long-range collective one is generic too
    [pytest.param(c, marks=pytest.mark.slow) if c is CASES[0] else c for c in CASES],
    ids=[f"{c[0]}-{c[1]}-{c[2]}-a{c[3]}-D{c[4]}" for c in CASES],
)
def test_power_gradient_matches_finite_differences(case):
    n, coupling, protocol, *values = case
    x = np.array(values, dtype=float)

    def f(x):
        return power_at(x, n, coupling, protocol)

    grad = np.asarray(jax.grad(f)(jnp.asarray(x)))
    assert np.all(np.isfinite(grad)), dict(zip(NAMES, grad, strict=True))
    expected = central_differences(f, x)
    scale = abs(float(f(jnp.asarray(x))))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9 * scale)
    # forward mode goes through the same rule
    np.testing.assert_allclose(
        np.asarray(jax.jacfwd(f)(jnp.asarray(x))), grad, rtol=1e-10, atol=1e-12 * scale
    )


def test_dm_derivative_at_zero_is_nonzero_when_symmetry_is_broken():
    """A site-dependent field breaks the reflection that makes P even in D: dP/dD(0) != 0."""

    def f(dm):
        battery = qbjax.spin_chain_battery(3, alpha=1.0, dm=dm, field=jnp.array([1.0, 0.5, 2.0]))
        return qbjax.power(battery, jnp.array([0.3]))[0]

    grad = float(jax.grad(f)(0.0))
    h = 1e-5
    expected = (float(f(h)) - float(f(-h))) / (2 * h)
    assert abs(expected) > 1e-3
    assert grad == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(("alpha", "dm"), [(0.2, 0.5), (1.0, 0.0)])
def test_max_power_gradient_by_envelope_theorem(alpha, dm):
    def p_max(x):
        battery = qbjax.spin_chain_battery(4, alpha=x[0], dm=x[1], g=x[2])
        return qbjax.max_power(battery, np.pi / 2, n_grid=400)[0]

    x = np.array([alpha, dm, 1.0])
    grad = np.asarray(jax.grad(p_max)(jnp.asarray(x)))
    expected = central_differences(p_max, x, step=1e-4)
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-9 * float(p_max(jnp.asarray(x))))


def test_expm_path_gradient_agrees_with_spectral_at_degeneracy():
    def energy(alpha, evolve):
        battery = qbjax.spin_chain_battery(3, alpha=alpha, dm=0.0)
        psi = evolve(battery.charging, battery.initial_state(), jnp.array([0.4]))[0]
        h0 = qbjax.dense(battery.energy).astype(psi.dtype)
        return jnp.real(jnp.vdot(psi, h0 @ psi))

    spectral = jax.grad(energy)(1.0, qbjax.evolve)
    expm = jax.grad(energy)(1.0, qbjax.evolve_expm)
    assert np.isfinite(spectral)
    assert float(spectral) == pytest.approx(float(expm), rel=1e-9, abs=1e-12)
