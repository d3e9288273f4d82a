"""One process of a two-process sweep (launched by test_multiprocess.py).

    python tests/multiprocess_worker.py PROCESS_ID PORT OUT

Joins the JAX distributed system at 127.0.0.1:PORT as process PROCESS_ID of 2, runs
SWEEP into the shared folder OUT and prints one JSON line: its process index, the
process count, the chunks it wrote, and the result's devices and resumed_chunks.
"""

import json
import sys

import jax
import numpy as np
from jax_processes import exit_on_failure, join

# The sweep both the workers and the test run (the test imports it from here).
MODEL = {"n": 4}
AXES = {"alpha": np.linspace(-1, 1, 6), "dm": [0.0, 0.5]}
CHUNK = 2  # 12 points -> 6 chunks, 3 per process
NUM_PROCESSES = 2


def main(process_id: int, port: int, out: str) -> None:
    join(process_id, port, NUM_PROCESSES)

    import qbjax
    from qbjax.tasks import sweep_store

    written = []
    write_chunk = sweep_store.SweepStore.write_chunk

    def recording_write_chunk(self, index, *args, **kwargs):
        written.append(int(index))
        return write_chunk(self, index, *args, **kwargs)

    sweep_store.SweepStore.write_chunk = recording_write_chunk
    result = qbjax.sweep(MODEL, AXES, out=out, chunk=CHUNK, progress=False)
    report = {
        "process_index": jax.process_index(),
        "process_count": jax.process_count(),
        "local_devices": len(jax.local_devices()),
        "chunks": written,
        "devices": result.devices,
        "resumed_chunks": result.resumed_chunks,
        "n_chunks": result.plan.n_chunks,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    exit_on_failure(main, int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
