"""Thermal-gradient battery (PHYSICS.md section 4): the two-stroke cycle against tau.

Two qubits A (hot bath, T_A = 2) and S (cold bath, T_S = 0.1), omega_0 = 1. For each
charging time tau the periodic two-stroke cycle is solved with the local and the global
master equation; work per cycle W, heat from the hot bath Q_A, efficiency W/Q_A and power
W/tau are plotted against tau together with the Carnot bound 1 - T_S/T_A and the SWAP
bound 1 - omega_S/omega_A. The NESS (tau -> infinity) values are written too.

    python experiments/thermal_cycle.py [--out experiments/out/thermal] [--points 25]
        [--omega-a 1 --omega-s 0.5 --g 0.1 --gamma 0.01 --temp-a 2 --temp-s 0.1]

Writes cycle.png, cycle.csv and ness.json.
"""

import argparse
import csv
import json
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

from qbjax.open import thermal as th  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out/thermal"))
    parser.add_argument("--points", type=int, default=25, help="tau values, log-spaced in [0.1, 1000]")
    for flag, default in [
        ("omega-a", 1.0),
        ("omega-s", 0.5),
        ("g", 0.1),
        ("gamma", 0.01),
        ("temp-a", 2.0),
        ("temp-s", 0.1),
    ]:
        parser.add_argument(f"--{flag}", type=float, default=default)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    pair = th.thermal_pair(args.omega_a, args.omega_s, args.g, args.gamma, args.temp_a, args.temp_s)
    taus = np.geomspace(0.1, 1000.0, args.points)
    rows, ness = [], {}
    for master in th.MASTERS:
        state = th.ness(pair, master)
        ness[master] = {
            "energy": float(state.energy),
            "ergotropy": float(state.ergotropy),
            "heat_current_a": float(state.heat_current_a),
            "heat_current_s": float(state.heat_current_s),
            "populations": dict(zip(th.POPULATION_LABELS, map(float, state.populations), strict=True)),
        }
        for tau in taus:
            c = th.two_stroke_cycle(pair, float(tau), master)
            numbers = {
                key: float(getattr(c, key)) for key in ("work", "heat_a", "heat_s", "efficiency", "power")
            }
            rows.append(dict(master=master, tau=float(tau), **numbers, converged=c.converged))
            print(
                f"{master:6s} tau = {tau:9.4g}  W = {c.work:.6g}  eta = {c.efficiency:.6f}  P = {c.power:.6g}"
            )

    with open(args.out / "cycle.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    params = {k: getattr(args, k) for k in ("omega_a", "omega_s", "g", "gamma", "temp_a", "temp_s")}
    (args.out / "ness.json").write_text(json.dumps({"parameters": params, "ness": ness}, indent=2))
    plot(rows, params, args.out / "cycle.png")


def plot(rows, params, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_eta, ax_power, ax_work) = plt.subplots(1, 3, figsize=(14, 4.2), constrained_layout=True)
    for master, style in (("local", "-o"), ("global", "--s")):
        sel = [r for r in rows if r["master"] == master]
        tau = [r["tau"] for r in sel]
        ax_eta.semilogx(tau, [r["efficiency"] for r in sel], style, ms=3, label=f"{master} ME")
        ax_power.semilogx(tau, [r["power"] for r in sel], style, ms=3, label=f"{master} ME")
        ax_work.loglog(tau, [r["work"] for r in sel], style, ms=3, label=f"{master} ME")
    carnot = 1 - params["temp_s"] / params["temp_a"]
    swap = 1 - params["omega_s"] / params["omega_a"]
    ax_eta.axhline(carnot, color="k", lw=0.8, ls=":", label=f"Carnot 1 - T_S/T_A = {carnot:.2f}")
    ax_eta.axhline(swap, color="grey", lw=0.8, ls="-.", label=f"1 - omega_S/omega_A = {swap:.2f}")
    ax_eta.set(
        xlabel="charging time tau  [1/omega_0]", ylabel="efficiency W/Q_A  [dimensionless]", ylim=(0, 1)
    )
    ax_power.set(xlabel="charging time tau  [1/omega_0]", ylabel="power W/tau  [omega_0^2]")
    ax_work.set(xlabel="charging time tau  [1/omega_0]", ylabel="work per cycle W  [omega_0]")
    for ax, title in (
        (ax_eta, "Efficiency"),
        (ax_power, "Power"),
        (ax_work, "Ergotropy extracted per cycle"),
    ):
        ax.set_title(title)
        ax.legend(fontsize="small")
    fig.suptitle(
        "Two-stroke thermal-gradient battery: " + ", ".join(f"{k} = {v:g}" for k, v in params.items()),
        fontsize="medium",
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
