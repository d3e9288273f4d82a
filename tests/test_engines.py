"""One engine interface: every engine serves charge, sweep and optimize alike."""

import jax
import numpy as np
import pytest

import qbjax
from qbjax import ArgumentError
from qbjax.engines import AbstractEngine, engine_class
from qbjax.engines.registry import ENGINES, METHODS, names
from qbjax.operators.terms import norm_bound
from qbjax.tasks.optimize import optimize
from qbjax.tasks.sweep import QUANTITIES, sweep


def test_the_registry_holds_every_engine_once():
    import importlib
    import inspect
    import pkgutil

    import qbjax.engines

    defined = set()
    for module in pkgutil.iter_modules(qbjax.engines.__path__):
        loaded = importlib.import_module(f"qbjax.engines.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if (
                issubclass(cls, AbstractEngine)
                and not inspect.isabstract(cls)
                and cls.__module__ == loaded.__name__
            ):
                defined.add(cls)
    registered = {getattr(qbjax.engines, entry.cls) for entry in ENGINES.values()}
    assert registered == defined
    for name, entry in ENGINES.items():
        assert getattr(qbjax, entry.cls).name == name
    assert METHODS == ("auto", *names()) and "lindblad" not in METHODS


def test_every_engine_declares_its_capabilities():
    for name in names():
        engine = engine_class(name)()
        assert isinstance(engine, AbstractEngine) and engine.name == name
        for capability in ("batchable", "differentiable", "traced_window"):
            assert isinstance(getattr(engine, capability), bool)
    with pytest.raises(ArgumentError) as error:
        qbjax.Krylov().require("traced_window", "for this test")
    assert error.value.argument == "method" and "krylov" in error.value.reason


@pytest.mark.slow  # the default run keeps the Chebyshev (default engine) versions
def test_krylov_sweep_equals_dense_sweep_at_n10():
    model = {"n": 10, "g": 1.0, "field": 1.0, "omega": 4.0}
    axes = {"alpha": [-0.4, 0.6], "dm": [0.5]}
    dense = sweep(model, axes, method="dense")
    krylov = sweep(model, axes, method="krylov")
    assert krylov.plan.engine.name == "krylov" and dense.plan.engine.name == "dense"
    for key in ("max_power", "t_max_power", "max_work"):
        np.testing.assert_allclose(krylov.values[key], dense.values[key], rtol=1e-9, atol=0)
    np.testing.assert_allclose(krylov.values["ergotropy"], dense.values["ergotropy"], rtol=1e-9)


@pytest.mark.slow  # test_symmetric covers the engine; this is the 300-spin sweep
def test_symmetric_sweep_of_300_spins_equals_charge_point_by_point(tmp_path):
    model = {"n": 300, "coupling": "lr", "p": 0.0, "g": 0.01, "omega": 4.0}
    result = sweep(model, {"alpha": [-0.5, 0.0, 0.7]}, method="symmetric", out=tmp_path / "n300")
    assert result.plan.engine.name == "symmetric"
    for point in result.points():
        single = qbjax.charge(
            qbjax.SpinChain.of({**model, "alpha": point["alpha"]}), point["t_max"], method="symmetric"
        )
        for key in ("max_power", "t_max_power", "max_work", "t_max_work"):
            assert point[key] == pytest.approx(float(getattr(single, key)), rel=1e-12)
    assert set(result.values) == set(QUANTITIES)


@pytest.mark.slow  # the default run keeps the Chebyshev (default engine) versions
def test_krylov_optimisation_finds_the_dense_global_optimum():
    """(alpha, T) at N = 3 has several local maxima (see test_optimize); both engines agree."""
    model = {"n": 3, "g": 1.0, "field": 1.0, "omega": 2.0}
    vary = {"alpha": (-1.0, 1.0), "t": (0.05, 2.5)}
    dense = optimize(model, vary, starts=4, steps=80, seed=3, method="dense")
    krylov = optimize(model, vary, starts=4, steps=80, seed=3, method="krylov")
    assert len({round(float(v), 3) for v in dense.finals}) >= 2  # more than one local maximum reached
    assert krylov.max_power == pytest.approx(dense.max_power, rel=1e-8)
    for name in ("alpha", "t"):
        assert krylov.params[name] == pytest.approx(dense.params[name], abs=1e-5)


