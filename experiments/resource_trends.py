"""Which trends of PHYSICS.md section 3 hold, for which parameters of the battery-charger pair.

Two-qubit battery-charger model (qbjax.charger; H = -omega_b sz_b - omega_c sz_c
+ J1 (s+ s- + h.c.) + J2 sz sz) evolved from |g_b e_c> over one exchange cycle
t in [0, pi/Omega], Omega^2 = (omega_b - omega_c)^2 + J1^2. For each parameter set: the
Spearman rank correlation of every measure with the battery capacity C(rho_b, H_b), and
whether each trend the source states holds:
    falls_with_resources  Spearman(X, capacity) < -0.99 for X = concurrence, negativity,
                          steering, Bell, l1 coherence
    peaks_where_vanish    capacity is at its maximum where concurrence, negativity, normalised
                          steering and Bell, and l1 coherence are all 0
    residual_rises        Spearman(residual capacity, concurrence) > 0.99
    texture_rises         Spearman(texture of rho_b, capacity) > 0.99
plus a detuning scan (J1 = 1, omega_b + omega_c = 6) of the imaginarity and pair-texture
correlations. A constant series has no correlation (NaN, "const").

    python experiments/resource_trends.py [--out experiments/out/resource_trends] [--n-times 401]

Writes resource_trends.csv (one row per parameter set), resource_trends.json and
resource_trends.png (Spearman correlations with the capacity, measures by parameter set).
"""

import argparse
import csv
import json
import math
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from qbjax.app.plot_resources import spearman  # noqa: E402
from qbjax.tasks.charger import INITIAL_STATES, MEASURES, resource_series  # noqa: E402

# (label, omega_b, omega_c, J1, J2); the label's detuning is omega_b - omega_c
PARAMETER_SETS = [
    ("resonant", 1.0, 1.0, 1.0, 0.0),
    ("resonant, weak J1", 1.0, 1.0, 0.3, 0.0),
    ("resonant, J2", 1.0, 1.0, 1.0, 0.7),
    ("detuned +0.5", 1.5, 1.0, 1.0, 0.0),
    ("detuned -0.5", 1.0, 1.5, 1.0, 0.0),
    ("detuned +2", 3.0, 1.0, 1.0, 0.0),
    ("detuned -2", 1.0, 3.0, 1.0, 0.0),
    ("detuned +0.5, J2", 1.5, 1.0, 1.0, -0.6),
    ("detuned -0.8, J1 0.5, J2", 1.0, 1.8, 0.5, 0.4),  # (w_b - w_c)/J1 = -1.6,
]
DETUNINGS = (-4.0, -2.0, -1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0, 2.0, 4.0)
FALLING = ("concurrence", "negativity", "steering", "bell", "l1_coherence")
VANISHING = ("concurrence", "negativity", "steering_normalized", "bell_normalized", "l1_coherence")
OTHERS = [key for key in MEASURES if key != "capacity"]


