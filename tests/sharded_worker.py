"""One process of a two-process charge with the state split over both (test_sharded_state.py).

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python tests/sharded_worker.py PROCESS_ID PORT N

Joins the JAX distributed system at 127.0.0.1:PORT as process PROCESS_ID of 2 (2 CPU devices
each), charges the chain of N spins over all 4 devices and prints one JSON line.
"""

import json
import sys

import jax


def main(process_id: int, port: int, n: int) -> None:
    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")  # as tests/conftest.py
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=2,
        process_id=process_id,
        initialization_timeout=60,
        shutdown_timeout_seconds=60,
    )
    import numpy as np

    import qbjax

    chain = qbjax.SpinChain(n, coupling="lr", p=1.5, alpha=0.3, dm=0.7, omega=2.0)
    result = qbjax.charge(chain, 1.0, times=np.array([0.35, 1.0]), method="chebyshev", shard=True)
    report = {
        "process_index": jax.process_index(),
        "devices": len(jax.devices()),
        "shards": result.shards,
        **{key: np.asarray(getattr(result, key)).tolist() for key in ("max_power", "t_max_power", "work")},
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