@pytest.mark.parametrize(("alpha", "dm"), [(0.3, 0.6), (1.0, 0.0)], ids=["generic", "xxx-d0"])
@pytest.mark.slow  # test_chebyshev checks the default engine's gradient at XXX, D = 0 by default
def test_krylov_max_power_gradient_matches_central_differences_at_n10(alpha, dm):
    t_max = 2 * np.pi / 4.0
    width = 2.0 * float(norm_bound(qbjax.spin_chain_battery(10, alpha=1.5, dm=1.0).charging))
    engine = qbjax.Krylov(spectral_width=width)

    def p_max(x):
        battery = qbjax.spin_chain_battery(10, alpha=x[0], dm=x[1])
        return qbjax.charge(battery, t_max, method=engine).max_power

    x = np.array([alpha, dm])
    grad = np.asarray(jax.grad(p_max)(jax.numpy.asarray(x)))
    h = 1e-5
    for i in range(2):
        step = np.zeros(2)
        step[i] = h
        difference = (float(p_max(x + step)) - float(p_max(x - step))) / (2 * h)
        assert grad[i] == pytest.approx(difference, rel=1e-6, abs=1e-6 * abs(float(p_max(x))))


def test_a_caller_that_needs_a_missing_capability_is_told_which():
    with pytest.raises(ArgumentError) as error:
        jax.grad(lambda t: qbjax.charge(qbjax.SpinChain(3), t, method="krylov").max_power)(1.0)
    assert error.value.argument == "method" and "traced" in error.value.reason


def test_huge_inputs_are_refused_with_the_flag_named(capsys):
    from qbjax.app.cli import main

    for argv, flag in (
        (["--t-max", "1e12"], "--t-max"),
        (["--n-grid", "100000000"], "--n-grid"),
        (["--method", "krylov", "--t-max", "1e9"], "--t-max"),
    ):
        assert main(["charge", "--n", "4", *argv]) == 2
        assert flag in capsys.readouterr().err
    with pytest.raises(ArgumentError) as error:
        qbjax.charge(qbjax.SpinChain(2), 1.0, times=np.linspace(0, 1, 2**21))
    assert error.value.argument == "times"
    assert sweep({"n": 2}, {"alpha": [0.0, 0.5]}, chunk=10**9).plan.chunk == 2
    for method in ("chebyshev", "krylov", "dense"):
        with pytest.raises(ArgumentError) as error:
            qbjax.charge(qbjax.SpinChain(40), 1.0, method=method)
        assert error.value.argument == "n" and "1 <= n <=" in error.value.reason


def test_matrix_free_engines_under_grad_need_a_spectral_bound():
    def p_max(alpha):
        return qbjax.charge(qbjax.spin_chain_battery(3, alpha=alpha), 1.0, method="chebyshev").max_power

    with pytest.raises(ArgumentError) as error:
        jax.grad(p_max)(0.3)
    assert error.value.argument == "bounds"


@pytest.mark.slow
def test_the_lindblad_engine_serves_charge_like_the_closed_engines():
    model = qbjax.SpinChain(2, omega=2.0, alpha=0.5)
    noisy = qbjax.charge(model, 1.5, method=qbjax.Lindblad(0.1, 0.05))
    grid = qbjax.noisy_charge(model, np.linspace(0, 1.5, 4), dephasing=0.1, damping=0.05)
    assert float(noisy.max_power) == pytest.approx(float(grid.max_power), rel=1e-12)
    clean = qbjax.charge(model, 1.5, method=qbjax.Lindblad(rtol=1e-10, atol=1e-12))
    exact = qbjax.charge(model, 1.5, method="dense")
    assert float(clean.max_power) == pytest.approx(float(exact.max_power), rel=1e-7)
    assert float(clean.t_max_power) == pytest.approx(float(exact.t_max_power), rel=1e-6)
    assert float(noisy.max_power) < float(exact.max_power)
