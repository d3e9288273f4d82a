"""Benchmark: a 1024-point (alpha, D) sweep of P_max at N = 8, against QuTiP and dynamiqs.

Model: Le et al. nearest-neighbour chain, g = B = 1, omega = 4, protocol "replace",
window (0, 2 pi/omega]; alpha in [-1, 1] x D in [0, 1] (32 x 32 points). P_max on a
256-point time grid:
  - qbjax: `qbjax.sweep(..., n_grid=256, method=...)`: the grid, then T* refined (bisection
    and Newton); `--method` picks the engine (auto: dense at N = 8)
    (so it computes more than the others: the exact maximum, not the grid's);
  - QuTiP: one `sesolve` per point on the same grid (e_ops = [H0]), P = W/t, grid max;
  - dynamiqs: one batched `sesolve` over all points (a (P, d, d) Hamiltonian) on the grid.
Equal accuracy: every contender's W(t) on the grid is compared, on a few points, with
the exact evolution (dense expm of the same matrix); tolerances are set so that
QuTiP and dynamiqs reach at least 1e-9 absolute on W (qbjax is ~1e-12). QuTiP and
dynamiqs run on a subset of points (timing per point), qbjax on all of them.

    python benchmarks/bench_sweep.py                # full run (minutes)
    python benchmarks/bench_sweep.py --smoke        # N = 4, a few points, seconds
    python benchmarks/bench_sweep.py --all-cores    # one JAX CPU device per core
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402

import qbjax  # noqa: E402

OMEGA = 4.0
N_TIMES = 256
CHUNK = 256
QUTIP_OPTIONS = {"method": "dop853", "atol": 1e-12, "rtol": 1e-12}
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _matrices(n: int, alpha: float, dm: float):
    battery = qbjax.spin_chain_battery(n, alpha=alpha, dm=dm, omega=OMEGA)
    charging = np.asarray(qbjax.dense(battery.charging), dtype=complex)
    energy = np.asarray(qbjax.dense(battery.energy), dtype=complex)
    return charging, energy, np.asarray(battery.initial_state(), dtype=complex)


def exact_work(n, alpha, dm, times):
    h, h0, psi0 = _matrices(n, alpha, dm)
    step = scipy.linalg.expm(-1j * h * (times[1] - times[0]))
    psi, work = psi0.copy(), []
    e0 = np.vdot(psi0, h0 @ psi0).real
    for _ in times:
        work.append(np.vdot(psi, h0 @ psi).real - e0)
        psi = step @ psi
    return np.array(work)


def time_qbjax(n, alphas, dms, t_max, method):
    model = {"n": n, "omega": OMEGA}
    axes = {"alpha": alphas, "dm": dms}
    chunk = min(CHUNK, len(alphas) * len(dms))
    warm = {"alpha": np.resize(alphas, chunk), "dm": np.resize(dms, chunk)}  # compiles the chunk's shape
    options = dict(t_max=t_max, n_grid=N_TIMES, chunk=chunk, progress=False, method=method)
    qbjax.sweep(model, warm, grid=False, **options)
    start = time.perf_counter()
    result = qbjax.sweep(model, axes, **options)
    seconds = time.perf_counter() - start
    return seconds / result.plan.n_points, result


def time_qutip(n, points, times):
    import qutip

    seconds, grid_max = 0.0, []
    for alpha, dm in points:
        h, h0, psi0 = _matrices(n, alpha, dm)
        start = time.perf_counter()
        h_q, h0_q = qutip.Qobj(h).to("csr"), qutip.Qobj(h0).to("csr")
        result = qutip.sesolve(h_q, qutip.Qobj(psi0), times, e_ops=[h0_q], options=QUTIP_OPTIONS)
        work = np.asarray(result.expect[0]).real - np.real(result.expect[0][0])
        grid_max.append(np.max(work[1:] / times[1:]))
        seconds += time.perf_counter() - start
    return seconds / len(points), np.array(grid_max), work


def time_dynamiqs(n, points, times, tolerance):
    import dynamiqs as dq

    dq.set_precision("double")
    stacked = [_matrices(n, a, d) for a, d in points]
    h = np.stack([m[0] for m in stacked])
    h0 = np.stack([m[1] for m in stacked])  # the energy H0 depends on alpha and D too
    psi0 = stacked[0][2][:, None]

    def run():
        method = dq.method.Dopri8(rtol=tolerance, atol=tolerance)
        result = dq.sesolve(h, psi0, times, method=method, progress_meter=False)
        states = np.asarray(result.states)[..., 0]  # (points, times, d)
        return np.einsum("ptd,pde,pte->pt", states.conj(), h0, states).real

    run()  # compile
    start = time.perf_counter()
    energies = run()
    seconds = time.perf_counter() - start
    work = energies - energies[:, :1]
    return seconds / len(points), np.max(work[:, 1:] / times[1:], axis=1), work[-1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--side", type=int, default=32, help="points per axis (side^2 in all)")
    parser.add_argument("--reference-points", type=int, default=24, help="points timed for QuTiP/dynamiqs")
    parser.add_argument("--smoke", action="store_true", help="N = 4, 4 x 4 points")
    parser.add_argument("--method", default="auto", help="qbjax engine (default auto)")
    parser.add_argument(
        "--all-cores", action="store_true", help="one JAX CPU device per core (qbjax.use_cpu_cores)"
    )
    parser.add_argument("--out", default=str(RESULTS_DIR / "sweep.json"))
    args = parser.parse_args()
    if args.all_cores:
        qbjax.use_cpu_cores()  # before any JAX operation
    if args.smoke:
        args.n, args.side, args.reference_points = 4, 4, 3
    t_max = 2 * np.pi / OMEGA
    times = np.linspace(0.0, t_max, N_TIMES + 1)
    alphas, dms = np.linspace(-1, 1, args.side), np.linspace(0, 1, args.side)

    per_point_qbjax, result = time_qbjax(args.n, alphas, dms, t_max, args.method)
    rng = np.random.default_rng(0)
    picks = rng.choice(args.side * args.side, size=args.reference_points, replace=False)
    points = [(alphas[i // args.side], dms[i % args.side]) for i in picks]
    per_point_qutip, qutip_max, qutip_work = time_qutip(args.n, points, times)
    try:
        per_point_dq, dq_max, dq_work = time_dynamiqs(args.n, points, times, 1e-12)
    except ImportError:  # dynamiqs is in the 'bench' extra, not in the test environment
        per_point_dq, dq_max, dq_work = (
            float("nan"),
            np.full(len(points), np.nan),
            np.full(len(times), np.nan),
        )

    reference = exact_work(args.n, *points[-1], times)
    qbjax_max = result.values["max_power"].reshape(-1)[picks]
    # the exact P_max (dense eigendecomposition, refined T*) at a few of the points
    chains = [qbjax.SpinChain(args.n, alpha=a, dm=d, omega=OMEGA) for a, d in points[:3]]
    exact_max = [float(qbjax.charge(chain, t_max, method="dense").max_power) for chain in chains]
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__}",
        "backend": jax.default_backend(),
        "cpu_devices": len(jax.devices("cpu")),
        "n": args.n,
        "method": result.plan.engine.name,
        "points": args.side**2,
        "n_times": N_TIMES,
        "seconds_per_point": {"qbjax": per_point_qbjax, "qutip": per_point_qutip, "dynamiqs": per_point_dq},
        "speedup_vs_qutip": per_point_qutip / per_point_qbjax,
        "speedup_vs_dynamiqs": per_point_dq / per_point_qbjax,
        "p_max_relative_error_vs_dense": float(np.max(np.abs(qbjax_max[:3] - exact_max) / np.abs(exact_max))),
        "work_error": {
            "qutip": float(np.max(np.abs(qutip_work - reference))),
            "dynamiqs": float(np.max(np.abs(dq_work - reference))),
        },
        # qbjax refines T* between grid points, so its P_max is >= the grid maximum
        "p_max_minus_grid_max": {
            "qutip": float(np.max(qbjax_max - qutip_max)),
            "dynamiqs": float(np.max(qbjax_max - dq_max)),
            "min_over_points": float(min(np.min(qbjax_max - qutip_max), np.min(qbjax_max - dq_max))),
        },
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
