"""The DM-interaction battery (seed 000, PHYSICS.md section 2), redone in every reading.

The seed claims that a Dzyaloshinskii-Moriya (DM) interaction raises the ergotropy and the
power of a spin-chain battery, so that collective charging (cells interacting while charged)
beats parallel charging (the same cells with g_ij = 0); that first-order coherence helps and
steering between cells hinders. Which of these hold depends on the reading:

- the DM vector along z (parallel to the field B) or along y (perpendicular to B and to the
  drive along x);
- the energy counted on H_B = B sum sz with interactions only while charging ("collective"
  protocol, the DM paper's set-up), or on the whole H0 = H_B + H_int with the field replaced
  by the drive while charging ("replace", Le et al.);
- the start: |down...down>, or the ground state of H0 (they differ for "replace" with D != 0,
  where |down...down> already holds ergotropy).

For N = 2..n_max, each reading and D in [0, d_max], every point is a `qbjax charge` result
(`report.charge_report`) stored with its model, so `qbjax charge` with those flags gives each
number. The maximum ergotropy over the window of a pure state is W_max + the initial
ergotropy. Beside it: the first-order coherence and the steering F3 between the neighbouring
cells 0 and 1 over time (N = 4), and their rank correlation with P_max across D.

Units: hbar = 1, energies in B (B = 1); XXX chain (alpha = 1), g = 1 (collective charging)
or 0 (parallel), omega = 0.5, window (0, 2 pi/omega].
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ... import _checks
from ..report import charge_report

FIELD, OMEGA, ALPHA, COUPLING = 1.0, 0.5, 1.0, 1.0
AXES = ("z", "y")
PROTOCOLS = ("collective", "replace")
STARTS = ("down", "ground")
RESOURCE_N = 4
RESOURCE_DMS = (0.0, 1.0, 2.0)
UNITS = {"time": "1/B", "work": "B", "power": "B^2", "ergotropy": "B"}
# the largest scan (reproduce --points, --n-max): 8 readings x (N - 1) x points charges,
# about 6 minutes at the defaults (9 points, N <= 8) on 2 cores
MAX_POINTS = 201
MAX_N = 12


def model(n: int, *, g: float, dm: float, axis: str, protocol: str, start: str) -> dict:
    """The `qbjax charge` flags of one point."""
    return {
        "n": n, "coupling": "nn", "g": g, "p": 1.0, "alpha": ALPHA, "dm": dm, "field": FIELD,
        "omega": OMEGA, "protocol": protocol, "periodic": False, "dm_axis": axis, "initial": start,
    }  # fmt: skip


def window() -> float:
    return 2 * np.pi / OMEGA


def point(*, n_grid: int | None = None, **kwargs) -> dict:
    """One charge: the `qbjax charge --json` object plus the grid and the maximum ergotropy."""
    report = charge_report(model(**kwargs), window(), n_grid=n_grid)
    report["n_grid"] = n_grid
    report["max_ergotropy"] = report["max_work"] + report["initial_ergotropy"]
    return report


def shared_grid(n: int, d_max: float, **chain) -> int:
    """One maxima grid for every D of a curve (one compiled program): POINTS_PER_PERIOD
    samples per period of 2 sum_k |c_k| of the charging Hamiltonian at the largest D, which
    bounds W(t)'s frequencies at every D."""
    from ...models.chain import spin_chain_battery
    from ...operators.terms import norm_bound
    from ...tasks.maxima import grid_size

    flags = {**model(n, dm=d_max, **chain), "initial": "down"}  # the start does not matter here
    return grid_size(2 * float(norm_bound(spin_chain_battery(**flags).charging)), window())


def scan(n_max: int, dms: np.ndarray) -> dict:
    """Every reading: collective charging against D, and the parallel reference, per N."""
    readings = {}
    for protocol in PROTOCOLS:
        for start in STARTS:
            parallel = [
                point(n=n, g=0.0, dm=0.0, axis="z", protocol=protocol, start=start)
                for n in range(2, n_max + 1)
            ]
            for axis in AXES:
                collective = []
                for n in range(2, n_max + 1):
                    chain = dict(g=COUPLING, axis=axis, protocol=protocol, start=start)
                    grid = shared_grid(n, float(dms[-1]), **chain)
                    collective.append([point(n=n, dm=float(d), n_grid=grid, **chain) for d in dms])
                readings[f"{protocol}/{start}/D{axis}"] = {"collective": collective, "parallel": parallel}
    return readings


