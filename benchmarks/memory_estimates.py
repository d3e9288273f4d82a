"""qbjax's memory estimates against XLA's memory analysis of the compiled programs.

For each case: the estimate a run is checked against before it starts, XLA's figure for
the program (arguments + outputs + temporaries, less aliases), both in states of 2^N
amplitudes, and their ratio (>= 1: the estimate covers what XLA allocates). Cases:

    grad ENGINE N PRECISION [STATES]   reverse mode through P_max (`optimize`), optionally
                                       planned within a budget of STATES states
    sweep ENGINE N                     one point of a vmapped chunk (growth from 4 to 8 points)
    pulse METHOD N SEGMENTS            reverse mode through a pulse (`control`)

    python benchmarks/memory_estimates.py                       # the cases of RESULTS.md
    python benchmarks/memory_estimates.py grad:chebyshev:16:double sweep:krylov:14
Nothing is run: only compiled.
"""

import math
import sys

import jax
import jax.numpy as jnp

jax.config.update("jax_enable_x64", True)

from qbjax import SpinChain  # noqa: E402
from qbjax.app import bench  # noqa: E402
from qbjax.tasks import pulses  # noqa: E402

DEFAULT_CASES = [
    "grad:chebyshev:14:double",
    "grad:chebyshev:16:double",
    "grad:chebyshev:14:double:16",
    "grad:krylov:14:double",
    "grad:dense:8:double",
    "sweep:chebyshev:14",
    "sweep:krylov:14",
    "pulse:chebyshev:12:16",
    "pulse:dense:8:8",
]


def state_bytes(n: int, precision: str = "double") -> int:
    return 2**n * (16 if precision == "double" else 8)


def grad_case(name: str, n: str, precision: str, states: str | None = None) -> tuple[int, int, int]:
    n = int(n)
    memory = None if states is None else int(states) * state_bytes(n, precision)
    engine = bench.planned_engine(name, precision, bench.chain(n), traced=True, memory=memory)
    (allocated,) = bench.stage_bytes(bench.grad_pipeline(name, n, precision, memory))
    return engine.gradient_memory_bytes(bench.chain(n)), allocated, state_bytes(n, precision)


def sweep_case(name: str, n: str) -> tuple[int, int, int]:
    n = int(n)

    def stages(batch):
        return bench.stage_bytes(bench.sweep_pipeline(name, n, "double", batch, "cpu"))

    per_point = max((b - a) / 4 for a, b in zip(stages(4), stages(8), strict=True))
    engine = bench.sweep_plan(name, n, "double", 8, "cpu").engine
    return engine.batch_memory_bytes(bench.chain(n)), int(per_point), state_bytes(n)


def pulse_case(method: str, n: str, segments: str) -> tuple[int, int, int]:
    n, segments = int(n), int(segments)
    battery = pulses.pulsed_battery(SpinChain(n, g=1.5, alpha=0.5), 1)
    prop = pulses.propagator(battery, 1.0, 2.0 / segments, method)

    def power(amplitudes):
        return pulses.work(battery, prop, amplitudes[:, None], 2.0) / 2.0

    compiled = jax.jit(jax.grad(power)).lower(jnp.full(segments, 0.3)).compile()
    return prop.gradient_bytes(n, segments), bench.xla_bytes(compiled), state_bytes(n)


CASES = {"grad": grad_case, "sweep": sweep_case, "pulse": pulse_case}


def main(cases: list[str]) -> None:
    print("| case | estimate (states) | XLA (states) | estimate / XLA |")
    print("| --- | --- | --- | --- |")
    for case in cases:
        kind, *args = case.split(":")
        estimate, allocated, state = CASES[kind](*args)
        ratio = estimate / allocated if allocated else math.inf
        print(f"| {case} | {estimate / state:.1f} | {allocated / state:.1f} | {ratio:.2f} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT_CASES)
