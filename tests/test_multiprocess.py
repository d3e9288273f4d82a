"""A sweep split over two JAX processes (jax.distributed on loopback) equals the one-process sweep."""

import os
import sys
from pathlib import Path

import numpy as np
from jax_processes import free_port, run_workers
from multiprocess_worker import AXES, CHUNK, MODEL, NUM_PROCESSES

from qbjax.tasks.sweep import QUANTITIES, sweep
from qbjax.tasks.sweep_store import load_result

WORKER = Path(__file__).with_name("multiprocess_worker.py")

TIMEOUT_S = 240


def test_two_process_sweep_equals_one_process_sweep(tmp_path):
    out = tmp_path / "shared"
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}  # one device each
    env["JAX_PLATFORMS"] = "cpu"
    reports = run_workers(
        tmp_path,
        lambda i: [sys.executable, str(WORKER), str(i), str(port), str(out)],
        env,
        NUM_PROCESSES,
        TIMEOUT_S,
        "the two-process sweep",
    )

    n_chunks = reports[0]["n_chunks"]
    assert n_chunks == 6
    for i, report in enumerate(reports):
        assert report["process_index"] == i
        assert report["process_count"] == NUM_PROCESSES
        assert report["devices"] == NUM_PROCESSES * report["local_devices"]
        assert report["resumed_chunks"] == 0
        assert report["chunks"], f"process {i} computed no chunk"
        assert report["chunks"] == list(range(i, n_chunks, NUM_PROCESSES))  # round-robin
    computed = sorted(index for report in reports for index in report["chunks"])
    assert computed == list(range(n_chunks))  # every chunk once, by exactly one process
    assert len(list((out / "chunks").glob("*.nc"))) == n_chunks

    stored = load_result(out)
    # on the workers' backend: on a GPU machine W's two equal peaks (t = pi/8, 3 pi/8) at one
    # point were told apart by the last bit, and T_W jumped from one to the other
    single = sweep(MODEL, AXES, chunk=CHUNK, progress=False, backend="cpu")
    np.testing.assert_array_equal(stored["alpha"], AXES["alpha"])
    np.testing.assert_array_equal(stored["dm"], AXES["dm"])
    np.testing.assert_allclose(stored["t_max"], single.plan.rows[:, -1].reshape(6, 2), rtol=1e-12)
    for key in QUANTITIES:
        assert stored[key].shape == single.values[key].shape == (6, 2)
        np.testing.assert_allclose(stored[key], single.values[key], rtol=1e-12, atol=1e-12, err_msg=key)
