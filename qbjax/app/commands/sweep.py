"""qbjax sweep: P_max, T*, W_max and ergotropy over a grid of model parameters.

Every numeric model flag takes a value, a comma list (0,0.5,1) or a range
start:stop:count (count points from start to stop inclusive; write a negative start
as --alpha=-1:1:21). Flags with more than one value are swept over their Cartesian
product (or zipped with --zip). Results go to --out chunk by chunk; rerunning the same
command resumes. A line plot (one swept parameter) or a heatmap (two) is written to
OUT/sweep.png.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ._common import (
    MODEL_KEYS,
    add_memory_flag,
    add_method_flag,
    add_model_flags,
    add_precision_flag,
    emit,
)

HELP = "sweep model parameters: P_max, T*, W_max, ergotropy on a grid, resumable"
MAX_AXIS_VALUES = 10**6  # values of one swept flag (start:stop:1000000000 grew to 23.8 GB)
BYTES_PER_POINT = 4096  # a point's row, results, JSON line and Python objects, generously


def values(text: str) -> list[float]:
    """A number, a comma list, or start:stop:count."""
    try:
        if ":" in text:
            start, stop, count = text.split(":")
            count = int(count)
            if not 1 <= count <= MAX_AXIS_VALUES:
                raise ValueError
            return np.linspace(float(start), float(stop), count).tolist()
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number, a comma list or start:stop:count with 1 <= count <= {MAX_AXIS_VALUES}, "
            f"got {text!r}"
        ) from None


def _check_size(axes: dict, grid: bool) -> None:
    """Refuse, before any work, a sweep whose points would not fit in memory, naming the
    longest swept flag."""
    from ... import _checks

    lengths = {name: len(axis) for name, axis in axes.items()}
    points = int(np.prod(list(lengths.values()), dtype=object)) if grid else max(lengths.values())
    longest = max(lengths, key=lengths.get)
    _checks.fits(longest, points * BYTES_PER_POINT, f"a sweep of {points} points")


def add_arguments(parser) -> None:
    add_model_flags(parser, number=values)
    parser.add_argument(
        "--t-max",
        type=values,
        default=None,
        help="window (0, T] in units of 1/B: a value or a range (default 2 pi/omega)",
    )
    parser.add_argument(
        "--n-grid", type=int, default=None, help="grid points before refinement (default: auto)"
    )
    parser.add_argument(
        "--chunk", type=int, default=None, help="points per chunk (default: by memory, at most 256)"
    )
    parser.add_argument(
        "--zip", action="store_true", help="pair the swept values (equal lengths) instead of a grid"
    )
    add_method_flag(parser)
    add_precision_flag(parser)
    add_memory_flag(parser)
    parser.add_argument(
        "--devices",
        default=None,
        help="JAX backend whose local devices share the chunks: cpu, gpu (default: JAX's default)",
    )
    parser.add_argument("--out", required=True, help="output folder (resumed when it holds this sweep)")
    parser.add_argument("--no-plot", action="store_true", help="do not write OUT/sweep.png")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from ..._checks import ArgumentError, output_folder
    from ...devices import use_cpu_cores
    from ...tasks.precision_check import sweep_keys
    from ...tasks.sweep import sweep
    from ..plotting import plot_sweep

    output_folder("out", args.out)  # --out '' wrote its plot to /sweep.png
    if args.devices in (None, "cpu"):
        try:
            use_cpu_cores()  # the chunks split over every core
        except ArgumentError:
            pass  # called from Python after JAX ran: its devices are fixed, keep them

    model, axes = {}, {}
    for key in MODEL_KEYS:
        value = getattr(args, key)
        if isinstance(value, list) and len(value) > 1:
            axes[key] = value
        else:
            model[key] = value[0] if isinstance(value, list) else value
    t_max = None
    if args.t_max is not None:
        if len(args.t_max) > 1:
            axes["t_max"] = args.t_max
        else:
            t_max = args.t_max[0]
    if not axes:
        axes = {"alpha": [model.pop("alpha")]}
    _check_size(axes, grid=not args.zip)
    result = sweep(
        model,
        axes,
        grid=not args.zip,
        t_max=t_max,
        n_grid=args.n_grid,
        chunk=args.chunk,
        out=args.out,
        method=args.method,
        precision=args.precision,
        backend=args.devices,
        memory=args.memory,
    )
    for note in result.notes:  # a repaired folder is worth a line where the user looks
        print(f"qbjax sweep: {note}", file=sys.stderr)
    figure = None if args.no_plot else plot_sweep(result, f"{args.out}/sweep.png")
    report = {
        "points": [_contract(point, result.plan.names) for point in result.points()],
        "devices": result.devices,
        "device": result.device,
        "method": result.plan.engine.name,
        **sweep_keys(result),
        "resumed_chunks": result.resumed_chunks,
        "chunks": result.plan.n_chunks,
        "notes": list(result.notes),
        "out": args.out,
        "plot": figure,
    }
    emit(report, args.json, lambda r: _summary(result, r))
    return 0


def _contract(point: dict, names) -> dict:
    keys = (*names, "t_max", "max_power", "t_max_power", "max_work", "t_max_work", "ergotropy")
    return {key: point[key] for key in dict.fromkeys(keys)}


def _summary(result, report) -> str:
    best = max(report["points"], key=lambda point: point["max_power"])
    swept = ", ".join(
        f"{name} ({len(set(result.plan.rows[:, i]))} values)" for i, name in enumerate(result.plan.names)
    )
    where = ", ".join(f"{name} = {best[name]:.6g}" for name in result.plan.names)
    return "\n".join(
        [
            f"sweep of {result.plan.n_points} points over {swept}: N = {result.plan.model['n']}, "
            f"protocol {result.plan.model['protocol']}",
            f"{report['chunks']} chunks ({report['resumed_chunks']} resumed) on {report['device']}, "
            f"method {report['method']}, {report['precision']} precision"
            + (
                f" (estimated P_max error {report['max_power_relative_error']:.1g} relative)"
                if "max_power_relative_error" in report
                else ""
            ),
            f"largest P_max = {best['max_power']:.10g} at T* = {best['t_max_power']:.10g} ({where})",
            f"results: {report['out']}/sweep.nc" + (f", plot: {report['plot']}" if report["plot"] else ""),
        ]
    )
