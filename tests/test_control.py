"""Charging pulses (`pulses`, `control`), the speed limit (`qsl`) and `qbjax control`.

References are independent of qbjax's propagators: SciPy `expm` per segment on matrices
written out with NumPy Kronecker products, and a fine grid over the constant drive.
"""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm

import qbjax
from qbjax.app.cli import main
from qbjax.measures import qsl
from qbjax.tasks import pulses
from qbjax.tasks.control import control

SX = np.array([[0, 1], [1, 0]], complex)
SY = np.array([[0, -1j], [1j, 0]])
SZ = np.diag([1.0, -1.0]).astype(complex)
EXAMPLE = dict(n=3, g=1.5, alpha=0.5, field=1.0)  # issue 15: constant 4.22, reversed drive 6.14


def site(op, i, n):
    out = np.eye(1)
    for k in range(n):
        out = np.kron(out, op if k == i else np.eye(2))
    return out


def reference_matrices(n, g, alpha, field, protocol):
    """(H0, H_rest) written out with Kronecker products (nn chain, no DM)."""
    h_field = sum(field * site(SZ, i, n) for i in range(n))
    h_int = -sum(
        g
        * (
            site(SZ, i, n) @ site(SZ, i + 1, n)
            + alpha * (site(SX, i, n) @ site(SX, i + 1, n) + site(SY, i, n) @ site(SY, i + 1, n))
        )
        for i in range(n - 1)
    )
    rest = {"replace": h_int, "add": h_field + h_int, "collective": h_field + h_int}[protocol]
    energy = h_field if protocol == "collective" else h_field + h_int
    return energy, rest


def reference_work(model, pulse, t, protocol="replace"):
    """W(T) by expm per segment, from |down...down>."""
    n = model["n"]
    energy, rest = reference_matrices(n, model["g"], model["alpha"], model["field"], protocol)
    x_total = sum(site(SX, i, n) for i in range(n))
    y_total = sum(site(SY, i, n) for i in range(n))
    pulse = np.asarray(pulse, float).reshape(len(pulse), -1)
    psi0 = np.zeros(2**n, complex)
    psi0[-1] = 1.0
    psi = psi0
    for row in pulse:
        h = rest + row[0] * x_total + (row[1] * y_total if len(row) > 1 else 0)
        psi = expm(-1j * h * t / len(pulse)) @ psi
    return float(np.real(np.vdot(psi, energy @ psi) - np.vdot(psi0, energy @ psi0)))


@pytest.mark.parametrize("method", ["dense", "chebyshev"])
@pytest.mark.parametrize("protocol", ["replace", "collective"])
def test_pulse_work_matches_expm_per_segment(method, protocol):
    rng = np.random.default_rng(7)
    model = dict(n=3, g=0.8, alpha=0.3, field=1.2)
    for quadratures in (1, 2):
        pulse = rng.uniform(-2, 2, size=(5, quadratures))
        chain = qbjax.SpinChain(**model, protocol=protocol)
        got = pulses.pulse_work(chain, pulse if quadratures == 2 else pulse[:, 0], 1.7, method=method)
        assert got == pytest.approx(reference_work(model, pulse, 1.7, protocol), abs=1e-9)


def test_one_segment_is_the_constant_drive_of_charge():
    chain = qbjax.SpinChain(4, coupling="lr", g=0.7, alpha=-0.4, dm=0.6, omega=2.5)
    expected = float(qbjax.charge(chain, 1.3, times=[1.3]).work[0])
    for method in ("dense", "chebyshev"):
        assert pulses.pulse_work(chain, [2.5], 1.3, method=method) == pytest.approx(expected, abs=1e-10)


@pytest.mark.parametrize("method", ["dense", "chebyshev"])
@pytest.mark.parametrize("point", ["generic", "zero-drive-xxx"])
def test_amplitude_gradients_match_finite_differences(method, point):
    """Including a degenerate point: XXX chain, no field, all amplitudes zero."""
    if point == "generic":
        chain, amplitudes = qbjax.SpinChain(3, g=1.2, alpha=0.4, dm=0.5), np.array([0.7, -0.3, 1.1, 0.2])
    else:
        chain, amplitudes = qbjax.SpinChain(3, alpha=1.0, field=0.0, protocol="add"), np.zeros(4)
    battery = pulses.pulsed_battery(chain)
    prop = pulses.propagator(battery, 2.0, 1.5 / 4, method)

    @jax.jit
    def work(a):
        return pulses.work(battery, prop, a[:, None], 1.5)

    grad = np.asarray(jax.grad(work)(jnp.asarray(amplitudes)))
    h = 1e-5
    fd = [
        (float(work(jnp.asarray(amplitudes + h * e))) - float(work(jnp.asarray(amplitudes - h * e))))
        / (2 * h)
        for e in np.eye(4)
    ]
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.slow  # 12 s; the README number; the control CLI test covers the search
def test_control_beats_the_best_constant_drive_on_the_issue_example():
    chain = qbjax.SpinChain(**EXAMPLE)
    result = control(chain, omega_max=1.0, segments=8, t=2.0, starts=4, steps=150)
    # the best constant drive, on a fine grid of expm references
    grid = np.linspace(-1.0, 1.0, 201)
    best_constant = max(reference_work(EXAMPLE, [[a]], 2.0) for a in grid)
    assert best_constant == pytest.approx(4.2175, abs=1e-3)
    assert result.constant_work >= best_constant - 1e-9
    assert result.work >= result.constant_work - 1e-12
    assert result.work > 6.1 and result.work == pytest.approx(6.14, abs=0.01)
    assert np.max(result.pulse) > 0.5 and np.min(result.pulse) < -0.5  # the drive reverses
    assert np.max(np.abs(result.pulse)) <= 1.0 + 1e-12
    # the reported pulse, re-simulated independently
    assert reference_work(EXAMPLE, result.pulse, result.t) == pytest.approx(result.work, abs=1e-9)
    assert result.power <= result.qsl_bound
    assert result.converged


