"""The plan past this machine: bytes and time of one W(t) curve with the state split over
D devices (Chebyshev engine, complex64), from the engine's own plan and byte counts.

Per product with H on a split state each device streams its block once per flip-mask group
(`matfree.matvec_bytes` / D, at the HBM bandwidth) and receives one block for every pattern
of flipped leading qubits (`sharding.exchange_bytes`, at the link bandwidth); a segment makes
the products of its plan (`chebyshev.segment_products`). Exchanges are counted as not
overlapping the local work, so the times are upper estimates.

    python benchmarks/sharded_plan.py --table                  # N = 30-36 on 1 to 64 H200s
    XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
        python benchmarks/sharded_plan.py --check-cpu 20       # the model against this CPU
"""

import argparse
import json
import math
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

import qbjax  # noqa: E402
from qbjax.kernels import chebyshev as ch  # noqa: E402
from qbjax.operators import sharding  # noqa: E402
from qbjax.operators.matfree import matvec_bytes  # noqa: E402

ITEMSIZE = 8  # complex64
HBM = 4.3e12  # bytes/s per H200
NVLINK = 9.0e11  # bytes/s per GPU inside a node of 8
NETWORK = 5.0e10  # bytes/s per GPU between nodes (400 Gb/s)
GPUS_PER_NODE = 8
DEVICE_MEMORY = 120 * 2**30  # what a plan may hold on one H200 (of 139 GiB)


def curve(n: int, devices: int, memory: int, local_bw: float, link_bw) -> dict:
    """One W(t) curve of the default chain (D = 0.5, t_max = 2 pi / omega) on `devices`."""
    battery = qbjax.SpinChain(n, dm=0.5).battery().in_precision("single")
    h, h0 = battery.charging, battery.energy
    block_bytes = 2**n * ITEMSIZE // devices
    plan = ch.plan(h, 2 * math.pi / 4.0, tol=1e-5, max_vectors=memory // block_bytes, h0=h0)
    n_h, n_h0 = ch.segment_products(plan.degree, plan.block)
    local = [matvec_bytes(op, np.complex64) // devices for op in (h, h0)]
    exchange = [sharding.exchange_bytes(op, devices, ITEMSIZE) for op in (h, h0)]
    seconds_local = plan.segments * (n_h * local[0] + n_h0 * local[1]) / local_bw
    seconds_exchange = plan.segments * sum(
        count * link_bw(op, devices) for count, op in ((n_h, h), (n_h0, h0))
    )
    return {
        "n": n,
        "devices": devices,
        "state_GiB_per_device": block_bytes / 2**30,
        "degree": plan.degree,
        "segments": plan.segments,
        "block": plan.block,
        "products_H": n_h,
        "products_H0": n_h0,
        "local_GB_per_product": local[0] / 1e9,
        "exchange_GB_per_product": exchange[0] / 1e9,
        "exchange_GB_per_segment": (n_h * exchange[0] + n_h0 * exchange[1]) / 1e9,
        "seconds_local": seconds_local,
        "seconds_exchange": seconds_exchange,
        "seconds": seconds_local + seconds_exchange,
        "exchange_share": seconds_exchange / (seconds_local + seconds_exchange),
    }


def gpu_link_seconds(op, devices: int) -> float:
    """Seconds to receive one product's blocks: patterns that flip the leading qubit of a
    node cross the network when the devices span nodes, the rest go over NVLink."""
    patterns = sharding.leading_patterns(op, devices)
    nodes = max(devices // GPUS_PER_NODE, 1)
    crossing = {p for p in patterns if nodes > 1 and p >> int(math.log2(devices // nodes))}
    block = 2**op.n_sites * ITEMSIZE / devices
    return block * (len(crossing) / NETWORK + (len(patterns) - len(crossing)) / NVLINK)


def table() -> list[dict]:
    rows = []
    for n in range(30, 37):
        for devices in (1, 8, 16, 32, 64):
            if 2**n * ITEMSIZE // devices * (ch.STREAM_OVERHEAD + 1) > DEVICE_MEMORY:
                rows.append({"n": n, "devices": devices, "fits": False})
                continue
            rows.append(curve(n, devices, DEVICE_MEMORY, HBM, gpu_link_seconds))
    return rows


def copy_bandwidth(n: int) -> float:
    """Bytes/s of a state-sized copy on this machine's default device (read + write)."""
    x = jnp.ones(2**n, jnp.complex64)
    f = jax.jit(lambda v: v * jnp.complex64(1.0001))
    f(x).block_until_ready()
    start = time.perf_counter()
    for _ in range(10):
        x = f(x)
    x.block_until_ready()
    return 10 * 2 * x.nbytes / (time.perf_counter() - start)


def check_cpu(n: int) -> dict:
    """The model with this CPU's own bandwidths against a warm sharded preparation. The
    forced CPU devices share one memory: each streams at 1/D of the measured copy bandwidth
    while all run, and a permute between them is a copy in that memory too."""
    devices = len(jax.devices())
    bandwidth = copy_bandwidth(n) / devices
    chain = qbjax.SpinChain(n, dm=0.5)
    t_max = 2 * math.pi / 4.0
    memory = 16 * 2**n * ITEMSIZE // devices
    measured = {}
    for shards in (1, devices):
        engine = qbjax.Chebyshev(memory=16 * 2**n * ITEMSIZE // shards).with_precision("single")
        engine = engine.with_shards(shards).plan(chain, t_max)
        prepare = jax.jit(engine.prepare)
        battery = chain.battery()
        jax.block_until_ready(prepare(battery, jnp.asarray(t_max)))
        start = time.perf_counter()
        jax.block_until_ready(prepare(battery, jnp.asarray(t_max)))
        measured[shards] = time.perf_counter() - start
    exchange_s = lambda op, d: sharding.exchange_bytes(op, d, ITEMSIZE) / bandwidth  # noqa: E731
    model = curve(n, devices, memory, bandwidth, exchange_s)
    return {
        "n": n,
        "devices": devices,
        "copy_GB_per_s_per_device": bandwidth / 1e9,
        "model": model,
        "measured_seconds_one_device": measured[1],
        "measured_seconds_sharded": measured[devices],
        "measured_over_model": measured[devices] / model["seconds"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true")
    parser.add_argument("--check-cpu", type=int, default=None, metavar="N")
    args = parser.parse_args()
    if args.table:
        for row in table():
            print(json.dumps(row))
    if args.check_cpu:
        print(json.dumps(check_cpu(args.check_cpu)))


if __name__ == "__main__":
    main()
