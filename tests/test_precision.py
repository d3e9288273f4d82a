"""Single precision (complex64) on the dense, Chebyshev and Krylov engines, and its error.

Must hold (issue 14): single agrees with double to 1e-4 relative on P_max for N = 8..12,
and the reported estimate of that error is never below the measured difference.
"""

import functools
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax
from qbjax import precision
from qbjax.app.cli import main
from qbjax.app.report import charge_report
from qbjax.devices import visible_backends
from qbjax.engines import engine_for
from qbjax.operators.terms import norm_bound
from qbjax.tasks.charge import energy_curve
from qbjax.tasks.precision_check import spot_check

T_MAX = 2 * math.pi / 4


def chain(n, **values):
    return {"n": n, "alpha": 0.3, "dm": 0.5, "omega": 4.0, **values}


@functools.cache
def double_report(model_items):
    return charge_report(dict(model_items), T_MAX, method="chebyshev")


def single_against_double(model, method):
    single = charge_report(model, T_MAX, method=method, precision="single")
    return single, double_report(tuple(model.items()))


@pytest.mark.parametrize(
    ("n", "method"),
    [
        # by default Chebyshev here; dense and Krylov in single precision are checked by
        # test_single_state_error_estimate_bounds_the_energy_error
        pytest.param(8, "dense", marks=pytest.mark.slow),
        (8, "chebyshev"),
        pytest.param(8, "krylov", marks=pytest.mark.slow),
        pytest.param(10, "chebyshev", marks=pytest.mark.slow),
        pytest.param(10, "dense", marks=pytest.mark.slow),
        pytest.param(12, "chebyshev", marks=pytest.mark.slow),
    ],
)
def test_single_agrees_with_double_and_its_estimate_covers_the_difference(n, method):
    single, double = single_against_double(chain(n), method)
    assert single["precision"] == "single" and double["precision"] == "double"
    assert single["method"] == method
    difference = abs(single["max_power"] - double["max_power"])
    assert difference <= 1e-4 * double["max_power"]
    assert difference > 0  # really computed in single, not silently double
    assert single["max_power_error"] >= difference
    assert single["max_power_error"] <= 1e-4 * double["max_power"]  # and still informative
    check = single["precision_check"]
    assert check["time"] == single["t_max_power"]
    assert check["difference"] == pytest.approx(abs(single["max_power"] - check["max_power_double"]))
    assert "error_estimate" in single  # the engine's state error, rounding included
    assert "max_power_error" not in double and "precision_check" not in double


@pytest.mark.slow
@pytest.mark.parametrize(("n", "method"), [(9, "krylov"), (11, "chebyshev"), (12, "krylov")])
def test_single_agrees_with_double_at_more_sizes(n, method):
    single, double = single_against_double(chain(n, alpha=-0.4, dm=0.8, g=1.3), method)
    difference = abs(single["max_power"] - double["max_power"])
    assert difference <= 1e-4 * double["max_power"]
    assert single["max_power_error"] >= difference


@pytest.mark.parametrize("method", ["dense", "chebyshev", "krylov"])
def test_single_state_error_estimate_bounds_the_energy_error(method):
    model = qbjax.SpinChain(6, alpha=-0.7, dm=0.9, protocol="add")
    times = jnp.linspace(0.0, 3.0, 61)
    single = energy_curve(model, 3.0, method=method, precision="single")
    exact = energy_curve(model, 3.0, method="dense")
    error = np.max(np.abs(np.asarray(single.energy(times)) - np.asarray(exact.energy(times))))
    h0_norm = float(norm_bound(model.battery().energy))
    assert 1e-9 < error <= 2 * h0_norm * float(single.error_estimate())
    assert single.energy(times).dtype == jnp.float64  # seen in the caller's precision


def test_engines_report_and_change_their_precision():
    assert qbjax.Dense().precision == "double"
    assert qbjax.Krylov(dtype=jnp.complex64).precision == "single"
    assert qbjax.Chebyshev().with_precision("single").dtype == np.complex64
    model = qbjax.SpinChain(4)
    # an engine object keeps its own precision unless one is asked for
    assert engine_for(qbjax.Krylov(dtype=jnp.complex64), model).precision == "single"
    assert engine_for("dense", model, precision="single").precision == "single"


