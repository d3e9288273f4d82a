"""Matplotlib figures (imported lazily: only the commands that draw need matplotlib)."""

from __future__ import annotations

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
