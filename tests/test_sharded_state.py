"""One battery's state split over 4 CPU devices (forced in a fresh process): the same numbers
as one device, about a quarter of the state-sized buffers on each, and the same gradients."""

import json
import os
import subprocess
import sys

import jax
import pytest
from jax_processes import free_port, run_workers

import qbjax
from qbjax.operators import sharding

FOUR = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}

SCRIPT = """
import json, re
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import qbjax
from qbjax.operators.bounds import spectral_bounds

out = {"devices": len(jax.devices())}
chain = qbjax.SpinChain(16, alpha=0.3, dm=0.7, omega=2.0, dm_axis="y")
times = np.array([0.0, 0.35, 1.0])
for shard in (False, 4):
    r = qbjax.charge(chain, 1.0, times=times, method="chebyshev", shard=shard)
    keys = ("max_power", "t_max_power", "max_work", "t_max_work", "work", "ergotropy", "error_estimate")
    out[str(shard)] = {k: np.asarray(getattr(r, k)).tolist() for k in (*keys, "qsl_bound")}
    out[str(shard)]["shards"] = r.shards

# the Krylov engine on the same split (its blocks decomposed one at a time there)
small_lr = qbjax.SpinChain(12, coupling="lr", p=1.5, alpha=0.3, dm=0.7, omega=2.0)
for shard in (False, 4):
    r = qbjax.charge(small_lr, 1.0, times=np.array([0.3, 1.0]), method="krylov", shard=shard)
    keys = ("max_power", "t_max_power", "work", "qsl_bound")
    out[f"krylov_{shard}"] = {k: np.asarray(getattr(r, k)).tolist() for k in keys}
    out[f"krylov_{shard}"]["shards"] = r.shards

# each device's share of the preparation's buffers (N = 16: the states dominate), and what
# moves between devices
large = qbjax.SpinChain(16, alpha=0.3, dm=0.7, omega=2.0)
for shards in (1, 4):
    engine = qbjax.Chebyshev().with_shards(shards).plan(large, 2.0)
    compiled = jax.jit(engine.prepare).lower(large.battery(), jnp.asarray(2.0)).compile()
    out[f"temp_{shards}"] = compiled.memory_analysis().temp_size_in_bytes
    gathered = re.findall(r"= \\S+\\[([0-9,]*)\\]\\S* all-gather\\(", compiled.as_text())
    sizes = [int(np.prod([int(x) for x in g.split(",") if x])) for g in gathered]
    out[f"gathered_{shards}"] = max(sizes, default=0)

# gradients through the sharded march
small = qbjax.SpinChain(8, alpha=0.3, dm=0.7)
lo, hi = spectral_bounds(small.battery().charging)
def p_max(x, shard):
    model = small.replace(alpha=x[0], dm=x[1])
    engine = qbjax.Chebyshev(bounds=(lo - 2, hi + 2))
    return qbjax.charge(model, 1.5, method=engine, shard=shard, n_grid=512).max_power
for shard in (False, 4):
    out[f"grad_{shard}"] = np.asarray(jax.grad(p_max)(jnp.array([0.3, 0.7]), shard)).tolist()
print(json.dumps(out))
"""


def _four_devices(*args, timeout=600):
    env = {**os.environ, **FOUR, "QBJAX_CACHE_DIR": ""}
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def report():
    run = _four_devices(sys.executable, "-c", SCRIPT)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


def test_a_sharded_charge_equals_one_device(report):
    assert report["devices"] == 4
    alone, split = report["False"], report["4"]
    assert alone["shards"] == 1 and split["shards"] == 4
    for key in ("max_power", "t_max_power", "max_work", "t_max_work", "error_estimate", "qsl_bound"):
        assert split[key] == pytest.approx(alone[key], rel=1e-12), key
    for key in ("work", "ergotropy"):
        assert split[key] == pytest.approx(alone[key], rel=1e-12, abs=1e-12), key


def test_the_krylov_engine_splits_its_state_too(report):
    alone, split = report["krylov_False"], report["krylov_4"]
    assert alone["shards"] == 1 and split["shards"] == 4
    for key in ("max_power", "t_max_power", "work", "qsl_bound"):
        assert split[key] == pytest.approx(alone[key], rel=1e-12), key


def test_each_device_holds_a_quarter_of_the_state_buffers(report):
    ratio = report["temp_4"] / report["temp_1"]
    assert 0.2 < ratio <= 0.3
    # nothing state-sized is gathered onto one device (only the product state's site amplitudes)
    assert report["gathered_4"] < 2**16 // 4


def test_gradients_through_the_sharded_state_equal_one_device(report):
    assert report["grad_4"] == pytest.approx(report["grad_False"], rel=1e-10)


def test_cli_shards_over_every_device_and_refuses_bad_counts():
    base = [sys.executable, "-m", "qbjax", "charge", "--n", "8", "--dm", "0.5", "--method", "chebyshev"]
    base.append("--json")
    split = _four_devices(*base, "--shard")
    assert split.returncode == 0, split.stderr[-2000:]
    alone = subprocess.run(base, capture_output=True, text=True, timeout=300)
    split, alone = json.loads(split.stdout), json.loads(alone.stdout)
    assert split["shards"] == 4 and "shards" not in alone
    assert split["max_power"] == pytest.approx(alone["max_power"], rel=1e-12)
    refused = _four_devices(*base, "--shard", "3")
    assert refused.returncode == 2 and "--shard" in refused.stderr and "power of two" in refused.stderr


