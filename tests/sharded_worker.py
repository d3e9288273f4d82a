"""One process of a two-process charge with the state split over both (test_sharded_state.py).

    XLA_FLAGS=--xla_force_host_platform_device_count=2 python tests/sharded_worker.py PROCESS_ID PORT N

Joins the JAX distributed system at 127.0.0.1:PORT as process PROCESS_ID of 2 (2 CPU devices
each), charges the chain of N spins over all 4 devices and prints one JSON line.
"""

import json
import sys

import jax
from jax_processes import exit_on_failure, join


def main(process_id: int, port: int, n: int) -> None:
    join(process_id, port, 2)
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
    exit_on_failure(main, int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
