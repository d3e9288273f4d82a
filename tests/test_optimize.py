"""optimize: global optimum of multimodal landscapes, bounds, convergence, CLI."""

import json

import numpy as np
import pytest
from scipy.optimize import brentq, minimize

import qbjax
from qbjax import ArgumentError
from qbjax.app.cli import main
from qbjax.tasks.optimize import optimize


def test_single_spin_time_optimum_is_analytic_among_several_local_maxima():
    # P(T) = 2 B sin^2(omega T) / T has a local maximum in every half period
    omega = 4.0
    result = optimize({"n": 1, "omega": omega}, {"t": (0.05, 3.0)}, starts=6, steps=150)
    x_star = brentq(lambda x: np.tan(x) - 2 * x, 1.0, 1.5)
    assert result.max_power == pytest.approx(2 * omega * np.sin(x_star) ** 2 / x_star, rel=1e-10)
    assert result.t_max_power == pytest.approx(x_star / omega, rel=1e-7)
    assert result.converged
    assert len(np.unique(np.round(result.finals, 6))) >= 2, "the starts should end in different local maxima"


def _brute_force_power(alphas, times):
    """max over a grid of (alpha, T) of W(T)/T, refined by L-BFGS-B on the continuous problem."""

    def power(alpha, t):
        return float(qbjax.power(qbjax.spin_chain_battery(3, alpha=alpha), np.array([t]))[0])

    curves = [np.asarray(qbjax.power(qbjax.spin_chain_battery(3, alpha=a), times)) for a in alphas]
    i, k = np.unravel_index(np.argmax(curves), (len(alphas), len(times)))
    refined = minimize(
        lambda z: -power(*z),
        x0=[alphas[i], times[k]],
        method="L-BFGS-B",
        bounds=[(alphas[0], alphas[-1]), (times[0], times[-1])],
        options={"ftol": 1e-15, "gtol": 1e-12},
    )
    return -refined.fun, refined.x


def test_joint_anisotropy_and_time_optimum_matches_refined_brute_force():
    bounds = {"alpha": (-1.0, 1.0), "t": (0.05, 2.5)}
    result = optimize({"n": 3}, bounds, starts=8, steps=150)
    reference, where = _brute_force_power(np.linspace(-1, 1, 21), np.linspace(0.05, 2.5, 1500))
    assert result.max_power >= reference * (1 - 1e-6)
    assert result.max_power == pytest.approx(reference, rel=1e-6)
    assert result.params["alpha"] == pytest.approx(where[0], abs=1e-6)
    assert len(np.unique(np.round(result.finals, 4))) >= 3, "several local maxima in this landscape"
    for name, (lo, hi) in bounds.items():
        column = result.points[:, list(bounds).index(name)]
        assert np.all((lo <= column) & (column <= hi))


def test_bad_bounds_are_refused():
    with pytest.raises(ArgumentError, match=r"vary: .*lo < hi"):
        optimize({"n": 2}, {"alpha": (1.0, -1.0)})
    with pytest.raises(ArgumentError, match="vary"):
        optimize({"n": 2}, {"n": (1, 3)})
    with pytest.raises(ArgumentError, match="vary: t: bounds must be > 0"):
        optimize({"n": 2}, {"t": (0.0, 1.0)})
    with pytest.raises(ArgumentError, match="t_max"):
        optimize({"n": 2}, {"omega": (-1.0, 1.0)})


def test_optimize_cli_finds_the_interior_maximum_of_p_max_in_dm(capsys, user_cli):
    # P_max is even in D and largest at D = 0 here; the bounds are not symmetric about it
    argv = ["optimize", "--n", "3", "--alpha", "0.2", "--vary=dm=-0.7:1.3", "--steps", "60", "--starts", "3"]
    report = json.loads(user_cli(*argv, "--json").stdout)
    assert set(report) >= {"max_power", "t_max_power", "params", "converged"}
    expected = qbjax.max_power(qbjax.spin_chain_battery(3, alpha=0.2), 2 * np.pi / 4)
    assert report["converged"] and abs(report["params"]["dm"]) < 1e-6
    assert report["max_power"] == pytest.approx(float(expected[0]), rel=1e-12)
    assert report["t_max_power"] == pytest.approx(float(expected[1]), rel=1e-8)
    assert main(["optimize", "--vary", "alpha=1:-1"]) == 2
    assert "argument --vary" in capsys.readouterr().err
