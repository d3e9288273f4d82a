"""Symmetric (Dicke) subspace engine: against the dense engine, closed forms, gradients, refusals."""

import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax
from qbjax.models.symmetric import collective_spin, symmetric_applies, symmetric_battery


def charge_symmetric(model, t_max, *, times=None, n_grid=None):
    return qbjax.charge(qbjax.SpinChain.of(model), t_max, times=times, n_grid=n_grid, method="symmetric")


def charge_model(model, t_max, method):
    result = qbjax.charge(qbjax.SpinChain.of(model), t_max, method=method)
    return result, result.method


T_MAX = 2 * math.pi / 4


@pytest.mark.parametrize(
    "n, alpha, protocol, g",
    [
        (5, 0.3, "replace", 1.3),
        pytest.param(1, 0.0, "replace", 1.0, marks=pytest.mark.slow),
        pytest.param(3, -0.6, "add", 0.7, marks=pytest.mark.slow),
        pytest.param(6, 0.8, "collective", 0.5, marks=pytest.mark.slow),
    ],
)
def test_agrees_with_dense(n, alpha, protocol, g):
    model = {"n": n, "coupling": "lr", "p": 0.0, "g": g, "alpha": alpha, "field": 0.9, "omega": 3.0,
             "protocol": protocol}  # fmt: skip
    times = [0.0, 0.13, 0.71]
    sym = charge_symmetric(model, T_MAX, times=times)
    ref = qbjax.charge(qbjax.spin_chain_battery(**model), T_MAX, times=times)
    for key in ("max_power", "t_max_power", "max_work", "t_max_work", "initial_energy", "ground_energy"):
        assert float(getattr(sym, key)) == pytest.approx(float(getattr(ref, key)), rel=1e-10, abs=1e-12), key
    for key in ("work", "power", "ergotropy"):
        np.testing.assert_allclose(getattr(sym, key), getattr(ref, key), rtol=1e-10, atol=1e-11)


@pytest.mark.slow
def test_antiferromagnetic_ground_energy_lies_outside_the_symmetric_multiplet():
    """g < 0: the ground state of H0 has J < N/2; the ergotropy must still use it."""
    model = {"n": 4, "coupling": "lr", "p": 0.0, "g": -1.0, "alpha": 0.5}
    sym = charge_symmetric(model, T_MAX, times=[0.2])
    assert float(sym.ground_energy) == pytest.approx(
        float(qbjax.ground_energy(qbjax.spin_chain_battery(**model).energy)), rel=1e-12
    )


@pytest.mark.slow
def test_two_spins_any_coupling_and_periodic_triangle_are_symmetric():
    for model in ({"n": 2, "coupling": "nn", "alpha": 0.2}, {"n": 3, "coupling": "nn", "periodic": True}):
        sym = charge_symmetric(model, T_MAX)
        ref = qbjax.charge(qbjax.spin_chain_battery(**model), T_MAX)
        assert float(sym.max_power) == pytest.approx(float(ref.max_power), rel=1e-10)


def test_collective_spin_algebra():
    sx, sy, sz = (np.asarray(s, complex) for s in collective_spin(5))
    casimir = sx @ sx + sy @ sy + sz @ sz
    np.testing.assert_allclose(casimir, 5 * 7 * np.eye(6), atol=1e-12)
    np.testing.assert_allclose(sx @ sy - sy @ sx, 2j * sz, atol=1e-12)  # [S^x, S^y] = 2i S^z for Pauli sums


@pytest.mark.parametrize("alpha", [1.0])
def test_xxx_closed_form_at_large_n(alpha):
    """XXX: W(t) = 2BN sin^2(omega t), P_max = 1.449223 N omega B, for any N."""
    n, omega = 300, 2.0
    times = np.linspace(0.0, 1.0, 7)
    result = charge_symmetric({"n": n, "coupling": "lr", "p": 0.0, "alpha": alpha, "omega": omega},
                              math.pi / omega, times=times)  # fmt: skip
    np.testing.assert_allclose(result.work, 2 * n * np.sin(omega * times) ** 2, rtol=1e-9, atol=1e-9)
    x_star = 1.1655611852072112
    assert float(result.max_power) == pytest.approx(n * omega * 2 * math.sin(x_star) ** 2 / x_star, rel=1e-10)
    assert float(result.t_max_power) == pytest.approx(x_star / omega, rel=1e-9)


def test_n_2000_runs_in_seconds():
    start = time.perf_counter()
    result = charge_symmetric({"n": 2000, "coupling": "lr", "p": 0.0, "alpha": 0.0}, T_MAX)
    elapsed = time.perf_counter() - start
    assert elapsed < 30.0  # a few seconds on an idle 2-core machine; margin for a shared one
    # weak drive against strong coupling: the fast peak W ~ N omega^2 / (g (N-1)) scale, P_max well above N P1
    assert np.isfinite(float(result.max_power)) and float(result.max_power) > 2000 * 5.7968


def test_gradients_match_finite_differences():
    base = {"n": 5, "coupling": "lr", "p": 0.0, "g": 0.8, "alpha": 0.3, "field": 1.1, "omega": 3.0}
    names = ("g", "alpha", "field", "omega")

    def p_max(values):
        model = {**base, **dict(zip(names, values, strict=True))}
        return charge_symmetric(model, 1.2, n_grid=600).max_power

    x = jnp.asarray([base[k] for k in names])
    grad = jax.grad(p_max)(x)
    for i in range(len(names)):
        step = 1e-5
        hi = float(charge_symmetric({**base, names[i]: base[names[i]] + step}, 1.2, n_grid=600).max_power)
        lo = float(charge_symmetric({**base, names[i]: base[names[i]] - step}, 1.2, n_grid=600).max_power)
        assert float(grad[i]) == pytest.approx((hi - lo) / (2 * step), rel=1e-6, abs=1e-8), names[i]


@pytest.mark.parametrize(
    "model, argument",
    [
        ({"n": 4, "coupling": "nn"}, "coupling"),
        ({"n": 4, "coupling": "lr", "p": 1.0}, "p"),
        ({"n": 3, "coupling": "lr", "p": 0.0, "dm": 0.3}, "dm"),
        ({"n": 3, "coupling": "lr", "p": 0.0, "field": [1.0, 1.0, 2.0]}, "field"),
        ({"n": 3, "coupling": "lr", "p": 0.0, "omega": [1.0, 2.0, 2.0]}, "omega"),
        ({"n": 3, "coupling": "xy", "p": 0.0}, "coupling"),
        ({"n": 0, "coupling": "lr", "p": 0.0}, "n"),
    ],
)
def test_refuses_what_is_not_permutation_symmetric(model, argument):
    with pytest.raises(qbjax.ArgumentError) as error:
        symmetric_battery(model)
    assert error.value.argument == argument
    assert not symmetric_applies(model)


def test_applies_and_registered_method():
    assert symmetric_applies({"n": 50, "coupling": "lr", "p": 0.0, "alpha": 0.5})
    assert symmetric_applies({"n": 3, "coupling": "lr", "p": 0.0, "field": [2.0, 2.0, 2.0]})
    result, method = charge_model({"n": 4, "coupling": "lr", "p": 0.0}, T_MAX, method="symmetric")
    assert method == "symmetric" and isinstance(result, qbjax.ChargeResult)