def test_shard_counts_are_checked_on_this_process():
    assert sharding.shard_count(False, 10) == sharding.shard_count(None, 10) == 1
    assert sharding.shard_count(1, 3) == 1
    for count, reason in ((3, "power of two"), (2 * len(jax.devices()), "visible")):
        with pytest.raises(qbjax.ArgumentError) as error:
            sharding.shard_count(count, 10)
        assert error.value.argument == "shard" and reason in error.value.reason
    with pytest.raises(qbjax.ArgumentError):
        qbjax.charge(qbjax.SpinChain(8), 1.0, method="dense", shard=2)
    for engine in (qbjax.Dense(), qbjax.Symmetric()):
        with pytest.raises(qbjax.ArgumentError, match="chebyshev or krylov"):
            engine.with_shards(2)


def test_exchange_bytes_count_the_patterns_of_flipped_leading_qubits():
    # N = 4 nearest-neighbour XX + YY: the flip groups are the bonds 01, 12, 23 (XX and YY
    # share a mask); over 2 devices only bond 01 flips qubit 0 (pattern 1), over 4 bond 01
    # flips both leading qubits (pattern 3) and bond 12 the second (pattern 1)
    chain = qbjax.SpinChain(4, alpha=1.0, omega=0.0).battery().charging
    assert sharding.exchange_bytes(chain, 1, 16) == 0
    assert sharding.exchange_bytes(chain, 2, 16) == 1 * 8 * 16
    assert sharding.exchange_bytes(chain, 4, 16) == 2 * 4 * 16
    # the drive X_0 and the bond 01 share pattern 1 over 2 devices: one exchange, not two
    driven = qbjax.SpinChain(4, alpha=1.0, omega=1.0).battery().charging
    assert sharding.exchange_bytes(driven, 2, 16) == 1 * 8 * 16


def test_two_processes_split_one_state_and_agree_with_one(tmp_path):
    port = free_port()
    worker = os.path.join(os.path.dirname(__file__), "sharded_worker.py")
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    command_of = lambda i: [sys.executable, worker, str(i), str(port), "12"]  # noqa: E731
    reports = run_workers(tmp_path, command_of, env, 2, 300, "the two-process charge")
    assert [r["process_index"] for r in reports] == [0, 1]
    assert all(r["devices"] == 4 and r["shards"] == 4 for r in reports)
    chain = qbjax.SpinChain(12, coupling="lr", p=1.5, alpha=0.3, dm=0.7, omega=2.0)
    alone = qbjax.charge(chain, 1.0, times=[0.35, 1.0], method="chebyshev")
    for report in reports:
        assert report["max_power"] == pytest.approx(float(alone.max_power), rel=1e-12)
        assert report["t_max_power"] == pytest.approx(float(alone.t_max_power), rel=1e-12)
        assert report["work"] == pytest.approx([float(w) for w in alone.work], rel=1e-12)


def test_one_device_runs_the_unsharded_program():
    # shard=True on one device is the unsharded engine itself: the same compiled program,
    # so the split costs nothing where D = 1 (on a GPU too)
    chain = qbjax.SpinChain(8, alpha=0.3, dm=0.7)
    assert len(jax.devices()) == 1
    engines = [
        qbjax.engines.engine_for("chebyshev", chain, shard=shard).plan(chain, 1.0) for shard in (True, False)
    ]
    assert engines[0] == engines[1] and engines[0].state_shards() == 1
    texts = [jax.jit(e.prepare).lower(chain.battery(), jax.numpy.asarray(1.0)).as_text() for e in engines]
    assert texts[0] == texts[1]
    assert qbjax.charge(chain, 1.0, method="chebyshev", shard=True).shards == 1


KRYLOV_GRADIENT = """
import json
import jax, jax.numpy as jnp, numpy as np
jax.config.update("jax_enable_x64", True)
import qbjax
from qbjax.operators.bounds import spectral_bounds

small = qbjax.SpinChain(8, alpha=0.3, dm=0.7)
lo, hi = spectral_bounds(small.battery().charging)
def p_max(x, shard):
    model = small.replace(alpha=x[0], dm=x[1])
    engine = qbjax.Krylov(spectral_width=hi - lo + 4)
    return qbjax.charge(model, 1.5, method=engine, shard=shard, n_grid=512).max_power
grads = {str(s): np.asarray(jax.grad(p_max)(jnp.array([0.3, 0.7]), s)).tolist() for s in (False, 4)}
print(json.dumps(grads))
"""


@pytest.mark.slow  # two gradient programs of the Krylov adjoint, ~45 s
def test_krylov_gradients_through_the_split_state_equal_one_device():
    run = _four_devices(sys.executable, "-c", KRYLOV_GRADIENT)
    assert run.returncode == 0, run.stderr[-3000:]
    grads = json.loads(run.stdout)
    assert grads["4"] == pytest.approx(grads["False"], rel=1e-10)
