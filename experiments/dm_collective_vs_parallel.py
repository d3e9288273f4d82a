"""DM interaction: collective versus parallel charging of an N-spin chain (PHYSICS.md section 2).

For each protocol ("collective" = the DM paper's set-up: energy B sum sz, interactions only while
charging; "replace" and "add" for comparison) and each regime (alpha, omega), P_max and the
maximal ergotropy E_max = max_t <H0>_t - E_ground(H0) are computed against D, for the
interacting chain (collective charging, g = 1) and for the same cells with g_ij = 0 (parallel
charging; D then has no effect). For the collective protocol it also records, over time, the
first-order coherence and the steering F3 between the neighbouring cells 0 and 1.

    python experiments/dm_collective_vs_parallel.py [--out experiments/out/dm_study] [--points 9]

Writes dm_pmax.png, dm_resources.png, dm_study.csv, dm_resources.json.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import qbjax  # noqa: E402

N = 4
PROTOCOLS = ("collective", "replace", "add")
REGIMES = [(0.0, 1.0), (1.0, 1.0), (0.0, 4.0), (1.0, 4.0)]  # (alpha, omega)


def merit(protocol, alpha, omega, dm, g, t_max):
    battery = qbjax.spin_chain_battery(N, g=g, alpha=alpha, dm=dm, omega=omega, field=1.0, protocol=protocol)
    r = qbjax.charge(battery, t_max)
    e_max = float(r.max_work + r.initial_energy - qbjax.ground_energy(battery.energy))
    return float(r.max_power), e_max


def neighbour_resources(alpha, omega, dm, times):
    battery = qbjax.spin_chain_battery(
        N, g=1.0, alpha=alpha, dm=dm, omega=omega, field=1.0, protocol="collective"
    )
    states = qbjax.evolve(battery.charging, battery.initial_state(), times)
    pair = jax.vmap(lambda psi: qbjax.ptrace(psi, (0, 1)))(states)
    energy = jax.vmap(lambda psi: qbjax.ergotropy(psi, qbjax.dense(battery.energy)))(states)
    return (
        np.asarray(jax.vmap(qbjax.first_order_coherence)(pair)),
        np.asarray(jax.vmap(qbjax.steering)(pair)),
        np.asarray(energy),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="experiments/out/dm_study")
    parser.add_argument("--points", type=int, default=9)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dms = np.linspace(0.0, 2.0, args.points)
    t_max = 2 * np.pi  # window in units of 1/B
    rows = []
    for protocol in PROTOCOLS:
        for alpha, omega in REGIMES:
            p_par, e_par = merit(protocol, alpha, omega, 0.0, 0.0, t_max)
            for dm in dms:
                p_col, e_col = merit(protocol, alpha, omega, float(dm), 1.0, t_max)
                rows.append(
                    dict(
                        protocol=protocol,
                        alpha=alpha,
                        omega=omega,
                        dm=float(dm),
                        pmax_collective=p_col,
                        emax_collective=e_col,
                        pmax_parallel=p_par,
                        emax_parallel=e_par,
                    )
                )
    with open(out / "dm_study.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(PROTOCOLS), figsize=(15, 8), constrained_layout=True)
    for j, protocol in enumerate(PROTOCOLS):
        for alpha, omega in REGIMES:
            sel = [
                r for r in rows if r["protocol"] == protocol and r["alpha"] == alpha and r["omega"] == omega
            ]
            label = f"alpha={alpha:g}, omega={omega:g}"
            (line,) = axes[0, j].plot(
                dms, [r["pmax_collective"] / r["pmax_parallel"] for r in sel], "o-", label=label
            )
            axes[1, j].plot(
                dms, [r["emax_collective"] / r["emax_parallel"] for r in sel], "o-", color=line.get_color()
            )
        axes[0, j].axhline(1, color="k", lw=0.8)
        axes[1, j].axhline(1, color="k", lw=0.8)
        axes[0, j].set(title=f"protocol {protocol}", xlabel="D", ylabel="P_max collective / parallel")
        axes[1, j].set(xlabel="D", ylabel="E_max collective / parallel")
        axes[0, j].legend(fontsize="small")
    fig.suptitle(f"N = {N} nn chain, g = 1 (collective) vs g = 0 (parallel), B = 1, window (0, 2 pi]")
    fig.savefig(out / "dm_pmax.png", dpi=100)
    plt.close(fig)

    times = np.linspace(0.0, 2 * np.pi, 201)
    resources = {}
    fig, axes = plt.subplots(1, 3, figsize=(15, 4), constrained_layout=True)
    for dm in (0.0, 1.0, 2.0):
        coherence, steer, ergo = neighbour_resources(1.0, 1.0, dm, times)
        resources[f"D={dm:g}"] = dict(
            first_order_coherence=coherence.tolist(), steering=steer.tolist(), ergotropy=ergo.tolist()
        )
        axes[0].plot(times, ergo, label=f"D = {dm:g}")
        axes[1].plot(times, coherence, label=f"D = {dm:g}")
        axes[2].plot(times, steer, label=f"D = {dm:g}")
    axes[0].set(xlabel="t", ylabel="ergotropy of the chain", title="collective, alpha = 1, omega = 1")
    axes[1].set(xlabel="t", ylabel="first-order coherence of cells 0,1")
    axes[2].set(xlabel="t", ylabel="steering F3 between cells 0,1")
    axes[2].axhline(1, color="k", lw=0.8)
    for ax in axes:
        ax.legend(fontsize="small")
    fig.savefig(out / "dm_resources.png", dpi=100)
    plt.close(fig)
    (out / "dm_resources.json").write_text(json.dumps({"times": times.tolist(), **resources}))
    for r in rows:
        if r["dm"] in (0.0, 1.0, 2.0):
            print(
                f"{r['protocol']:<10} alpha={r['alpha']:g} omega={r['omega']:g} D={r['dm']:.2f}  "
                f"P_max {r['pmax_collective']:.4f} (parallel {r['pmax_parallel']:.4f})  "
                f"E_max {r['emax_collective']:.4f} (parallel {r['emax_parallel']:.4f})"
            )


if __name__ == "__main__":
    main()
