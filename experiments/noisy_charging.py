"""Noisy charging of a spin-chain battery: P_max and ergotropy against the noise rate.

Le et al. chain (PHYSICS.md sections 1-2; "replace" protocol, nearest-neighbour XXZ,
g = B = 1, alpha = 0.5, omega = 4) charged from |down...down> while every site dephases
(jump sqrt(gamma) sz_k) or decays (jump sqrt(gamma) s-_k). Lindblad dynamics with the
matrix-free right-hand side and an adaptive solver; P_max = max over the grid of
W(t)/t in the window (0, 2 pi/omega]; maximal ergotropy of the mixed state over the window.

    python experiments/noisy_charging.py [--out experiments/out/noisy] [--n 4] [--rates 9]

Writes noisy.png and noisy.csv.
"""

import argparse
import csv
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import qbjax  # noqa: E402
from qbjax import noise_sweep  # noqa: E402

G, FIELD, ALPHA, OMEGA = 1.0, 1.0, 0.5, 4.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("experiments/out/noisy"))
    parser.add_argument("--n", type=int, default=4, help="number of spins (<= 8 is practical)")
    parser.add_argument("--rates", type=int, default=9, help="noise rates, 0 and log-spaced in [0.01, 4]")
    parser.add_argument("--grid", type=int, default=161, help="time samples in (0, 2 pi/omega]")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    battery = qbjax.spin_chain_battery(args.n, g=G, alpha=ALPHA, field=FIELD, omega=OMEGA)
    times = np.linspace(0.0, 2 * np.pi / OMEGA, args.grid)
    rates = np.concatenate([[0.0], np.geomspace(0.01, 4.0, args.rates - 1)])
    sweeps = {kind: noise_sweep(battery, times, rates, kind=kind) for kind in ("dephasing", "damping")}
    with open(args.out / "noisy.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["kind", "rate", "max_power", "t_max_power", "max_ergotropy", "final_ergotropy"])
        for kind, s in sweeps.items():
            for k in range(rates.size):
                row = [
                    s[key][k]
                    for key in ("rates", "max_power", "t_max_power", "max_ergotropy", "final_ergotropy")
                ]
                writer.writerow([kind, *row])
                print(kind, *(f"{x:.6g}" for x in row))
    plot(sweeps, args.n, args.out / "noisy.png")


def plot(sweeps, n, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_p, ax_e) = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
    for (kind, s), style in zip(sweeps.items(), ("-o", "--s"), strict=True):
        rates = np.where(s["rates"] > 0, s["rates"], 1e-3)  # rate 0 drawn at 1e-3 on the log axis
        ax_p.semilogx(rates, s["max_power"] / s["max_power"][0], style, ms=4, label=kind)
        ax_e.semilogx(rates, s["max_ergotropy"] / s["max_ergotropy"][0], style, ms=4, label=kind)
    ax_p.set(
        xlabel="noise rate gamma  [B]  (0 drawn at 1e-3)",
        ylabel="P_max / P_max(gamma = 0)",
        title="Maximum power",
    )
    ax_e.set(
        xlabel="noise rate gamma  [B]  (0 drawn at 1e-3)",
        ylabel="max ergotropy / value at gamma = 0",
        title="Maximum ergotropy in (0, 2 pi/omega]",
    )
    for ax in (ax_p, ax_e):
        ax.legend()
        ax.set_ylim(0, 1.05)
    fig.suptitle(
        f"Noisy charging, N = {n}, NN XXZ g = B = {G:g}, alpha = {ALPHA:g}, omega = {OMEGA:g}",
        fontsize="medium",
    )
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
