"""Maxima over the charging window, and batching with vmap."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax


def test_vmap_over_parameters_equals_a_loop():
    alphas = jnp.linspace(-1.0, 1.0, 5)
    dms = jnp.linspace(0.0, 0.8, 5)

    def p_max(alpha, dm):
        return qbjax.max_power(qbjax.spin_chain_battery(3, alpha=alpha, dm=dm), 1.5, n_grid=300)

    batched_p, batched_t = jax.vmap(p_max)(alphas, dms)
    assert batched_p.shape == (5,) and batched_t.shape == (5,)
    for i in range(5):
        p, t = p_max(float(alphas[i]), float(dms[i]))
        assert float(batched_p[i]) == pytest.approx(float(p), rel=1e-12)
        assert float(batched_t[i]) == pytest.approx(float(t), rel=1e-9)


# 0.641 and 0.658: t * 400 / 400 != t in floating point, so the grid must end exactly at t_max
@pytest.mark.parametrize("t_max", [0.8, 0.641, 0.658])
def test_maximum_at_the_window_end_follows_t_max(t_max):
    """With T_max < T* = 1.1656, P(T) still rises at the end: T* = T_max, dP_max/dT_max = P'(T_max)."""
    battery = qbjax.spin_chain_battery(1, field=1.0, omega=1.0)
    p_max, t_star = qbjax.max_power(battery, t_max)
    assert float(t_star) == t_max
    assert float(p_max) == pytest.approx(2 * math.sin(t_max) ** 2 / t_max, rel=1e-12)
    slope = jax.grad(lambda t: qbjax.max_power(battery, t, n_grid=400)[0])(t_max)
    exact = (4 * math.sin(t_max) * math.cos(t_max) * t_max - 2 * math.sin(t_max) ** 2) / t_max**2
    assert float(slope) == pytest.approx(exact, rel=1e-9)


def test_grid_size_does_not_move_the_refined_optimum():
    battery = qbjax.spin_chain_battery(5, coupling="lr", g=0.6, alpha=0.1, dm=0.4)
    coarse = qbjax.charge(battery, 2 * math.pi / 4, n_grid=150)
    fine = qbjax.charge(battery, 2 * math.pi / 4, n_grid=5000)
    assert float(coarse.t_max_power) == pytest.approx(float(fine.t_max_power), rel=1e-10)
    assert float(coarse.t_max_work) == pytest.approx(float(fine.t_max_work), rel=1e-10)
    times = np.linspace(1e-3, 2 * math.pi / 4, 20001)  # a brute-force scan never beats the refined value
    assert float(np.max(np.asarray(qbjax.power(battery, times)))) <= float(fine.max_power) * (1 + 1e-12)


def test_strongly_coupled_chain_finds_the_fast_peak():
    """g = 100: W(t) oscillates with period ~pi/g, far faster than the window; the grid adapts."""
    battery = qbjax.spin_chain_battery(3, g=100.0, alpha=0.0, omega=4.0)
    result = qbjax.charge(battery, 2 * math.pi / 4)
    times = np.linspace(1e-4, 2 * math.pi / 4, 200001)
    brute = np.asarray(qbjax.power(battery, times))
    assert float(result.max_power) >= brute.max() * (1 - 1e-12)
    assert float(result.t_max_power) == pytest.approx(times[np.argmax(brute)], abs=2 * (times[1] - times[0]))