def analyse(label, omega_b, omega_c, j1, j2, n_times, initial) -> dict:
    """Spearman correlations with the capacity and the four trend checks for one parameter set."""
    t_max = math.pi / math.hypot(omega_b - omega_c, j1)
    times = np.linspace(0.0, t_max, n_times)
    series = resource_series(times, omega_b=omega_b, omega_c=omega_c, j1=j1, j2=j2, initial=initial)
    s = {key: np.asarray(value) for key, value in series.items()}
    capacity = s["capacity"]
    rank = {key: spearman(s[key], capacity) for key in OTHERS}
    residual_vs_concurrence = spearman(s["residual_capacity"], s["concurrence"])
    vanish = np.all([np.abs(s[key]) < 1e-9 for key in VANISHING], axis=0)
    scale = max(1.0, float(capacity.max()))
    trends = {
        "falls_with_resources": all(rank[key] < -0.99 for key in FALLING),
        "peaks_where_vanish": bool(
            vanish.any()
            and np.all(np.abs(capacity[vanish] - capacity.max()) < 1e-9 * scale)
            and np.all(vanish[np.abs(capacity - capacity.max()) < 1e-9 * scale])
        ),
        "residual_rises": residual_vs_concurrence > 0.99,
        "texture_rises": rank["texture"] > 0.99,
    }
    return {
        "label": label,
        "omega_b": omega_b,
        "omega_c": omega_c,
        "j1": j1,
        "j2": j2,
        "detuning_over_j1": (omega_b - omega_c) / j1,
        "t_max": t_max,
        "spearman_with_capacity": rank,
        "spearman_residual_with_concurrence": residual_vs_concurrence,
        "trends": trends,
        "texture_pair_range": [float(s["texture_pair"].min()), float(s["texture_pair"].max())],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out/resource_trends"))
    parser.add_argument("--n-times", type=int, default=401, help="times in one exchange cycle [0, pi/Omega]")
    parser.add_argument("--initial", default="ge", choices=INITIAL_STATES, help="initial state (default ge)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    rows = [analyse(*p, args.n_times, args.initial) for p in PARAMETER_SETS]
    scan = [
        analyse(f"scan {d:+g}", 3.0 + d / 2, 3.0 - d / 2, 1.0, 0.0, args.n_times, args.initial)
        for d in DETUNINGS
    ]

    with open(args.out / "resource_trends.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(
            [
                "label",
                "omega_b",
                "omega_c",
                "j1",
                "j2",
                *(f"spearman_{key}" for key in OTHERS),
                "spearman_residual_with_concurrence",
                *rows[0]["trends"],
            ]
        )
        for r in rows + scan:
            writer.writerow(
                [
                    r["label"],
                    r["omega_b"],
                    r["omega_c"],
                    r["j1"],
                    r["j2"],
                    *(r["spearman_with_capacity"][key] for key in OTHERS),
                    r["spearman_residual_with_concurrence"],
                    *r["trends"].values(),
                ]
            )
    with open(args.out / "resource_trends.json", "w") as f:
        report = {
            "initial": args.initial,
            "n_times": args.n_times,
            "parameter_sets": rows,
            "detuning_scan": scan,
        }
        json.dump(_nulls(report), f, indent=1)
    print(table(rows, args.initial))
    print()
    print(scan_table(scan))
    plot(rows + scan, args.out / "resource_trends.png", args.initial)


def _nulls(value):
    """NaN (a constant series: no correlation) as JSON null, recursively."""
    if isinstance(value, dict):
        return {key: _nulls(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nulls(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _number(x: float) -> str:
    return "const" if math.isnan(x) else f"{x:+.3f}"


def table(rows, initial) -> str:
    lines = [f"Spearman rank correlation with the capacity C(rho_b, H_b), from {initial}, one cycle"]
    width = 8
    lines.append(f"  {'set':<36}" + "".join(f"{k + 1:>{width}}" for k in range(len(rows))))
    for k, r in enumerate(rows):
        lines.append(
            f"  {k + 1}: {r['label']} (w_b {r['omega_b']:g}, w_c {r['omega_c']:g}, "
            f"J1 {r['j1']:g}, J2 {r['j2']:g})"
        )
    lines.append("")
    lines.append(f"  {'measure':<36}" + "".join(f"{k + 1:>{width}}" for k in range(len(rows))))
    for key in OTHERS:
        values = "".join(f"{_number(r['spearman_with_capacity'][key]):>{width}}" for r in rows)
        lines.append(f"  {key:<36}{values}")
    values = "".join(f"{_number(r['spearman_residual_with_concurrence']):>{width}}" for r in rows)
    lines.append(f"  {'residual_capacity vs concurrence':<36}{values}")
    lines.append("")
    lines.append("  trend holds?")
    for trend in rows[0]["trends"]:
        values = "".join(f"{'yes' if r['trends'][trend] else 'NO':>{width}}" for r in rows)
        lines.append(f"  {trend:<36}{values}")
    return "\n".join(lines)


def scan_table(scan) -> str:
    lines = [
        "Detuning scan, J1 = 1, J2 = 0, omega_b + omega_c = 6: Spearman with the capacity",
        f"  {'(w_b - w_c)/J1':>14} {'imaginarity':>12} {'texture':>9} {'texture_pair':>13}"
        f" {'concurrence':>12}",
    ]
    for r in scan:
        rank = r["spearman_with_capacity"]
        lines.append(
            f"  {r['detuning_over_j1']:>14g} {_number(rank['imaginarity']):>12} "
            f"{_number(rank['texture']):>9} {_number(rank['texture_pair']):>13} "
            f"{_number(rank['concurrence']):>12}"
        )
    return "\n".join(lines)


def plot(rows, path: Path, initial) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = np.array([[r["spearman_with_capacity"][key] for r in rows] for key in OTHERS])
    fig, ax = plt.subplots(figsize=(12, 7), constrained_layout=True)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
    ax.set_yticks(range(len(OTHERS)), OTHERS)
    ax.set_xticks(range(len(rows)), [r["label"] for r in rows], rotation=60, ha="right")
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            text = "const" if np.isnan(values[i, j]) else f"{values[i, j]:+.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, label="Spearman correlation with C(rho_b, H_b)")
    ax.set_title(f"Battery-charger pair from {initial}, one exchange cycle", fontsize="medium")
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
