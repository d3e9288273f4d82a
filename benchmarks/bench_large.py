"""Benchmark: one large battery on one device, in bounded memory (issue 21).

The chain of issue 21: SpinChain(N, alpha=0.3, dm=0.7), g = B = 1, omega = 4, protocol
replace, |down...down>, window (0, 0.5], W at t = 0.1 ... 0.5, `method="chebyshev"`.
One process per size: the first call (tracing, compilation, run) and a warm call (not with
--once) are timed, and the process's peak memory is read (the device allocator's peak on an
accelerator, the peak RSS on the CPU) beside the plan's own estimate.

    python benchmarks/bench_large.py --n 20                      # one line of JSON
    python benchmarks/bench_large.py --n 24,26,28 --precision single --memory 64GiB
    python benchmarks/bench_large.py --n 20 --reference          # W by SciPy expm_multiply

Several sizes run in one process, smallest first, each line written when it is done; the
peak memory of a size is then the process's peak so far (it grows with N). A size that
fails (out of memory, refused) gives a line with its error.

--reference computes W(t) by SciPy's sparse expm_multiply instead (an independent method;
run it in its own process: its sparse matrix is far larger than the engine's memory).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import qbjax  # noqa: E402
from qbjax.memory import parse_size  # noqa: E402

T_MAX = 0.5
TIMES = np.linspace(0.1, 0.5, 5)


def chain(n: int) -> qbjax.SpinChain:
    return qbjax.SpinChain(n, alpha=0.3, dm=0.7)


def reference_work(n: int) -> list[float]:
    """W(t) by scipy.sparse.linalg.expm_multiply on the CSR charging Hamiltonian."""
    import scipy.sparse.linalg

    from qbjax.operators.terms import sparse

    battery = chain(n).battery()
    psi0 = np.asarray(battery.initial_state())
    states = scipy.sparse.linalg.expm_multiply(
        -1j * sparse(battery.charging), psi0, start=0.0, stop=T_MAX, num=11, endpoint=True
    )
    h0 = sparse(battery.energy)
    energies = [float(np.real(np.vdot(s, h0 @ s))) for s in states]
    return [energies[2 * k] - energies[0] for k in range(1, 6)]  # t = 0.1, 0.2, ..., 0.5


def peak_bytes() -> tuple[int, str]:
    device = jax.devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    if stats and "peak_bytes_in_use" in stats:
        return int(stats["peak_bytes_in_use"]), "device"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss"


def run(n: int, precision: str, memory: int | None, once: bool = False) -> dict:
    model = chain(n)
    engine = qbjax.Chebyshev(memory=memory).with_precision(precision)
    planned = engine.plan(model, T_MAX)
    row = {"n": n, "precision": precision, "memory_budget": memory, "device": str(jax.devices()[0])}
    row["plan"] = {"degree": planned.degree, "segments": planned.segments, "block": planned.block}
    row["estimate_bytes"] = planned.memory_bytes(model)
    start = time.perf_counter()
    result = qbjax.charge(model, T_MAX, times=TIMES, method=engine)
    result.max_power.block_until_ready()
    row["first_s"] = time.perf_counter() - start
    if not once:
        start = time.perf_counter()
        result = qbjax.charge(model, T_MAX, times=TIMES, method=engine)
        result.max_power.block_until_ready()
        row["warm_s"] = time.perf_counter() - start
    row["peak_bytes"], row["peak_source"] = peak_bytes()
    row["max_power"] = float(result.max_power)
    row["t_max_power"] = float(result.t_max_power)
    row["work"] = [float(w) for w in result.work]
    row["error_estimate"] = float(result.error_estimate)
    row["machine"] = f"{platform.machine()}, jax {jax.__version__}"
    return row


def main() -> None:
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=formatter)
    parser.add_argument("--n", required=True, help="a size or a comma list")
    parser.add_argument("--precision", default="double", choices=("double", "single"))
    parser.add_argument("--memory", type=parse_size, default=None, help="budget, e.g. 4GiB (default qbjax's)")
    parser.add_argument("--reference", action="store_true", help="W(t) by SciPy expm_multiply instead")
    parser.add_argument("--out", default=None, help="append the JSON line to this file")
    parser.add_argument("--once", action="store_true", help="time the first call only (the largest sizes)")
    args = parser.parse_args()
    for n in sorted(int(item) for item in args.n.split(",")):
        try:
            row = measure(n, args)
        except Exception as error:  # record and go on: the next size may still fit
            row = {"n": n, "precision": args.precision, "error": f"{type(error).__name__}: {error}"[:500]}
        line = json.dumps(row)
        print(line, flush=True)
        if args.out:
            with open(args.out, "a") as out:
                out.write(line + "\n")


def measure(n: int, args) -> dict:
    if not args.reference:
        return run(n, args.precision, args.memory, args.once)
    start = time.perf_counter()
    row = {"n": n, "reference": "scipy expm_multiply", "work": reference_work(n)}
    row["seconds"] = time.perf_counter() - start
    return row


if __name__ == "__main__":
    main()