@pytest.mark.slow  # the issue's example and the CLI test cover the search by default
def test_control_never_below_constant_and_varies_t_and_objective():
    chain = qbjax.SpinChain(3, g=0.5, alpha=1.0, field=1.0, protocol="add")
    result = control(
        chain, omega_max=2.0, segments=3, t=(0.3, 1.5), objective="ergotropy", starts=3, steps=60
    )
    assert 0.3 <= result.t <= 1.5 and 0.3 <= result.constant_t <= 1.5
    assert result.ergotropy >= result.constant_ergotropy - 1e-12
    # ergotropy = <H0>_T - E_ground, and the start |down...down> is the ground state here
    assert result.ergotropy == pytest.approx(result.work, abs=1e-9)
    assert reference_work(
        dict(n=3, g=0.5, alpha=1.0, field=1.0), result.pulse, result.t, "add"
    ) == pytest.approx(result.work, abs=1e-9)
    assert result.power <= result.qsl_bound


def test_speed_limit_of_one_spin_matches_physics():
    """PHYSICS.md 5: one spin, omega = 4B, field kept: P = 5.6238 against P_QSL = 5.7769."""
    result = qbjax.charge(qbjax.SpinChain(1, protocol="add"), 2 * np.pi / 4)
    battery = qbjax.SpinChain(1, protocol="add").battery()
    work = float(result.max_power * result.t_max_power)
    bound = qsl.constant_drive_bound(
        battery.charging, battery.initial_state(), float(result.t_max_power), work
    )
    assert float(result.max_power) == pytest.approx(5.6238, abs=1e-4)
    assert bound == pytest.approx(5.7769, abs=1e-4)


def test_speed_limit_paths_agree(monkeypatch):
    battery = qbjax.spin_chain_battery(5, coupling="lr", g=0.6, alpha=0.2, dm=[0.3, 0.0, 0.5])
    sparse = qsl.constant_drive_bound(battery.charging, battery.initial_state(), 0.4, 1.0)
    monkeypatch.setattr(qsl, "SPARSE_SITES", 2)
    chebyshev = qsl.constant_drive_bound(battery.charging, battery.initial_state(), 0.4, 1.0)
    assert chebyshev == pytest.approx(sparse, rel=1e-8)


def run_json(argv, capsys):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "method", ["dense", "chebyshev", pytest.param("krylov", marks=pytest.mark.slow), "symmetric"]
)
def test_charge_json_reports_the_speed_limit(method, capsys):
    """Each engine's own overlap and spread (Krylov: a second evolution) against the
    independent sparse `expm_multiply` computation of `qsl`."""
    flags = ["--n", "5", "--coupling", "lr", "--p", "0", "--alpha", "0.3", "--method", method]
    report = run_json(["charge", "--json", *flags], capsys)
    battery = qbjax.SpinChain(5, coupling="lr", p=0.0, alpha=0.3).battery()
    work = report["max_power"] * report["t_max_power"]
    expected = qsl.constant_drive_bound(
        battery.charging, battery.initial_state(), report["t_max_power"], work
    )
    assert report["qsl_bound"] == pytest.approx(expected, rel=1e-9)
    assert 0 < report["max_power"] <= report["qsl_bound"]


def test_speed_limit_with_dm_and_a_ground_start():
    model = qbjax.SpinChain(4, alpha=0.6, dm=0.9, dm_axis="y", initial="ground")
    result = qbjax.charge(model, 1.0, method="chebyshev")
    battery = model.battery()
    work = float(result.max_power * result.t_max_power)
    expected = qsl.constant_drive_bound(
        battery.charging, battery.initial_state(), float(result.t_max_power), work
    )
    assert float(result.qsl_bound) == pytest.approx(expected, rel=1e-9)


def test_control_cli_json_and_plot(tmp_path, user_cli):
    plot = tmp_path / "pulse.png"
    argv = [
        "control",
        "--json",
        "--n",
        "2",
        "--g",
        "1.5",
        "--alpha",
        "0.5",
        "--omega-max",
        "1",
        "--segments",
        "4",
    ]
    args = [*argv, "--t", "2", "--starts", "2", "--steps", "30", "--plot", str(plot)]
    report = json.loads(user_cli(*args).stdout)
    for key in (
        "pulse",
        "t",
        "work",
        "power",
        "ergotropy",
        "constant_work",
        "constant_power",
        "qsl_bound",
        "converged",
    ):
        assert key in report
    assert len(report["pulse"]) == 4 and report["work"] >= report["constant_work"] - 1e-12
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--segments", "0", "--t", "1"], "--segments"),
        (["--omega-max", "0", "--t", "1"], "--omega-max"),
        (["--omega-max", "-1", "--t", "1"], "--omega-max"),
        (["--t", "0"], "--t"),
        (["--t", "-2"], "--t"),
        (["--vary", "t=1:0.5"], "--t"),
        (["--vary", "g=0:1"], "--vary"),
        ([], "--t"),
    ],
)
def test_control_cli_bad_input_exits_2(flags, flag, capsys):
    argv = ["control", "--n", "2", *flags]
    if "--omega-max" not in flags:
        argv += ["--omega-max", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and flag in err, err
