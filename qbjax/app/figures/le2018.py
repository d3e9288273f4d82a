"""Le, Levinsen, Parish and Pollock 2018 (PRA 97, 022106), figs. 2-6, in the paper's conventions.

Units: hbar = 1 and energies in units of the field B (B = 1), so times are in 1/B, work in B
and power in B^2. Every point is computed by `report.charge_report`, the function behind
`qbjax charge`, and stored in the data file (JSON) together with its model, method and window,
so `qbjax charge` with those flags reproduces each number. Quantum points use the dense engine
(N <= 12) or the symmetric one (p = 0); classical points use the mean-field engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ... import _checks
from ..report import charge_report

FIELD = 1.0
X_STAR = 1.1655611852072112  # tan x = 2x: the single spin's T* = X_STAR / omega
SINGLE_SPIN_POWER = 2 * math.sin(X_STAR) ** 2 / X_STAR  # P^(1) / (omega B) = 1.449223

UNITS = {"time": "1/B", "work": "B", "power": "B^2"}
PAPER = "Le et al., PRA 97, 022106 (2018)"
# bounds of the figures' sizes (reproduce --points, --n-max): each fig. 2 point and each N of
# figs. 4 and 6 is one charge, exact diagonalisation up to N = 12, the symmetric subspace beyond
MAX_CHARGES = 2001
MAX_QUANTUM_N = 12
MAX_SYMMETRIC_N = 1024


def single_spin_power(omega: float, field: float = FIELD) -> float:
    """P^(1) = 1.449223 omega B, the maximum power of one spin (PHYSICS.md)."""
    return SINGLE_SPIN_POWER * omega * field


def point(model: dict, *, method: str = "auto", t_max: float | None = None, times=None) -> dict:
    """One `qbjax charge` result as the JSON object that `qbjax charge --json` prints."""
    model = {
        "n": 4, "coupling": "nn", "g": 1.0, "p": 1.0, "alpha": 0.0, "dm": 0.0, "field": FIELD,
        "omega": 4.0, "protocol": "replace", "periodic": False, **model,
    }  # fmt: skip
    if t_max is None:
        t_max = 2 * math.pi / abs(model["omega"])
    return charge_report(model, t_max, times=times, method=method)


def write_figure(out: Path, name: str, data: dict, fig, *, paper: str = PAPER, units: dict = UNITS) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    data = {"figure": name, "paper": paper, "units": units, **data}
    (out / f"{name}.json").write_text(json.dumps(data, indent=1))
    fig.savefig(out / f"{name}.png", dpi=130)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return {"png": str(out / f"{name}.png"), "data": str(out / f"{name}.json")}


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------------------
def fig2(out: Path, *, points: int = 21, **_) -> dict:
    """P_max / P_ind of an N = 4 chain against alpha; nn and lr (p = 1); g = B, omega = 4B."""
    _checks.integer_in("points", points, 2, MAX_CHARGES, "each point is one charge")
    alphas = np.linspace(-1.0, 1.0, points)
    p_ind = 4 * single_spin_power(4.0)
    series = {}
    for label, coupling in (("NN", {"coupling": "nn"}), ("LR (p = 1)", {"coupling": "lr", "p": 1.0})):
        series[label] = [point({"n": 4, "alpha": float(a), **coupling}) for a in alphas]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6), constrained_layout=True)
    for label, rows in series.items():
        ax.plot(alphas, [r["max_power"] / p_ind for r in rows], "o-", ms=3, label=label)
    ax.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax.set(xlabel="anisotropy alpha", ylabel="P_max / P_ind  (P_ind = 4 x 1.4492 omega B)")
    ax.set_title("Le et al. fig. 2: N = 4, g = B, omega = 4B", fontsize="medium")
    ax.legend()
    return write_figure(
        out, "le2018_fig2", {"p_ind": p_ind, "alphas": alphas.tolist(), "series": series}, fig
    )


# ---------------------------------------------------------------------------------------------
def fig3(out: Path, *, points: int = 1601, **_) -> dict:
    """Work of a two-spin battery at strong coupling: g = 20B, omega = 3B, alpha = 0; eqs. 13-14."""
    _checks.integer_in("points", points, 2, _checks.MAX_TIMES, "times of one curve")
    g, omega = 20.0, 3.0
    times = np.linspace(0.0, 8.0, points)
    exact = point({"n": 2, "g": g, "omega": omega, "alpha": 0.0}, times=times.tolist())
    slow = 2 * omega**2 / g + 4 * FIELD * np.sin(omega**2 * times / g) ** 2  # eq. 14
    fast_plus_slow = 4 * omega**2 / g * np.sin(g * times) ** 2 + 4 * FIELD * np.sin(omega**2 * times / g) ** 2
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
    ax.plot(times, exact["work"], color="tab:blue", lw=1.0, label="exact (dense)")
    ax.plot(times, slow, color="black", lw=1.2, label="slow, eq. 14")
    ax.plot(times, fast_plus_slow, ":", color="tab:red", lw=1.0, label="fast (eq. 13) + slow")
    ax.set(xlabel="charging time t  [1/B]", ylabel="work W(t)  [B]")
    ax.set_title("Le et al. fig. 3: N = 2, g = 20B, omega = 3B, alpha = 0", fontsize="medium")
    ax.legend(fontsize="small", loc="upper left")
    data = {"point": exact, "eq14_slow": slow.tolist(), "eq13_plus_eq14": fast_plus_slow.tolist()}
    return write_figure(out, "le2018_fig3", data, fig)


# ---------------------------------------------------------------------------------------------
FIG46_CHAINS = {
    "XXX": {"coupling": "nn", "alpha": 1.0},
    "NN Ising": {"coupling": "nn", "alpha": 0.0},
    "LR Ising (p = 1)": {"coupling": "lr", "p": 1.0, "alpha": 0.0},
}


def fig4(out: Path, *, n_max: int = 8, **_) -> dict:
    """Strong coupling g = 100B, omega = 4B: W_max, P_max, P at W_max, W at P_max against N."""
    _checks.integer_in("n_max", n_max, 1, MAX_QUANTUM_N, "its quantum points are exact diagonalisations")
    ns = list(range(1, n_max + 1))
    series = {
        label: [point({"n": n, "g": 100.0, "omega": 4.0, **chain}) for n in ns]
        for label, chain in FIG46_CHAINS.items()
    }
    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(8, 6), constrained_layout=True)
    panels = [
        ("(a) maximum work  W_max  [B]", lambda r: r["max_work"]),
        ("(b) maximum power  P_max  [B^2]", lambda r: r["max_power"]),
        ("(c) power at max work  W_max/T_W  [B^2]", lambda r: r["max_work"] / r["t_max_work"]),
        ("(d) work at max power  P_max T*  [B]", lambda r: r["max_power"] * r["t_max_power"]),
    ]
    for ax, (title, value) in zip(axes.ravel(), panels, strict=True):
        for label, rows in series.items():
            ax.plot(ns, [value(r) for r in rows], "o-", ms=3, label=label)
        ax.set(xlabel="number of spins N", title=title)
        ax.set_yscale("log")
    axes[0, 0].legend(fontsize="small")
    fig.suptitle("Le et al. fig. 4: g = 100B, omega = 4B, window (0, 2 pi/omega]", fontsize="medium")
    return write_figure(out, "le2018_fig4", {"ns": ns, "series": series}, fig)


# ---------------------------------------------------------------------------------------------
def fig5(out: Path, *, points: int = 201, **_) -> dict:
    """Weak coupling, N = 7, lr p = 1, g = B, omega = 10B, alpha = 0: W(t), P(t) against eq. 18."""
    _checks.integer_in("points", points, 2, _checks.MAX_TIMES, "times of one curve")
    n, g, omega, alpha = 7, 1.0, 10.0, 0.0
    t_max = 2 * math.pi / omega
    times = np.linspace(0.0, t_max, points)
    exact = point(
        {"n": n, "coupling": "lr", "p": 1.0, "g": g, "omega": omega, "alpha": alpha}, times=times.tolist()
    )
    big_g = sum(g / (j - i) for i in range(n) for j in range(i + 1, n))
    eq18 = 2 * FIELD * n * np.sin(omega * times) ** 2 + (1 - alpha) * big_g * np.sin(2 * omega * times) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        eq18_power = np.where(times > 0, eq18 / np.where(times > 0, times, 1.0), 0.0)
    plt = pyplot()
    fig, (ax_w, ax_p) = plt.subplots(1, 2, figsize=(9, 3.6), constrained_layout=True)
    ax_w.plot(times, exact["work"], color="tab:blue", label="exact (dense)")
    ax_w.plot(times, eq18, ":", color="tab:red", lw=1.5, label="weak coupling, eq. 18")
    ax_w.set(xlabel="charging time t  [1/B]", ylabel="work W(t)  [B]", title="(a) work")
    ax_p.plot(times[1:], exact["power"][1:], color="tab:blue", label="exact (dense)")
    ax_p.plot(times[1:], eq18_power[1:], ":", color="tab:red", lw=1.5, label="eq. 18 / t")
    ax_p.set(xlabel="charging time T  [1/B]", ylabel="power P(T) = W(T)/T  [B^2]", title="(b) power")
    ax_w.legend(fontsize="small")
    fig.suptitle(f"Le et al. fig. 5: N = 7, LR p = 1, g = B, omega = 10B, alpha = 0 (G = {big_g:.3f}B)",
                 fontsize="medium")  # fmt: skip
    data = {"point": exact, "G": big_g, "eq18_work": eq18.tolist(), "eq18_power": eq18_power.tolist()}
    return write_figure(out, "le2018_fig5", data, fig)


# ---------------------------------------------------------------------------------------------
def fig6(out: Path, *, n_max: int = 8, n_max_symmetric: int = 64, **_) -> dict:
    """Quantum (Q) against mean-field (C) P_max for N = 1..n_max; g = B, omega = 4B.

    Beyond the paper: uniform all-to-all coupling (p = 0), quantum from the exact symmetric
    subspace up to n_max_symmetric, approaches the mean-field curve as N grows.
    """
    _checks.integer_in("n_max", n_max, 1, MAX_QUANTUM_N, "its quantum points are exact diagonalisations")
    _checks.integer_in("n_max_symmetric", n_max_symmetric, 1, MAX_SYMMETRIC_N, "one charge per N")
    ns = list(range(1, n_max + 1))
    quantum, classical = {}, {}
    for label, chain in FIG46_CHAINS.items():
        quantum[label] = [point({"n": n, **chain}, method="dense") for n in ns]
        classical[label] = [point({"n": n, **chain}, method="meanfield") for n in ns]
    ns_all = sorted({int(x) for x in np.rint(np.geomspace(1, n_max_symmetric, 10))})
    p0 = {"coupling": "lr", "p": 0.0, "alpha": 0.0}
    quantum_p0 = [point({"n": n, **p0}, method="symmetric") for n in ns_all]
    classical_p0 = [point({"n": n, **p0}, method="meanfield") for n in ns_all]
    plt = pyplot()
    fig, (ax_a, ax_b, ax_c) = plt.subplots(1, 3, figsize=(12, 3.8), constrained_layout=True)
    p1 = single_spin_power(4.0)
    for label in FIG46_CHAINS:
        (line,) = ax_a.plot(ns, [r["max_power"] / (n * p1) for n, r in zip(ns, quantum[label], strict=True)],
                            "o-", ms=3, label=f"{label} Q")  # fmt: skip
        ax_a.plot(ns, [r["max_power"] / (n * p1) for n, r in zip(ns, classical[label], strict=True)],
                  "s:", ms=3, color=line.get_color(), label=f"{label} C")  # fmt: skip
        ratio = [
            c["max_power"] / q["max_power"] for q, c in zip(quantum[label], classical[label], strict=True)
        ]
        ax_b.plot(ns, ratio, "o-", ms=3, color=line.get_color(), label=label)
    ax_a.set(
        xlabel="number of spins N", ylabel="P_max / (N P^(1))", title="(a) power per spin, Q solid, C dotted"
    )
    ax_b.set(xlabel="number of spins N", ylabel="P_max(C) / P_max(Q)", title="(b) classical over quantum")
    ax_b.axhline(1.0, color="gray", lw=0.8, ls=":")
    ax_a.legend(fontsize="x-small", ncol=2)
    ax_b.legend(fontsize="small")
    ax_c.plot(ns_all, [r["max_power"] / n for n, r in zip(ns_all, quantum_p0, strict=True)], "o-", ms=3,
              label="Q (symmetric subspace)")  # fmt: skip
    ax_c.plot(ns_all, [r["max_power"] / n for n, r in zip(ns_all, classical_p0, strict=True)], "s:", ms=3,
              label="C (mean field)")  # fmt: skip
    ax_c.set(xlabel="number of spins N", ylabel="P_max / N  [B^2]", xscale="log", yscale="log",
             title="(c) beyond the paper: p = 0 Ising")  # fmt: skip
    ax_c.legend(fontsize="small")
    fig.suptitle("Le et al. fig. 6: g = B, omega = 4B", fontsize="medium")
    data = {
        "ns": ns,
        "quantum": quantum,
        "classical": classical,
        "ns_p0": ns_all,
        "quantum_p0": quantum_p0,
        "classical_p0": classical_p0,
    }
    return write_figure(out, "le2018_fig6", data, fig)


FIGURES: dict[str, Callable[..., dict]] = {
    "le2018-fig2": fig2,
    "le2018-fig3": fig3,
    "le2018-fig4": fig4,
    "le2018-fig5": fig5,
    "le2018-fig6": fig6,
}
