"""Each device's share of a Chebyshev preparation when the state is split over D devices.

Compiles `Chebyshev(memory=M / D).with_shards(D).plan(chain, t_max).prepare` for D = 1 and
D (XLA's memory analysis: buffers of one device, nothing is run) and prints the ratio. The
budget M / D per device gives both the same plan (the same vectors kept), so the ratio is
the share of the same buffers. Run it with forced CPU devices:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 \\
        python benchmarks/sharded_memory.py --n 22 --precision single
"""

import argparse
import json
import math

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

import qbjax  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=22)
    parser.add_argument("--precision", default="single")
    parser.add_argument("--shards", type=int, default=len(jax.devices()))
    parser.add_argument("--memory-states", type=int, default=16, help="M in states of 2^N (default 16)")
    args = parser.parse_args()
    chain = qbjax.SpinChain(args.n, dm=0.5)
    t_max = 2 * math.pi / chain.omega
    state = 2**args.n * (8 if args.precision == "single" else 16)
    rows = {}
    for shards in (1, args.shards):
        memory = args.memory_states * state // shards
        engine = qbjax.Chebyshev(memory=memory).with_precision(args.precision).with_shards(shards)
        engine = engine.plan(chain, t_max)
        battery = chain.battery()
        compiled = jax.jit(engine.prepare).lower(battery, jnp.asarray(t_max)).compile()
        temp = compiled.memory_analysis().temp_size_in_bytes
        rows[shards] = {
            "temp_bytes_per_device": temp,
            "states_per_device": temp / state,
            "degree": engine.degree,
            "segments": engine.segments,
            "block": engine.block,
        }
    rows["ratio"] = rows[args.shards]["temp_bytes_per_device"] / rows[1]["temp_bytes_per_device"]
    print(
        json.dumps(
            {
                "n": args.n,
                "precision": args.precision,
                "shards": args.shards,
                **{str(k): v for k, v in rows.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
