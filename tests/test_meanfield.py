"""Mean-field (classical) engine: against an independent SciPy ODE, closed forms and the quantum chain."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize

import qbjax


def charge_meanfield(model, t_max, *, times=None):
    return qbjax.charge(qbjax.SpinChain.of(model), t_max, times=times, method="meanfield")


def charge_model(model, t_max, method):
    result = qbjax.charge(qbjax.SpinChain.of(model), t_max, method=method)
    return result, result.method


T_MAX = 2 * math.pi / 4


def _reference_power(n, g_matrix, alpha, field, omega, t_max):
    """P_max of Le et al. eq. 21 written out by hand, "replace" protocol, solved by DOP853.

    H_C = -sum_{i<j} g_ij (z_i z_j + alpha (x_i x_j + y_i y_j)) + omega sum x_i,
    H0_C = field sum z_i - sum_{i<j} g_ij (...), dS_m/dt = 2 h_m x S_m, h_m = dH_C/dS_m.
    """
    g_full = np.triu(g_matrix, 1) + np.triu(g_matrix, 1).T

    def rhs(t, y):
        s = y.reshape(n, 3)
        h = -np.stack([alpha * g_full @ s[:, 0], alpha * g_full @ s[:, 1], g_full @ s[:, 2]], axis=1)
        h[:, 0] += omega
        return (2 * np.cross(h, s)).ravel()

    def energy(y):
        s = y.reshape(n, 3)
        pair = 0.5 * (
            s[:, 2] @ g_full @ s[:, 2] + alpha * (s[:, 0] @ g_full @ s[:, 0] + s[:, 1] @ g_full @ s[:, 1])
        )
        return field * s[:, 2].sum() - pair

    y0 = np.tile([0.0, 0.0, -1.0], n)
    sol = scipy.integrate.solve_ivp(
        rhs, (0, t_max), y0, method="DOP853", rtol=1e-13, atol=1e-13, dense_output=True
    )
    e0 = energy(y0)
    ts = np.linspace(t_max / 4000, t_max, 4000)
    p = np.array([(energy(sol.sol(t)) - e0) / t for t in ts])
    k = int(np.argmax(p))
    res = scipy.optimize.minimize_scalar(lambda t: -(energy(sol.sol(t)) - e0) / t,
                                         bounds=(ts[max(k - 1, 0)], ts[min(k + 1, len(ts) - 1)]),
                                         method="bounded", options={"xatol": 1e-12})  # fmt: skip
    return -res.fun, res.x


@pytest.mark.parametrize(
    "n, coupling, p, alpha",
    [
        (4, "nn", 1.0, 0.0),
        pytest.param(3, "lr", 1.0, 0.4, marks=pytest.mark.slow),
        pytest.param(5, "lr", 0.0, -0.3, marks=pytest.mark.slow),
    ],
)
def test_max_power_equals_reference_ode(n, coupling, p, alpha):
    g = 0.9
    couplings = qbjax.couplings(n, coupling, g, p)
    g_matrix = np.zeros((n, n))
    for (i, j), strength in zip(couplings.pairs, np.asarray(couplings.strengths), strict=True):
        g_matrix[i, j] = strength
    ref_p, ref_t = _reference_power(n, g_matrix, alpha, 1.0, 4.0, T_MAX)
    result = charge_meanfield({"n": n, "coupling": coupling, "p": p, "g": g, "alpha": alpha}, T_MAX)
    assert float(result.max_power) == pytest.approx(ref_p, rel=1e-6)
    assert float(result.t_max_power) == pytest.approx(ref_t, rel=1e-5)


@pytest.mark.slow
def test_single_spin_closed_form():
    times = np.linspace(0.0, 1.0, 9)
    result = charge_meanfield({"n": 1, "omega": 4.0}, T_MAX, times=times)
    np.testing.assert_allclose(result.work, 2 * np.sin(4 * times) ** 2, atol=1e-10)
    assert float(result.max_power) == pytest.approx(1.449223 * 4, rel=1e-6)


def test_xxx_equals_quantum():
    model = {"n": 4, "coupling": "lr", "p": 1.0, "g": 1.0, "alpha": 1.0}
    classical = charge_meanfield(model, T_MAX)
    quantum = qbjax.charge(qbjax.spin_chain_battery(**model), T_MAX)
    assert float(classical.max_power) == pytest.approx(float(quantum.max_power), rel=1e-8)
    assert float(classical.t_max_power) == pytest.approx(float(quantum.t_max_power), rel=1e-7)


@pytest.mark.parametrize("coupling, p", [pytest.param("nn", 1.0, marks=pytest.mark.slow), ("lr", 0.0)])
def test_ising_n4_mean_field_charges_a_few_percent_faster(coupling, p):
    model = {"n": 4, "coupling": coupling, "p": p, "alpha": 0.0}
    classical = float(charge_meanfield(model, T_MAX).max_power)
    quantum = float(qbjax.charge(qbjax.spin_chain_battery(**model), T_MAX).max_power)
    assert 1.005 < classical / quantum < 1.06


@pytest.mark.slow
def test_dm_and_add_protocol_run_and_conserve_nothing_spurious():
    """Any coupling, D and protocol: with omega = 0 nothing moves from |down...down>, W = 0."""
    result = charge_meanfield({"n": 3, "dm": 0.5, "protocol": "add", "omega": 0.0}, 1.0, times=[0.5, 1.0])
    np.testing.assert_allclose(result.work, 0.0, atol=1e-14)


def test_registered_and_refuses_bad_input():
    result, method = charge_model({"n": 2}, T_MAX, method="meanfield")
    assert method == "meanfield" and isinstance(result, qbjax.ChargeResult)
    with pytest.raises(qbjax.ArgumentError) as error:
        charge_meanfield({"n": 2}, -1.0)
    assert error.value.argument == "t_max"
    with pytest.raises(qbjax.ArgumentError) as error:
        charge_meanfield({"n": 2, "coupling": "ring"}, 1.0)
    assert error.value.argument == "coupling"
