"""JAX processes on loopback for the tests of `jax.distributed` (a sweep split over two
processes, one state split over them): the workers join with `join`, the tests start and
watch them with `run_workers`."""

import json
import os
import socket
import subprocess
import sys
import time
import traceback


def join(process_id: int, port: int, num_processes: int) -> None:
    """Join the JAX distributed system at 127.0.0.1:`port`, before anything touches the
    devices: the CPU backend is created with the distributed client and Gloo collectives."""
    import jax

    jax.config.update("jax_enable_x64", True)
    jax.config.update("jax_numpy_dtype_promotion", "strict")  # as tests/conftest.py
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=f"127.0.0.1:{port}",
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=60,
        shutdown_timeout_seconds=60,
    )


def exit_on_failure(main, *args) -> None:
    """Run a worker's `main`; on any failure exit at once: a normal exit would wait in
    jax.distributed's shutdown barrier for the other process, which itself waits for this one."""
    try:
        main(*args)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_workers(folder, command_of, env: dict, count: int, timeout_s: float, what: str) -> list[dict]:
    """Start `count` worker processes (`command_of(process_id)`), wait for all of them, and
    return the JSON report each printed last (Gloo prints its own lines to stdout).

    A process that fails leaves the others waiting at a barrier: the first failure stops
    the wait, and every process still running is killed.
    """
    logs = [(folder / f"worker{i}.out", folder / f"worker{i}.err") for i in range(count)]
    workers = []
    for i, (stdout, stderr) in enumerate(logs):
        with open(stdout, "w") as out_file, open(stderr, "w") as err_file:
            workers.append(subprocess.Popen(command_of(i), stdout=out_file, stderr=err_file, env=env))
    deadline = time.monotonic() + timeout_s
    try:
        while any(w.poll() is None for w in workers) and all(w.poll() in (None, 0) for w in workers):
            assert time.monotonic() < deadline, f"{what} took over {timeout_s} s"
            time.sleep(0.05)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    failures = [
        f"process {i} exited {worker.returncode}{' (killed by the test)' if worker.returncode < 0 else ''}:"
        f"\n{stderr.read_text()}\n{stdout.read_text()}"
        for i, (worker, (stdout, stderr)) in enumerate(zip(workers, logs, strict=True))
        if worker.returncode != 0
    ]
    assert not failures, "\n".join(failures)
    return [json.loads(stdout.read_text().strip().splitlines()[-1]) for stdout, _ in logs]