@pytest.mark.parametrize("method", ["symmetric", "meanfield"])
def test_double_only_engines_refuse_single_naming_precision(method):
    model = qbjax.SpinChain(4, coupling="lr", p=0.0)
    with pytest.raises(qbjax.ArgumentError, match="double precision only") as error:
        qbjax.charge(model, 1.0, method=method, precision="single")
    assert error.value.argument == "precision"


def test_auto_in_single_replaces_the_symmetric_subspace_by_chebyshev():
    model = qbjax.SpinChain(14, coupling="lr", p=0.0, alpha=0.5)
    assert engine_for("auto", model).name == "symmetric"
    engine = engine_for("auto", model, precision="single")
    assert (engine.name, engine.precision) == ("chebyshev", "single")


def test_unknown_precision_is_refused():
    with pytest.raises(qbjax.ArgumentError) as error:
        qbjax.charge(qbjax.SpinChain(2), 1.0, precision="half")
    assert error.value.argument == "precision"


def test_single_precision_gradients_match_double():
    def p_max(x, prec):
        model = qbjax.spin_chain_battery(5, alpha=x[0], dm=x[1])
        return qbjax.charge(model, T_MAX, method="dense", precision=prec).max_power

    x = jnp.array([0.3, 0.6])
    single, double = jax.grad(p_max)(x, "single"), jax.grad(p_max)(x, "double")
    np.testing.assert_allclose(np.asarray(single), np.asarray(double), rtol=1e-3, atol=1e-3)


def test_spot_check_reproduces_double_precision_power():
    model = qbjax.SpinChain(6, alpha=0.2, dm=0.4)
    double = qbjax.charge(model, T_MAX, method="dense")
    check = spot_check(model, float(double.t_max_power), float(double.max_power))
    assert check.difference < 1e-10 * float(double.max_power)
    assert precision.epsilon("single") == pytest.approx(2.0**-23)


def test_cli_charge_single_json_and_bad_value(capsys):
    assert main(["charge", "--n", "6", "--dm", "0.5", "--precision", "single", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["precision"] == "single"
    assert {"max_power_error", "precision_check", "error_estimate"} <= set(report)
    assert main(["charge", "--n", "4", "--precision", "quad"]) == 2
    assert "argument --precision" in capsys.readouterr().err


def test_sweep_in_single_precision_reports_device_and_checks(tmp_path, capsys):
    argv = ["sweep", "--n", "4", "--alpha=-1:1:4", "--dm", "0,0.5", "--method", "chebyshev", "--json"]
    assert main([*argv, "--out", str(tmp_path / "s"), "--no-plot", "--precision", "single"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["precision"] == "single" and single["method"] == "chebyshev"
    assert single["device"].startswith(jax.default_backend()) and single["devices"] >= 1
    checks = single["precision_check"]
    assert len(checks) >= 2
    for check in checks:  # the double spot checks: P of the same point and T* in complex128
        point = single["points"][check["point"]]
        assert check["max_power"] == point["max_power"] and check["time"] == point["t_max_power"]
        relative = abs(check["max_power_double"] - point["max_power"]) / point["max_power"]
        assert 0 < relative <= single["max_power_relative_error"] <= 1e-5
    if "gpu" not in visible_backends():
        assert main([*argv, "--out", str(tmp_path / "g"), "--devices", "gpu"]) == 2
        assert "argument --devices: no gpu backend is visible" in capsys.readouterr().err


@pytest.mark.slow  # charge and sweep check --precision single by default; optimize runs charge's engines
def test_optimize_in_single_precision(capsys):
    argv = ["optimize", "--n", "3", "--vary", "alpha=-1:1", "--starts", "2", "--steps", "30", "--json"]
    assert main([*argv, "--precision", "single"]) == 0
    single = json.loads(capsys.readouterr().out)
    assert single["precision"] == "single"
    double = qbjax.charge(qbjax.SpinChain(3, alpha=single["params"]["alpha"]), T_MAX, method="dense")
    assert abs(single["max_power"] - float(double.max_power)) <= single["max_power_error"]
