"""Sweeps: equal to single-point charge, identical on 4 devices, resumable after SIGKILL."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import qbjax
from qbjax import ArgumentError
from qbjax.tasks.sweep import QUANTITIES, plan_sweep, sweep
from qbjax.tasks.sweep_store import load_result


def charge_model(model, t_max):
    result = qbjax.charge(qbjax.SpinChain.of(model), t_max)
    return result, result.method


QBJAX = [sys.executable, "-m", "qbjax"]
GRID_ARGS = ["sweep", "--n", "3", "--alpha=-1:1:5", "--dm", "0,0.7", "--g", "0.8", "--json"]


def test_sweep_equals_single_point_charge_on_grid_and_points():
    model = {"n": 4, "coupling": "lr", "p": 1.5, "protocol": "add", "field": 0.8}
    axes = {"alpha": [-0.6, 0.3, 1.0], "dm": [0.0, 0.45], "omega": [2.5, 4.0]}
    result = sweep(model, axes, chunk=5, progress=False)
    assert result.values["max_power"].shape == (3, 2, 2)
    for point in result.points()[::3]:
        single, _ = charge_model({**model, **{k: point[k] for k in axes}}, 2 * np.pi / point["omega"])
        # (not t_max_work: alpha = 1 with "add" makes W(t) periodic, a tie between its maxima)
        for key in ("max_power", "t_max_power", "max_work"):
            assert point[key] == pytest.approx(float(getattr(single, key)), rel=1e-9, abs=1e-12)

    listed = sweep(model, {"alpha": [1.0, -0.6], "t_max": [0.5, 2.0]}, grid=False, progress=False)
    for point in listed.points():
        single, _ = charge_model({**model, "alpha": point["alpha"]}, point["t_max"])
        assert point["max_power"] == pytest.approx(float(single.max_power), rel=1e-9)


@pytest.mark.parametrize("swept", [("g", "alpha", "dm"), ("field", "omega"), ("alpha", "p")])
def test_every_point_spectrum_lies_in_its_interpolated_interval(swept):
    # multilinear interpolation of the vertex bounds: rigorous at every point inside the box
    ranges = {
        "g": (0.4, 1.6),
        "alpha": (-1.0, 1.0),
        "dm": (0.0, 1.2),
        "field": (0.2, 1.5),
        "omega": (1.0, 5.0),
        "p": (0.5, 2.0),
    }
    model = {"n": 5, "coupling": "lr", "protocol": "add"}
    rng = np.random.default_rng(3)
    axes = {name: np.sort(rng.uniform(*ranges[name], size=4)) for name in swept}
    plan = plan_sweep(model, axes, method="chebyshev")
    for index in range(0, plan.n_points, 5):
        chain, _ = plan.point(index)
        evals = np.linalg.eigvalsh(np.asarray(qbjax.dense(chain.battery().charging)))
        lo, hi = (float(v) for v in plan.spectrum.at(jnp.asarray(plan.rows[index])))
        assert lo <= evals[0] and evals[-1] <= hi
    lo, hi = plan.spectrum.widest()
    assert plan.engine.radius == pytest.approx((hi - lo) / 2, rel=1e-9)
    assert hi - lo <= max(plan.spectrum.vertex_hi) - min(plan.spectrum.vertex_lo)


def test_chain_sweep_plans_for_the_widest_point_not_the_union():
    # alpha moves the spectrum's centre: one point's interval is 15% narrower than the union
    plan = plan_sweep({"n": 6}, {"alpha": np.linspace(-1, 1, 5), "dm": [0.0, 1.0]}, method="chebyshev")
    lo, hi = plan.spectrum.widest()
    assert hi - lo < 0.9 * (max(plan.spectrum.vertex_hi) - min(plan.spectrum.vertex_lo))


def test_sweep_ergotropy_is_energy_above_ground_at_t_star():
    result = sweep({"n": 3}, {"alpha": [0.0, 1.0]}, progress=False)
    # all-down is the ground state here, so ergotropy = W(T*) = P_max T*
    expected = result.values["max_power"] * result.values["t_max_power"]
    np.testing.assert_allclose(result.values["ergotropy"], expected, rtol=1e-10)


def test_xxx_sweep_is_n_independent_spins():
    result = sweep({"n": 3, "alpha": 1.0}, {"g": [0.0, 0.5, 2.0], "omega": [3.0]}, progress=False)
    np.testing.assert_allclose(result.values["max_power"], 3 * 1.449223 * 3.0, rtol=1e-6)


def test_output_is_self_describing_and_a_rerun_resumes(tmp_path):
    first = sweep(
        {"n": 3}, {"alpha": [0.0, 0.5, 1.0], "dm": [0.0, 0.3]}, out=tmp_path, chunk=2, progress=False
    )
    stored = load_result(tmp_path)
    np.testing.assert_array_equal(stored["alpha"], [0.0, 0.5, 1.0])
    np.testing.assert_array_equal(stored["max_power"], first.values["max_power"])
    manifest = json.loads((tmp_path / "sweep.json").read_text())
    assert manifest["quantities"]["max_power"]["units"] == QUANTITIES["max_power"][0]
    assert manifest["sweep"]["model"]["n"] == 3 and "qbjax_version" in manifest
    again = sweep(
        {"n": 3}, {"alpha": [0.0, 0.5, 1.0], "dm": [0.0, 0.3]}, out=tmp_path, chunk=2, progress=False
    )
    assert again.resumed_chunks == 3
    np.testing.assert_array_equal(again.values["max_power"], first.values["max_power"])
    with pytest.raises(ArgumentError, match=r"out: .*different sweep"):
        sweep({"n": 3}, {"alpha": [0.0, 0.5]}, out=tmp_path, chunk=2, progress=False)


def test_bad_sweeps_are_refused():
    with pytest.raises(ArgumentError, match="axes"):
        plan_sweep({"n": 3}, {"n": [2, 3]})
    with pytest.raises(ArgumentError, match="alpha: must be finite"):
        plan_sweep({"n": 3}, {"alpha": [0.0, float("nan")]})
    with pytest.raises(ArgumentError, match="p: must be >= 0"):
        plan_sweep({"n": 3, "coupling": "lr"}, {"p": [1.0, -1.0]})
    with pytest.raises(ArgumentError, match="t_max: must be > 0"):
        plan_sweep({"n": 3}, {"t_max": [1.0, 0.0]})
    with pytest.raises(ArgumentError, match="omega: must be nonzero"):
        plan_sweep({"n": 3}, {"omega": [0.0, 1.0]})
    with pytest.raises(ArgumentError, match=r"dm: .*equal length"):
        plan_sweep({"n": 3}, {"alpha": [0.0, 1.0], "dm": [0.0]}, grid=False)
    with pytest.raises(ArgumentError, match=r"n: .*allowed range"):
        plan_sweep({"n": 40}, {"alpha": [0.0, 1.0]})


def _run(args, env=None, **kwargs):
    return subprocess.run(QBJAX + args, capture_output=True, text=True, env=env, check=True, **kwargs)


def test_four_cpu_devices_give_identical_results(tmp_path):
    # Chebyshev: pure XLA, so its chunks split over the devices (dense and Krylov stay on one)
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    args = [*GRID_ARGS, "--method", "chebyshev", "--chunk", "4", "--out", str(tmp_path / "four")]
    sharded = json.loads(_run(args, env).stdout)
    assert sharded["devices"] == 4
    axes = {"alpha": np.linspace(-1, 1, 5), "dm": [0.0, 0.7]}
    # against one CPU device (on a GPU machine the default backend would compare across devices)
    single = sweep({"n": 3, "g": 0.8}, axes, method="chebyshev", progress=False, backend="cpu")
    for point, expected in zip(sharded["points"], single.points(), strict=True):
        for key in ("alpha", "dm", "max_power", "t_max_power", "max_work"):
            assert point[key] == pytest.approx(expected[key], rel=1e-13, abs=1e-15)


@pytest.mark.slow  # test_cli_sweep_with_a_users_defaults_finishes runs the default device count
@pytest.mark.parametrize("devices", [1, 2, 4])
def test_lapack_sweep_finishes_on_every_device_count_with_caches_on(devices, tmp_path):
    # issue 26: with one CPU device per core, two devices' batched eigh calls each blocked a
    # thread of XLA's shared pool while waiting for work queued on it; on 2 cores the
    # dense sweep below hung forever (caches on made the overlap likely). Now a program
    # that calls LAPACK runs on one CPU device (`devices.shard_devices`).
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    env["QBJAX_CACHE_DIR"] = str(tmp_path / "cache")
    args = ["sweep", "--n", "4", "--alpha=-1:1:8", "--dm", "0:1:8", "--json", "--no-plot"]
    for attempt in ("cold", "warm"):  # a fresh cache, then one that holds every program
        report = json.loads(_run([*args, "--out", str(tmp_path / attempt)], env, timeout=120).stdout)
        assert report["method"] == "dense" and report["devices"] == 1


SHARDING_SCRIPT = """
import jax
jax.config.update("jax_enable_x64", True)
import qbjax
from qbjax.tasks.sweep import chunk_devices, plan_sweep
print(qbjax.use_cpu_cores(), end=" ")
for method in ("dense", "krylov", "chebyshev"):
    plan = plan_sweep({"n": 3}, {"alpha": [-1.0, -0.5, 0.5, 1.0]}, method=method)
    print(method, len(chunk_devices(plan)))