def neighbour_resources(dm: float, axis: str, times: np.ndarray) -> dict:
    """Ergotropy of the chain, first-order coherence and steering F3 of cells (0, 1) at `times`
    (collective protocol, N = RESOURCE_N, from |down...down>)."""
    import jax
    import jax.numpy as jnp

    from ...kernels.dense import evolve
    from ...kernels.ground_state import ground_energy as lowest_energy
    from ...measures.resources import first_order_coherence, ptrace, steering
    from ...models.chain import spin_chain_battery
    from ...operators.terms import dense

    flags = model(RESOURCE_N, g=COUPLING, dm=dm, axis=axis, protocol="collective", start="down")
    battery = spin_chain_battery(**flags)
    states = evolve(battery.charging, battery.initial_state(), jnp.asarray(times))
    pairs = jax.vmap(lambda psi: ptrace(psi, (0, 1)))(states)
    h0 = dense(battery.energy).astype(states.dtype)
    energies = jax.vmap(lambda psi: jnp.real(jnp.vdot(psi, h0 @ psi)))(states)
    return {
        "ergotropy": np.asarray(energies - lowest_energy(battery.energy)).tolist(),
        "first_order_coherence": np.asarray(jax.vmap(first_order_coherence)(pairs)).tolist(),
        "steering": np.asarray(jax.vmap(steering)(pairs)).tolist(),
    }


