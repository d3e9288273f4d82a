"""Le et al. 2018, fig. 2: maximum power of an N = 4 chain against the anisotropy alpha.

Nearest-neighbour and long-range (p = 1) couplings, g = B = 1, omega = 4, "replace"
protocol, window (0, 2 pi/omega]. P_max is normalised by P_ind, the power of 4
independent spins (alpha = 1). All alphas of one coupling run as one `vmap` batch that
shares the term structure.

    python experiments/le2018_fig2.py [--out experiments/out/le2018_fig2] [--points 41]

Writes fig2.png and fig2.csv (alpha, P_max/P_ind and T* for each coupling).
"""

import argparse
import csv
import math
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import qbjax  # noqa: E402

N, G, FIELD, OMEGA = 4, 1.0, 1.0, 4.0
COUPLINGS = {"NN": ("nn", 1.0), "LR (p = 1)": ("lr", 1.0)}


def max_power_curve(coupling: str, p: float, alphas: np.ndarray, n_grid: int):
    def one(alpha):
        battery = qbjax.spin_chain_battery(
            N, coupling=coupling, g=G, p=p, alpha=alpha, field=FIELD, omega=OMEGA
        )
        return qbjax.max_power(battery, 2 * math.pi / OMEGA, n_grid=n_grid)

    p_max, t_star = jax.jit(jax.vmap(one))(alphas)
    return np.asarray(p_max), np.asarray(t_star)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="experiments/out/le2018_fig2")
    parser.add_argument("--points", type=int, default=41)
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    alphas = np.linspace(-1.0, 1.0, args.points)
    p_ind = N * OMEGA * FIELD * 2 * math.sin(1.1655611852072112) ** 2 / 1.1655611852072112
    curves = {name: max_power_curve(c, p, alphas, n_grid=800) for name, (c, p) in COUPLINGS.items()}

    with open(out / "fig2.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["alpha"] + [f"{name} {q}" for name in curves for q in ("P_max/P_ind", "T*")])
        for i, alpha in enumerate(alphas):
            writer.writerow(
                [f"{alpha:.6f}"]
                + [f"{v:.10g}" for name in curves for v in (curves[name][0][i] / p_ind, curves[name][1][i])]
            )

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for name, (p_max, _) in curves.items():
        ax.plot(alphas, p_max / p_ind, label=name)
    ax.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax.set(xlabel="anisotropy alpha", ylabel="P_max / P_ind", title=f"N = {N}, g = B, omega = 4B")
    ax.legend()
    fig.savefig(out / "fig2.png", dpi=130)
    print(f"wrote {out / 'fig2.png'} and {out / 'fig2.csv'}")
    for name, (p_max, t_star) in curves.items():
        i = int(np.argmin(np.abs(alphas)))
        print(f"{name}: P_max/P_ind at alpha = 0: {p_max[i] / p_ind:.4f} (T* = {t_star[i]:.5f})")


if __name__ == "__main__":
    main()
