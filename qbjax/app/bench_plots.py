"""The figures of `qbjax bench`: time against N, and throughput against batch size (log-log)."""

from __future__ import annotations

from pathlib import Path

TIME_WORKLOADS = ("curve", "pmax", "grad")
_COLORS = {"chebyshev": "C0", "krylov": "C1", "dense": "C2", "qutip": "k"}
_DEVICE_MARKERS = {"cpu": "o", "gpu": "s", "tpu": "^"}
_SIZE_MARKERS = "osD^v<>p*h"


def _series(rows, workload: str, x: str, y: str, label_keys: tuple[str, ...]) -> dict[tuple, list]:
    """(label values) -> sorted [(x, y)] over the measured rows of `workload`."""
    lines: dict[tuple, list] = {}
    for row in rows:
        if row["workload"] == workload and "run_s" in row:
            lines.setdefault(tuple(row[k] for k in label_keys), []).append((row[x], row[y]))
    return {key: sorted(points) for key, points in lines.items()}


def _style(engine: str, precision: str, marker: str) -> dict:
    """Colour by engine, marker by device; single precision dashed with open markers, so it
    stands apart from double even where a series has one point."""
    style = {"color": _COLORS.get(engine, "C3"), "marker": marker, "ms": 5}
    if precision == "single":
        return {**style, "linestyle": "--", "markerfacecolor": "none", "markeredgewidth": 1.2}
    return {**style, "linestyle": "-"}


def _log_axes(ax, ticks, xlabel: str, ylabel: str, legend: dict | None = None) -> None:
    """Log-log axes with the measured x values as plain tick labels; `legend`: its placement."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set(xscale="log", yscale="log", xlabel=xlabel, ylabel=ylabel)
    if ticks:
        ax.set_xticks(sorted(set(ticks)))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="x-small", **(legend or {}))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_times(rows, path: Path) -> None:
    """Run time against N, one panel per workload, one line per device, engine and precision
    (QuTiP's CPU time in the curve panel when measured)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(TIME_WORKLOADS), figsize=(15, 4.5), constrained_layout=True)
    keys = ("device", "engine", "precision")
    for ax, workload in zip(axes, TIME_WORKLOADS, strict=True):
        sizes = []
        for (device, engine, precision), points in _series(rows, workload, "n", "run_s", keys).items():
            ns, seconds = zip(*points, strict=True)
            sizes += ns
            style = _style(engine, precision, _DEVICE_MARKERS.get(device, "x"))
            ax.plot(ns, seconds, label=f"{device} {engine} {precision}", **style)
        ax.set_title(workload)
        _log_axes(ax, sizes, "spins N", "run time per call  [s]")
    fig.suptitle("qbjax bench: time against N (warm runs, median; compile time apart)", fontsize="medium")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_throughput(rows, path: Path) -> None:
    """Sweep points per second against the chunk's batch size, one line per device, engine,
    precision and N (the marker tells N)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4.5), constrained_layout=True)
    lines = _series(rows, "sweep", "batch", "points_per_s", ("device", "engine", "precision", "n"))
    sizes = sorted({key[-1] for key in lines})
    ticks = []
    for (device, engine, precision, n), points in lines.items():
        batches, rates = zip(*points, strict=True)
        ticks += batches
        style = _style(engine, precision, _SIZE_MARKERS[sizes.index(n) % len(_SIZE_MARKERS)])
        ax.plot(batches, rates, label=f"{device} {engine} {precision} N={n}", **style)
    ax.set_title("qbjax bench: sweep throughput against batch size", fontsize="medium")
    outside = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0)}
    _log_axes(ax, ticks, "batch (points per sweep chunk)", "points per second", outside)
    fig.savefig(path, dpi=110)
    plt.close(fig)
