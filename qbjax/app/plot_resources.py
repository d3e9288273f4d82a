"""Figures of the two-qubit battery-charger resources (matplotlib imported lazily)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

# the time series of the top panel
TOP = (
    "capacity",
    "residual_capacity",
    "concurrence",
    "steering_normalized",
    "bell_normalized",
    "l1_coherence",
    "texture",
    "texture_pair",
    "first_order_coherence",
)
# resource -> axis label, for the scatter panels against the battery capacity
SCATTER = {
    "residual_capacity": "residual capacity",
    "concurrence": "concurrence",
    "negativity": "negativity",
    "entropy": "entropy S(rho_b)",
    "steering": "steering F3",
    "bell": "Bell B_max",
    "l1_coherence": "l1 coherence",
    "imaginarity": "l1 imaginarity",
    "texture": "texture of rho_b (trace distance)",
    "texture_grand_sum": "texture of rho_b (grand sum)",
    "texture_pair": "texture of rho_bc (trace distance)",
    "first_order_coherence": "first-order coherence",
    "mutual_information": "mutual information",
}


def plot_resources(series: dict, path: str | Path, title: str = "") -> None:
    """Time series (top) and capacity against each resource (scatter, coloured by time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = np.asarray(series["times"])
    capacity = np.asarray(series["capacity"])
    rows = -(-len(SCATTER) // 4)
    fig = plt.figure(figsize=(14, 3.2 + 3.3 * rows), constrained_layout=True)
    grid = fig.add_gridspec(1 + rows, 4, height_ratios=[1.2] + [1] * rows)
    top = fig.add_subplot(grid[0, :])
    # several measures coincide (at resonance concurrence, normalised steering and Bell and
    # l1 coherence are one curve): styles tell them apart, the legend sits beside the axes
    styles = ["-", "--", ":", "-."]
    for k, key in enumerate(TOP):
        top.plot(times, np.asarray(series[key]), styles[k % len(styles)], label=key, lw=1.6)
    top.set(
        xlabel="time t  [1/omega_b]", ylabel="value  [omega_b for capacities]", title="Along the evolution"
    )
    top.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    scatter = None
    order = np.argsort(-times)  # the trajectory retraces itself: early points drawn last, on top
    for k, (key, label) in enumerate(SCATTER.items()):
        ax = fig.add_subplot(grid[1 + k // 4, k % 4])
        x = np.asarray(series[key])
        ax.plot(x, capacity, color="0.75", lw=0.8, zorder=1)
        scatter = ax.scatter(x[order], capacity[order], c=times[order], s=10, cmap="viridis", zorder=2)
        if np.ptp(x) <= 1e-9 * max(1.0, float(np.max(np.abs(x)))):  # constant: no zoom into round-off
            ax.set_xlim(x[0] - 0.1, x[0] + 0.1)
        r, rho = pearson(x, capacity), spearman(x, capacity)
        ax.set(
            xlabel=label,
            ylabel="capacity C(rho_b, H_b)  [omega_b]",
            title=f"Pearson {r:+.2f}, Spearman {rho:+.2f}" if np.isfinite(r) else "constant: no correlation",
        )
    if scatter is not None:
        label = "time t  [1/omega_b] (earliest on top)"
        fig.colorbar(scatter, ax=fig.axes[1:], label=label, shrink=0.6)
    if title:
        fig.suptitle(title, fontsize="medium")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _constant(x: np.ndarray) -> bool:
    return bool(np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())))


def pearson(x, y) -> float:
    """Pearson (linear) correlation of two series; NaN when either is constant."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if _constant(x) or _constant(y):
        return float("nan")
    return float(np.corrcoef(x, y)[0, 1])


def spearman(x, y) -> float:
    """Spearman rank correlation (-1: y a decreasing function of x); NaN when either is constant.

    Values within 1e-9 of each other count as ties, so round-off does not order them.
    """
    from scipy.stats import rankdata

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if _constant(x) or _constant(y):
        return float("nan")
    return pearson(rankdata(np.round(x, 9)), rankdata(np.round(y, 9)))
