"""Initial states: the ground state of H0, state vectors, initial ergotropy (PHYSICS.md 1-2).

References are independent of qbjax's solvers: NumPy's dense `eigh` for ground states,
QuTiP's `sesolve` for W(t), and central finite differences for gradients.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from optional_qutip import needs_qutip, qutip

import qbjax
from qbjax.app.cli import main
from qbjax.kernels import ground_state as ground_state_module

# a chain whose |down...down> is not the ground state of H0 (D != 0)
CHAIN = dict(n=4, g=1.0, alpha=1.0, dm=2.0, field=1.0, omega=4.0)


def numpy_ground(battery):
    evals, evecs = np.linalg.eigh(np.asarray(qbjax.dense(battery.energy)))
    assert evals[1] - evals[0] > 1e-6, "test model must have a unique ground state"
    return evals[0], evecs[:, 0]


def sesolve_work(battery, psi0, times):
    """W(t) by QuTiP from the matrices of the battery (the solver is QuTiP's)."""
    dims = [[2] * battery.n_sites] * 2
    h = qutip.Qobj(np.asarray(qbjax.dense(battery.charging)), dims=dims)
    e = qutip.Qobj(np.asarray(qbjax.dense(battery.energy)), dims=dims)
    psi = qutip.Qobj(np.asarray(psi0).reshape(-1, 1), dims=[[2] * battery.n_sites, [1] * battery.n_sites])
    options = {"atol": 1e-13, "rtol": 1e-13, "nsteps": 10**6}
    result = qutip.sesolve(h, psi, times, e_ops=[e], options=options)
    return np.real(np.asarray(result.expect[0])) - np.real(qutip.expect(e, psi))


def test_down_is_not_the_ground_state_with_dm():
    """PHYSICS.md 1: N = 4, nn, g = B = 1: XXX ground energy -8.876 at D = 2 (against -7)."""
    chain = qbjax.spin_chain_battery(**CHAIN)
    e_ground, _ = numpy_ground(chain)
    assert e_ground == pytest.approx(-8.876, abs=1e-3)
    result = qbjax.charge(qbjax.SpinChain(**CHAIN), 1.0)
    assert float(result.initial_energy) == pytest.approx(-7.0, abs=1e-12)
    assert float(result.initial_ergotropy) == pytest.approx(-7.0 - e_ground, abs=1e-10)


@needs_qutip
@pytest.mark.parametrize("method", ["dense", "chebyshev", pytest.param("krylov", marks=pytest.mark.slow)])
def test_ground_start_matches_sesolve(method):
    model = qbjax.SpinChain(
        **{**CHAIN, "alpha": 0.4, "dm": 1.3}, dm_axis="y", protocol="replace", initial="ground"
    )
    battery = model.battery()
    e_ground, psi0 = numpy_ground(battery)
    np.testing.assert_allclose(abs(np.vdot(psi0, np.asarray(battery.initial_state()))), 1.0, atol=1e-12)
    times = np.linspace(0.0, 2 * np.pi / 4.0, 25)
    expected = sesolve_work(battery, psi0, times)
    assert np.max(np.abs(expected)) > 0.1
    result = qbjax.charge(model, times[-1], times=times, method=method)
    np.testing.assert_allclose(np.asarray(result.work), expected, atol=1e-8)
    assert float(result.initial_ergotropy) == pytest.approx(0.0, abs=1e-9)
    assert float(result.initial_energy) == pytest.approx(e_ground, abs=1e-10)


def test_lanczos_ground_state_matches_dense(monkeypatch):
    battery = qbjax.spin_chain_battery(8, coupling="lr", g=0.8, p=1.5, alpha=0.3, dm=[0.2, 0.9, -0.4])
    _, expected = numpy_ground(battery)
    monkeypatch.setattr(ground_state_module, "DENSE_SITES", 4)  # force the Lanczos path
    psi = np.asarray(ground_state_module.ground_state(battery.energy))
    assert abs(np.vdot(expected, psi)) == pytest.approx(1.0, abs=1e-10)
    top = psi[np.argmax(np.abs(psi))]
    assert abs(top.imag) < 1e-12 and top.real > 0  # a fixed phase: results do not depend on the solver


@needs_qutip
def test_state_vector_start_matches_sesolve():
    rng = np.random.default_rng(11)
    psi0 = rng.normal(size=16) + 1j * rng.normal(size=16)
    psi0 /= np.linalg.norm(psi0)
    battery = qbjax.spin_chain_battery(4, coupling="lr", alpha=-0.5, dm=0.7, initial=psi0)
    times = np.linspace(0.0, 1.5, 20)
    expected = sesolve_work(battery, psi0, times)
    np.testing.assert_allclose(np.asarray(qbjax.work(battery, times)), expected, atol=1e-8)


def test_degenerate_ground_state_is_refused():
    with pytest.raises(ValueError, match=r"^initial: the ground state of H0 is degenerate"):
        qbjax.charge(qbjax.SpinChain(4, alpha=1.0, field=0.0, initial="ground"), 1.0)


@pytest.mark.parametrize(
    ("initial", "message"),
    [
        (np.ones(8) / np.sqrt(8), "dimension 2\\^4"),
        (np.ones(16), "normalised"),
        ("up", "one of down, ground"),
    ],
)
def test_bad_initial_states_are_refused(initial, message):
    with pytest.raises(ValueError, match=f"^initial: .*{message}"):
        qbjax.spin_chain_battery(4, initial=initial)


def test_symmetric_and_meanfield_refuse_a_ground_start():
    model = qbjax.SpinChain(6, coupling="lr", p=0.0, initial="ground")
    for method in ("symmetric", "meanfield"):
        with pytest.raises(ValueError, match=r"^initial: "):
            qbjax.charge(model, 1.0, method=method)


@pytest.mark.parametrize(
    "point", [dict(alpha=0.5, dm=0.8), dict(alpha=1.0, dm=0.0)], ids=["generic", "XXX-D0"]
)
def test_ground_start_gradient_matches_finite_differences(point):
    """d P_max / d(alpha, D, field) with the ground state rebuilt at each point (traced path);
    XXX at D = 0 has degenerate excited levels of H0."""

    def p_max(x):
        model = qbjax.SpinChain(4, alpha=x[0], dm=x[1], field=x[2], dm_axis="x", initial="ground")
        return qbjax.max_power(model, 1.2, n_grid=256)[0]

    x = jnp.array([point["alpha"], point["dm"], 1.3])
    grad = np.asarray(jax.grad(p_max)(x))
    h = 1e-5
    fd = [(float(p_max(x + h * e)) - float(p_max(x - h * e))) / (2 * h) for e in np.eye(3)]
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


def test_traced_degenerate_point_is_nan():
    value = jax.jit(
        lambda f: qbjax.max_power(qbjax.SpinChain(4, alpha=1.0, field=f, initial="ground"), 1.0)[0]
    )(0.0)
    assert np.isnan(float(value))


def test_sweep_with_ground_start_equals_charge():
    alphas, dms = [0.2, 0.9], [0.0, 1.5]
    result = qbjax.sweep({"n": 4, "initial": "ground", "dm_axis": "y"}, {"alpha": alphas, "dm": dms})
    for i, alpha in enumerate(alphas):
        for j, dm in enumerate(dms):
            model = qbjax.SpinChain(4, alpha=alpha, dm=dm, dm_axis="y", initial="ground")
            expected = qbjax.charge(model, 2 * np.pi / 4.0)
            assert result.values["max_power"][i, j] == pytest.approx(float(expected.max_power), rel=1e-9)


@pytest.mark.slow  # 11 s; ground starts and optimize are covered apart by default
def test_optimize_with_ground_start_and_dm_axis():
    """The optimum over D along y from the ground state, against a fine scan by `charge`."""
    model = {"n": 3, "alpha": 0.5, "dm_axis": "y", "initial": "ground", "protocol": "collective"}
    result = qbjax.optimize(model, {"dm": (0.0, 1.0)}, starts=2, steps=40)
    scan = [
        float(qbjax.charge(qbjax.SpinChain(**model, dm=d), 2 * np.pi / 4.0).max_power)
        for d in np.linspace(0, 1, 21)
    ]
    assert result.max_power >= max(scan) - 1e-9


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_dm_along_y_reproduces_physics_example(capsys):
    """PHYSICS.md 2: N = 4 XXX, g = B = 1, omega = 0.5, collective, D along y."""
    flags = ["charge", "--json", "--n", "4", "--alpha", "1", "--omega", "0.5", "--protocol", "collective"]
    parallel = run_json([*flags, "--g", "0"], capsys)
    collective = run_json([*flags, "--dm", "1", "--dm-axis", "y"], capsys)
    assert parallel["max_power"] == pytest.approx(1.296224, abs=1e-6)
    assert collective["max_power"] == pytest.approx(2.583407, abs=1e-6)
    assert collective["dm_axis"] == "y" and collective["initial_ergotropy"] == pytest.approx(0.0, abs=1e-12)


def test_cli_ring_with_dm_has_uniform_chirality(capsys):
    """N = 4 XXX ring, D = 0.5: the reversed closing bond gave W_max 9.448; uniform gives 8."""
    report = run_json(["charge", "--json", "--n", "4", "--alpha", "1", "--dm", "0.5", "--periodic"], capsys)
    assert report["max_work"] == pytest.approx(8.0, abs=1e-8)


def test_cli_ground_start_and_state_file(tmp_path, capsys):
    report = run_json(
        ["charge", "--json", "--n", "4", "--alpha", "1", "--dm", "2", "--initial", "ground"], capsys
    )
    assert report["initial_ergotropy"] == pytest.approx(0.0, abs=1e-9)
    assert report["initial_energy"] == pytest.approx(-8.876, abs=1e-3)
    path = tmp_path / "psi.txt"
    psi = np.zeros(16, complex)
    psi[-1] = 1.0  # |down...down>, as a file
    np.savetxt(path, psi)
    from_file = run_json(
        ["charge", "--json", "--n", "4", "--alpha", "1", "--dm", "2", "--initial", str(path)], capsys
    )
    down = run_json(["charge", "--json", "--n", "4", "--alpha", "1", "--dm", "2"], capsys)
    assert from_file["max_power"] == pytest.approx(down["max_power"], rel=1e-12)
    assert from_file["initial"] == str(path)


@pytest.mark.parametrize(
    ("command", "flags"),
    [
        ("charge", ["--dm-axis", "w"]),
        ("sweep", ["--dm-axis", "w", "--alpha", "0,1"]),
        ("optimize", ["--dm-axis", "w", "--vary", "alpha=0:1"]),
        ("charge", ["--initial", "ground", "--alpha", "1", "--field", "0"]),
        ("sweep", ["--initial", "sideways", "--alpha", "0,1"]),
        ("charge", ["--initial", "WRONG_SIZE"]),
        ("charge", ["--initial", "NOT_NORMALISED"]),
        ("charge", ["--initial", "missing.npy"]),
    ],
)
def test_cli_bad_initial_and_axis_exit_2(command, flags, tmp_path, capsys):
    np.save(tmp_path / "size.npy", np.ones(8) / np.sqrt(8))
    np.save(tmp_path / "norm.npy", np.ones(16))
    paths = {"WRONG_SIZE": str(tmp_path / "size.npy"), "NOT_NORMALISED": str(tmp_path / "norm.npy")}
    flags = [paths.get(flag, flag) for flag in flags]
    extra = ["--out", str(tmp_path / "out")] if command == "sweep" else []
    assert main([command, "--n", "4", *flags, *extra]) == 2
    err = capsys.readouterr().err.strip()
    flag = "--dm-axis" if "--dm-axis" in flags else "--initial"
    assert len(err.splitlines()) == 1 and flag in err, err
