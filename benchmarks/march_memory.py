"""XLA's memory analysis of the compiled Chebyshev march, per block of kept vectors, against
the estimate `propagate.chebyshev.march_vectors` (compiles only; nothing runs).

    python benchmarks/march_memory.py --n 14 --blocks 2,6,12,24      # CPU
    python benchmarks/march_memory.py --n 20 --precision single      # on the device it runs on

One JSON line per block: XLA's temporaries, arguments and outputs in state vectors, and the
estimate. STREAM_OVERHEAD and KEPT_OVERHEAD are calibrated from these on each backend.
"""

from __future__ import annotations

import argparse
import json

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

import qbjax  # noqa: E402
from qbjax.kernels import chebyshev as ch  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=14)
    parser.add_argument("--precision", default="double", choices=("double", "single"))
    parser.add_argument("--blocks", default="2,6,12,24", help="comma list; 0 = all K + 1 kept")
    args = parser.parse_args()
    battery = qbjax.spin_chain_battery(args.n, alpha=0.3, dm=0.7)
    real = np.float64 if args.precision == "double" else np.float32
    if args.precision == "single":
        battery = battery.in_precision("single")
    h, h0 = battery.charging, battery.energy
    psi0 = jnp.asarray(battery.initial_state(), np.complex128 if real is np.float64 else np.complex64)
    p = ch.plan(h, 0.5)
    c, r = ch.working_interval(p.center, p.radius, real)
    tau = jnp.asarray(0.5 / p.segments, real)
    state = psi0.dtype.itemsize * 2**args.n
    for block in (int(b) for b in args.blocks.split(",")):
        block = p.degree + 1 if block == 0 else block
        compiled = ch.march_gram.lower(h, h0, psi0, c, r, tau, p.degree, p.segments, block).compile()
        memory = compiled.compiled.memory_analysis()
        row = {"n": args.n, "precision": args.precision, "backend": jax.default_backend()}
        row |= {"degree": p.degree, "block": block, "estimate_states": ch.march_vectors(p.degree, block)}
        for key in ("temp", "argument", "output", "alias"):
            row[f"{key}_states"] = round(getattr(memory, f"{key}_size_in_bytes") / state, 2)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