def _spearman(x, y) -> float | None:
    x, y = np.asarray(x, float), np.asarray(y, float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    return float(np.corrcoef(rx, ry)[0, 1])


def claims(readings: dict, dms: np.ndarray, n_max: int) -> dict:
    """Each claim of seed 000, per reading, as numbers at the largest N and D."""
    table = {}
    for name, reading in readings.items():
        largest = reading["collective"][-1]  # N = n_max, against D
        parallel = reading["parallel"][-1]
        table[name] = {
            "n": n_max,
            "p_max_at_d0": largest[0]["max_power"],
            "p_max_at_dmax": largest[-1]["max_power"],
            "p_max_parallel": parallel["max_power"],
            "max_ergotropy_at_d0": largest[0]["max_ergotropy"],
            "max_ergotropy_at_dmax": largest[-1]["max_ergotropy"],
            "max_ergotropy_parallel": parallel["max_ergotropy"],
            "initial_ergotropy_at_dmax": largest[-1]["initial_ergotropy"],
            "dm_raises_power": largest[-1]["max_power"] > largest[0]["max_power"],
            "dm_raises_ergotropy": largest[-1]["max_ergotropy"] > largest[0]["max_ergotropy"],
            "collective_beats_parallel_at_dmax": largest[-1]["max_power"] > parallel["max_power"],
            "d_max": float(dms[-1]),
        }
    return table


def resource_claims(resources: dict) -> dict:
    """Rank correlation across D of P_max with coherence and steering at T* (N = RESOURCE_N)."""
    table = {}
    for axis in AXES:
        rows = resources[f"D{axis}"]
        p_max = [row["max_power"] for row in rows]
        table[f"D{axis}"] = {
            "dms": [row["dm"] for row in rows],
            "p_max": p_max,
            "coherence_at_t_star": [row["first_order_coherence_at_t_star"] for row in rows],
            "steering_at_t_star": [row["steering_at_t_star"] for row in rows],
            "spearman_p_max_coherence": _spearman(
                p_max, [row["first_order_coherence_at_t_star"] for row in rows]
            ),
            "spearman_p_max_steering": _spearman(p_max, [row["steering_at_t_star"] for row in rows]),
        }
    return table


def resources_over_time(times: np.ndarray, dms: np.ndarray) -> dict:
    """Per DM axis and D (the scan's values and RESOURCE_DMS): the resources over `times`,
    P_max and T* of the collective protocol at N = RESOURCE_N, and the resources at T*."""
    out = {}
    for axis in AXES:
        chain = dict(g=COUPLING, axis=axis, protocol="collective", start="down")
        values = sorted({*map(float, dms), *RESOURCE_DMS})
        grid = shared_grid(RESOURCE_N, values[-1], **chain)
        rows = []
        for dm in values:
            charged = point(n=RESOURCE_N, dm=dm, n_grid=grid, **chain)
            series = neighbour_resources(dm, axis, np.append(times, charged["t_max_power"]))
            at_t_star = {f"{key}_at_t_star": value.pop() for key, value in series.items()}
            rows.append({"dm": dm, "max_power": charged["max_power"], "t_max_power": charged["t_max_power"],
                         **at_t_star, **series})  # fmt: skip
        out[f"D{axis}"] = rows
    return out


def _plot_scan(readings: dict, dms: np.ndarray, n_max: int):
    from .le2018 import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(2, 4, figsize=(15, 7), constrained_layout=True, sharex=True)
    colours = plt.cm.viridis(np.linspace(0, 0.9, n_max - 1))
    for row, protocol in enumerate(PROTOCOLS):
        for col, (quantity, start) in enumerate(
            (q, s) for q in ("max_power", "max_ergotropy") for s in STARTS
        ):
            ax = axes[row, col]
            for axis, style in zip(AXES, ("--", "-"), strict=True):
                reading = readings[f"{protocol}/{start}/D{axis}"]
                for k, (series, parallel) in enumerate(
                    zip(reading["collective"], reading["parallel"], strict=True)
                ):
                    ratio = [r[quantity] / parallel[quantity] for r in series]
                    label = f"N = {k + 2}" if axis == "y" else None
                    ax.plot(dms, ratio, style, color=colours[k], lw=1.2, label=label)
            ax.axhline(1.0, color="gray", lw=0.8, ls=":")
            what = "P_max" if quantity == "max_power" else "max ergotropy"
            ax.set_title(f"{protocol}, from {start}: {what}", fontsize="medium")
            ax.set(xlabel="DM strength D  [B]", ylabel=f"{what}: collective / parallel")
    axes[0, 0].legend(fontsize="x-small", title="solid: D along y, dashed: z", title_fontsize="x-small")
    fig.suptitle(
        f"DM chain (seed 000): XXX, g = B = 1, omega = {OMEGA:g}, window (0, 2 pi/omega]; "
        "parallel: the same cells with g = 0",
        fontsize="medium",
    )
    return fig


def _plot_resources(resources: dict, times: np.ndarray):
    from .le2018 import pyplot

    plt = pyplot()
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), constrained_layout=True, sharex=True)
    for row, axis in enumerate(AXES):
        for entry in (e for e in resources[f"D{axis}"] if e["dm"] in RESOURCE_DMS):
            for col, key in enumerate(("ergotropy", "first_order_coherence", "steering")):
                axes[row, col].plot(times, entry[key], lw=1.2, label=f"D = {entry['dm']:g}")
        axes[row, 0].set(ylabel=f"D along {axis}\nergotropy of the chain  [B]")
        axes[row, 1].set(ylabel="first-order coherence, cells 0, 1")
        axes[row, 2].set(ylabel="steering F3, cells 0, 1")
        axes[row, 2].axhline(1.0, color="gray", lw=0.8, ls=":")
    for ax in axes[1]:
        ax.set(xlabel="charging time t  [1/B]")
    axes[0, 0].legend(fontsize="small")
    fig.suptitle(
        f"N = {RESOURCE_N}, collective protocol, from |down...down> (F3 > 1: steerable)", fontsize="medium"
    )
    return fig


def dm_chain(out: Path, *, points: int = 9, n_max: int = 8, **_) -> dict:
    """P_max and maximum ergotropy against D in every reading; resources over time."""
    from .le2018 import write_figure

    _checks.integer_in("points", points, 2, MAX_POINTS, "D values, each a charge per N and reading")
    n_max = _checks.integer_in("n_max", n_max, 2, MAX_N, "every N up to it is charged at every D and reading")
    dms = np.linspace(0.0, 2.0, points)
    readings = scan(n_max, dms)
    times = np.linspace(0.0, window(), 201)
    resources = resources_over_time(times, dms)
    data = {
        "source": "seed 000 (DM battery); PHYSICS.md section 2",
        "dms": dms.tolist(),
        "ns": list(range(2, n_max + 1)),
        "claims": claims(readings, dms, n_max),
        "resource_claims": resource_claims(resources),
        "readings": readings,
        "times": times.tolist(),
        "resources": resources,
    }
    figure = _plot_scan(readings, dms, n_max)
    paths = write_figure(out, "dm_chain", data, figure, paper="seed 000 (DM battery)", units=UNITS)
    paths["png_resources"] = _save(out / "dm_chain_resources.png", _plot_resources(resources, times))
    return paths


def _save(path: Path, fig) -> str:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=130)
    plt.close(fig)
    return str(path)
