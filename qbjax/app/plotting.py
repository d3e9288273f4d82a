"""Matplotlib figures (imported lazily: only the commands that draw need matplotlib)."""

from __future__ import annotations

import textwrap
from pathlib import Path


def plot_charging_curves(data: dict, path: Path) -> None:
    """W(t) and P(t) = W(t)/t, one line per row of `data` (as written by the demo)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = data["times"]
    fig, (ax_work, ax_power) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for row in data["rows"]:
        label = f"alpha = {row['alpha']:g}"
        (line,) = ax_work.plot(times, row["work"], label=label)
        ax_power.plot(times, row["power"], color=line.get_color(), label=label)
        ax_power.plot(row["t_max_power"], row["max_power"], "o", color=line.get_color())
    ax_work.set(xlabel="charging time t  [1/B]", ylabel="work W(t)  [B]", title="Work deposited")
    ax_power.set(xlabel="charging time T  [1/B]", ylabel="power P(T) = W(T)/T  [B^2]", title="Average power")
    ax_power.legend(fontsize="small")
    fig.suptitle(data["model"], fontsize="medium")
    fig.savefig(path, dpi=120)
    plt.close(fig)


_LABELS = {
    "g": "coupling g  [B]",
    "p": "power-law exponent p",
    "alpha": "anisotropy alpha",
    "dm": "DM strength D  [B]",
    "field": "field B",
    "omega": "charging field omega  [B]",
    "t_max": "window t_max  [1/B]",
}


def plot_sweep(result, path) -> str | None:
    """P_max against one swept parameter (with T*), or a heatmap over two; None otherwise."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan = result.plan
    if not plan.axes or len(plan.axes) > 2:
        return None
    power = result.values["max_power"]
    model = ", ".join(f"{k} = {v}" for k, v in plan.model.items())
    if len(plan.axes) == 1:
        fig, ax = plt.subplots(figsize=(6, 4), constrained_layout=True)
        ax.plot(plan.axes[0], power, "o-", ms=3, label="P_max")
        ax.set(xlabel=_LABELS[plan.names[0]], ylabel="maximum power P_max  [B^2]")
        twin = ax.twinx()
        twin.plot(plan.axes[0], result.values["t_max_power"], "--", color="C1", label="T*")
        twin.set_ylabel("T*  [1/B]", color="C1")
    else:
        fig, ax = plt.subplots(figsize=(6, 4.5), constrained_layout=True)
        mesh = ax.pcolormesh(plan.axes[1], plan.axes[0], power, shading="nearest", cmap="viridis")
        fig.colorbar(mesh, ax=ax, label="maximum power P_max  [B^2]")
        ax.set(xlabel=_LABELS[plan.names[1]], ylabel=_LABELS[plan.names[0]])
    ax.set_title(textwrap.fill(model, 70), fontsize="small")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return str(path)
