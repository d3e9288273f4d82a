"""qbjax bench: CPU-versus-GPU scaling of the standard workloads, on your own machine.

Runs, on each JAX backend (--devices), engine (--engines), precision (--precision) and chain
length (--n): one W(t) curve, P_max of one battery, the gradient of P_max, a sweep chunk of
each --batch size (sharded over every device of the backend) and one matrix-free H @ psi.
Records compile and run time apart (median of repeats), points per second, peak memory,
the bytes per second of H @ psi against a bandwidth measured in the same run, and the error
of single against double precision; QuTiP's CPU time for the W(t) curve when it is
installed. Compile times are fresh compilations (the persistent compilation cache is off for
this command). Prints a table and writes OUT/bench.json and two log-log figures
(OUT/bench_time.png, OUT/bench_throughput.png). Sizes whose memory would not fit, or whose
run is predicted to exceed --max-run-s, are skipped with the reason in their row.

    qbjax bench --smoke --json --out bench_smoke          # under a minute
    qbjax bench --n 8:16 --batch 1,16,64 --out bench       # minutes on a laptop
    qbjax bench --devices gpu --n 12:26:2 --precision single
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

HELP = "benchmark workloads on each device, engine and precision: table, JSON rows, log-log PNGs"

# the dense engine compiles fastest: every workload, both precisions and QuTiP in about 30 s
SMOKE = {"sizes": (4,), "engines": ("dense",), "batches": (1, 4), "repeats": 2}
SMOKE.update({"max_run_s": 2.0, "bandwidth_bytes": 2**24})


def add_arguments(parser) -> None:
    parser.add_argument("--devices", default=None, help="backends, e.g. cpu,gpu (default: every visible one)")
    parser.add_argument("--n", default="8:20:4", help="N as start:stop[:step] or a list (default 8:20:4)")
    from ...engines.registry import names

    engines = ",".join(names(state="vector"))  # the engines of 2^N amplitudes
    parser.add_argument("--engines", default=engines, help=f"engines (default all: {engines})")
    parser.add_argument("--batch", default="1,16,256", help="sweep chunk sizes (default 1,16,256)")
    parser.add_argument("--precision", default="double,single", help="double, single or both (default)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per measurement, median (default 5)"
    )
    parser.add_argument(
        "--max-run-s", type=float, default=20.0, help="skip runs predicted longer than this (default 20 s)"
    )
    parser.add_argument("--out", default="qbjax_bench", help="output folder (default ./qbjax_bench)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, under a minute (a CI check)")
    parser.add_argument("--no-qutip", action="store_true", help="do not time QuTiP even when installed")
    parser.add_argument("--json", action="store_true", help="print the JSON report instead of the table")


def _config(args):
    import importlib.util

    from ... import _checks
    from ... import devices as jax_devices
    from ..bench import BenchConfig, names_from, sizes_from

    try:
        batches = tuple(int(x) for x in names_from(args.batch))
    except ValueError:
        raise _checks.ArgumentError(
            "batch", f"expected a comma list of integers, got {args.batch!r}"
        ) from None
    options = {
        "backends": names_from(args.devices) if args.devices else jax_devices.visible_backends(),
        "sizes": sizes_from(args.n),
        "engines": names_from(args.engines),
        "batches": batches,
        "precisions": names_from(args.precision),
        "repeats": args.repeats,
        "max_run_s": args.max_run_s,
        "qutip": not args.no_qutip and importlib.util.find_spec("qutip") is not None,
    }
    config = BenchConfig(**options)  # the flags as given are checked, --smoke or not
    return dataclasses.replace(config, **SMOKE) if args.smoke else config


def run(args) -> int:
    import jax
    from tqdm import tqdm

    from ... import _checks
    from ..bench import run_bench
    from ..bench_plots import plot_throughput, plot_times

    config = _config(args)
    out = Path(_checks.output_folder("out", args.out))
    # compile_s must time XLA compiling, not loading a program compiled by an earlier run; JAX
    # decides at its first compilation whether the cache is used, so off for the whole process
    jax.config.update("jax_enable_compilation_cache", False)
    with tqdm(total=config.n_measurements(), unit="run", desc="bench", file=sys.stderr) as bar:

        def tick(label: str) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update()

        report = run_bench(config, progress=tick)
    report["command"] = command_line(args)
    report["plots"] = [str(out / "bench_time.png"), str(out / "bench_throughput.png")]
    plot_times(report["rows"], out / "bench_time.png")
    plot_throughput(report["rows"], out / "bench_throughput.png")
    (out / "bench.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report) if args.json else table(report))
    return 0


def command_line(args) -> str:
    """The command that reproduces this run, every flag spelled out."""
    words = ["qbjax bench", "--smoke" if args.smoke else ""]
    flags = ("devices", "n", "engines", "batch", "precision", "repeats", "max_run_s")
    for flag in flags[:1] if args.smoke else flags:  # --smoke sets the others
        value = getattr(args, flag)
        if value is not None:
            words.append(f"--{flag.replace('_', '-')} {value}")
    words.append("--no-qutip" if args.no_qutip else "")
    return " ".join(word for word in words if word)


def _cell(row: dict, key: str, width: int, spec: str) -> str:
    value = row.get(key)
    return " " * width if value is None else format(value, f"{width}{spec}")


def table(report: dict) -> str:
    """One line per measurement: times, throughput, memory, the single-precision error."""
    head = f"{'device':<6} {'N':>3} {'engine':<9} {'prec':<6} {'workload':<8} {'batch':>5} "
    head += f"{'compile s':>9} {'run s':>10} {'predicted':>10} {'points/s':>10} {'peak MiB':>9} "
    head += f"{'err vs dbl':>10}  note"
    lines = [", ".join(f"{k} {v}" for k, v in report["devices"].items())]
    lines += [
        f"{k} streaming bandwidth (best of copy, scale, add, triad): {v / 1e9:.1f} GB/s"
        for k, v in report["bandwidth_bytes_per_s"].items()
    ]
    check = report["predictions"]
    lines.append(
        f"predicted run times: {check['within_3x']} of {check['checked']} measured rows within 3x"
        + ("" if check["worst_ratio"] is None else f" (worst measured/predicted {check['worst_ratio']:.3g})")
    )
    lines += ["", head]
    for row in report["rows"]:
        peak = row.get("peak_bytes")
        note = row.get("skipped", "")
        if "bandwidth_fraction" in row:
            note = f"H@psi {row['matvec_bytes_per_s'] / 1e9:.2f} GB/s = {row['bandwidth_fraction']:.2f} of bw"
        elif "matvec_bytes_per_s" in row:
            note = f"H@psi {row['matvec_bytes_per_s'] / 1e9:.2f} GB/s (state cache-sized: no fraction)"
        lines.append(
            f"{row['device']:<6} {row['n']:>3} {row['engine']:<9} {row['precision']:<6} {row['workload']:<8} "
            f"{row['batch']:>5} {_cell(row, 'compile_s', 9, '.3f')} {_cell(row, 'run_s', 10, '.4g')} "
            f"{_cell(row, 'predicted_run_s', 10, '.4g')} "
            f"{_cell(row, 'points_per_s', 10, '.4g')} {' ' * 9 if peak is None else f'{peak / 2**20:9.1f}'} "
            f"{_cell(row, 'error_vs_double', 10, '.1e')}  {note}"
        )
    return "\n".join(lines)