"""


@pytest.mark.parametrize("forced", [None, 4])
def test_programs_with_lapack_run_on_one_cpu_device_and_the_rest_on_all(forced):
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    env["JAX_PLATFORMS"] = "cpu"  # the rule is about CPU devices, on a GPU machine too
    if forced:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={forced}"
    run = subprocess.run(
        [sys.executable, "-c", SHARDING_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    cores = str(forced or qbjax.devices.cpu_cores())  # qbjax sweep: one CPU device per core
    assert run.stdout.split() == [cores, "dense", "1", "krylov", "1", "chebyshev", cores]


def test_host_kernels_declared_as_the_lowered_programs_show():
    """`host_kernels` (the sharding rule's input) matches the batched stages: a LAPACK custom
    call in either program exactly when the engine says so."""
    from qbjax.tasks.sweep import batch_stages

    cpu = qbjax.devices.local_devices("cpu")[:1]  # LAPACK is the CPU's (a GPU calls cuSOLVER)
    for method in ("dense", "krylov", "chebyshev"):
        plan = plan_sweep({"n": 3, "dm": 0.4}, {"alpha": [-0.5, 0.5]}, method=method, backend="cpu")
        prepare, figures = batch_stages(plan, cpu)
        rows = jax.device_put(plan.rows, cpu[0])
        curves = jax.eval_shape(prepare, rows)
        texts = prepare.lower(rows).as_text() + figures.lower(curves, rows).as_text()
        assert ("lapack_" in texts) == plan.engine.host_kernels, method


def test_sweep_killed_mid_run_resumes_with_identical_results(tmp_path):
    args = ["sweep", "--n", "3", "--alpha=-1:1:12", "--dm", "0,0.4", "--chunk", "1", "--json", "--no-plot"]
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [*QBJAX, *args, "--out", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    chunks = out / "chunks"
    deadline = time.monotonic() + 120
    while process.poll() is None and len(list(chunks.glob("*.nc")) if chunks.exists() else []) < 3:
        assert time.monotonic() < deadline, "the sweep wrote no chunk in time"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = len(list(chunks.glob("*.nc")))
    assert 0 < finished < 24, "kill the sweep while it runs"
    resumed = json.loads(_run([*args, "--out", str(out)]).stdout)
    assert resumed["resumed_chunks"] == finished  # a chunk cut off mid-write is only a temporary file
    whole = sweep({"n": 3}, {"alpha": np.linspace(-1, 1, 12), "dm": [0.0, 0.4]}, chunk=1, progress=False)
    for point, expected in zip(resumed["points"], whole.points(), strict=True):
        assert point == {key: expected[key] for key in point}
    assert Path(out / "sweep.nc").exists()


CORES_SCRIPT = """
import jax
import qbjax
print(qbjax.use_cpu_cores(2), len(jax.devices("cpu")))
import jax
import jax.numpy as jnp
jnp.ones(1).block_until_ready()
try:
    qbjax.use_cpu_cores(3)
except qbjax.ArgumentError as error:
    print(error.argument, "after" in error.reason)
"""


def test_use_cpu_cores_before_jax_runs_and_refuses_after():
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    run = subprocess.run(
        [sys.executable, "-c", CORES_SCRIPT], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["2", "2", "count", "True"]
    with pytest.raises(ArgumentError, match="count"):
        qbjax.use_cpu_cores(0)


def test_cli_sweep_with_a_users_defaults_finishes(tmp_path, user_cli):
    # the hang of issue 26: default devices (one per core), caches on, a dense sweep; once
    # with a fresh cache and once with the programs it stored
    expected = sweep({"n": 3, "g": 0.8}, {"alpha": np.linspace(-1, 1, 5), "dm": [0.0, 0.7]}, progress=False)
    for attempt in ("cold", "warm"):
        report = json.loads(user_cli(*GRID_ARGS, "--out", str(tmp_path / attempt), timeout=120).stdout)
        assert report["method"] == "dense" and report["devices"] == 1
        maxima = [point["max_power"] for point in report["points"]]
        assert maxima == pytest.approx(expected.values["max_power"].ravel(), rel=1e-13)
