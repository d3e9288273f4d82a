"""The exact checks of PHYSICS.md section 1 (Le et al. 2018)."""

import math

import numpy as np
import pytest
from scipy.optimize import brentq

import qbjax

# x* solves tan x = 2x on (0, pi/2): the single-spin optimum of sin^2(x)/x.
X_STAR = brentq(lambda x: math.tan(x) - 2 * x, 1.0, 1.5, xtol=1e-15)


def test_reference_constants():
    assert X_STAR == pytest.approx(1.165561, abs=1e-6)
    assert 2 * math.sin(X_STAR) ** 2 / X_STAR == pytest.approx(1.449223, abs=1e-6)


@pytest.mark.parametrize(("field", "omega"), [(1.0, 1.0), (0.7, 3.3), (2.5, 0.4)])
def test_single_spin_work_and_max_power(field, omega):
    battery = qbjax.spin_chain_battery(1, field=field, omega=omega)
    times = np.linspace(0, 2 * math.pi / omega, 37)
    result = qbjax.charge(battery, 2 * math.pi / omega, times=times)
    np.testing.assert_allclose(result.work, 2 * field * np.sin(omega * times) ** 2, atol=1e-12)
    p_exact = omega * field * 2 * math.sin(X_STAR) ** 2 / X_STAR
    assert float(result.max_power) == pytest.approx(p_exact, rel=1e-12)
    # T* accurate to 1e-9 relative (the refinement is a root of dP/dT, not a flat maximum)
    assert float(result.t_max_power) == pytest.approx(X_STAR / omega, rel=1e-9)
    assert float(result.max_work) == pytest.approx(2 * field, rel=1e-12)
    assert float(result.t_max_work) == pytest.approx(math.pi / (2 * omega), rel=1e-9)


@pytest.mark.parametrize(
    ("n", "coupling", "p"), [(2, "nn", 1.0), (5, "nn", 1.0), (4, "lr", 0.0), (5, "lr", 1.7), (6, "lr", 1.0)]
)
def test_xxx_chain_charges_as_independent_spins(n, coupling, p):
    rng = np.random.default_rng(n)
    g, field, omega = rng.uniform(0.3, 3.0), rng.uniform(0.5, 2.0), rng.uniform(1.0, 5.0)
    battery = qbjax.spin_chain_battery(n, coupling=coupling, g=g, p=p, alpha=1.0, field=field, omega=omega)
    t_max = 2 * math.pi / omega
    times = np.linspace(0, t_max, 25)
    result = qbjax.charge(battery, t_max, times=times)
    np.testing.assert_allclose(result.work, n * 2 * field * np.sin(omega * times) ** 2, atol=1e-10)
    p_independent = n * omega * field * 2 * math.sin(X_STAR) ** 2 / X_STAR
    assert float(result.max_power) == pytest.approx(p_independent, rel=1e-10)
    assert float(result.t_max_power) == pytest.approx(X_STAR / omega, rel=1e-9)


@pytest.mark.parametrize(("n", "coupling", "alpha"), [(4, "nn", 0.0), (5, "lr", 0.3), (6, "nn", -0.6)])
def test_weak_coupling_formula_within_its_second_order_error(n, coupling, alpha):
    """W(t) ~ 2BN sin^2(wt) + (1 - alpha) G sin^2(2wt) with an O(G^2) error.

    The deviation must scale as g^2 (a 4x smaller g gives 16x less), and be a vanishing
    fraction of the first-order interaction term (1 - alpha) G.
    """
    field, omega, t_max = 1.0, 10.0, 2 * math.pi / 10.0
    times = np.linspace(0, t_max, 41)
    errors, totals = [], []
    for g in (0.1, 0.025):
        battery = qbjax.spin_chain_battery(n, coupling=coupling, g=g, alpha=alpha, field=field, omega=omega)
        total = float(qbjax.couplings(n, coupling, g).total)
        interaction = (1 - alpha) * total * np.sin(2 * omega * times) ** 2
        formula = 2 * field * n * np.sin(omega * times) ** 2 + interaction
        errors.append(np.max(np.abs(np.asarray(qbjax.work(battery, times)) - formula)))
        totals.append(total)
    assert errors[0] / errors[1] == pytest.approx(16.0, rel=0.1)
    assert errors[1] < 0.05 * (1 - alpha) * totals[1]


@pytest.mark.parametrize(("alpha", "p_max", "t_star"), [(0.0, 34.8638, 0.18277), (1.0, 23.1875, None)])
def test_le2018_four_spin_references(alpha, p_max, t_star):
    battery = qbjax.spin_chain_battery(4, g=1.0, alpha=alpha, field=1.0, omega=4.0)
    result = qbjax.charge(battery, 2 * math.pi / 4.0)
    assert float(result.max_power) == pytest.approx(p_max, abs=1e-4)
    if t_star is not None:
        assert float(result.t_max_power) == pytest.approx(t_star, abs=1e-5)
    else:
        assert float(result.max_power) == pytest.approx(4 * 4 * 2 * math.sin(X_STAR) ** 2 / X_STAR, rel=1e-10)


def test_strong_coupling_two_spins_follow_the_effective_model():
    """g >> omega, alpha = 0: slow oscillation |dd> <-> |uu> at omega^2/g (Le et al. eqs. 13-15)."""
    g, omega, field = 60.0, 2.0, 1.0
    slow = omega**2 / g
    battery = qbjax.spin_chain_battery(2, g=g, alpha=0.0, field=field, omega=omega)
    # fast regime, t << g/omega^2: W ~ (4 omega^2/g) sin^2(g t)
    fast_times = np.linspace(0, 2 * math.pi / g, 30)
    fast = np.asarray(qbjax.work(battery, fast_times))
    np.testing.assert_allclose(fast, 4 * slow * np.sin(g * fast_times) ** 2, atol=0.1 * 4 * slow)
    # slow regime: averaged over fast periods, W ~ 2 omega^2/g + 4B sin^2(omega^2 t/g)
    t_half = math.pi / (2 * slow)
    window = t_half + np.linspace(-math.pi / g, math.pi / g, 201)
    averaged = float(np.mean(np.asarray(qbjax.work(battery, window))))
    assert averaged == pytest.approx(2 * slow + 4 * field, rel=0.03)
    quarter = math.pi / (4 * slow) + np.linspace(-math.pi / g, math.pi / g, 201)
    averaged_quarter = float(np.mean(np.asarray(qbjax.work(battery, quarter))))
    assert averaged_quarter == pytest.approx(2 * slow + 2 * field, rel=0.03)
