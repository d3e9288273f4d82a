"""Benchmark: the work curve W(t) on 200 times, qbjax against QuTiP `sesolve`.

Model: Le et al. spin chain, nearest-neighbour Ising coupling g = B = 1, omega = 4,
alpha = 0 (real Hamiltonian), protocol "replace", initial state |down...down>, times
linspace(0, 2 pi / omega, 200). A DM variant (D = 0.5, complex Hamiltonian) runs on
the sizes in --dm-sizes.

Both contenders are compared at (nearly) equal accuracy against an independent
reference, scipy.sparse.linalg.expm_multiply (truncated Taylor series, Al-Mohy and
Higham): neither a spectral decomposition (qbjax) nor an ODE integrator (QuTiP).

    python benchmarks/bench_work_curve.py                 # full run, sizes 6,8,10,12
    python benchmarks/bench_work_curve.py --smoke         # CI smoke run, < 30 s
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import numpy as np  # noqa: E402
import qutip  # noqa: E402
import scipy  # noqa: E402
import scipy.linalg  # noqa: E402
import scipy.sparse.linalg  # noqa: E402

import qbjax  # noqa: E402

G, FIELD, OMEGA, ALPHA = 1.0, 1.0, 4.0, 0.0
DM_STRENGTH = 0.5
N_TIMES = 200
# QuTiP's default method (adams) stalls near 1e-10 absolute error on W(t) however
# tight the tolerance, and vern9 near 1e-12. The 8th-order Dormand-Prince method at
# atol = rtol = 1e-16 (i.e. "as tight as double precision allows") reaches ~1e-13,
# the level of qbjax and of the reference itself. The default method is timed too.
QUTIP_EQUAL = {"method": "dop853", "atol": 1e-16, "rtol": 1e-16}
QUTIP_DEFAULT = {"method": "adams", "atol": 1e-12, "rtol": 1e-12}
# Stop repeating a timing once this much time has been spent on it (N = 12 is slow).
REPEAT_BUDGET_S = 30.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def timed(fn, repeats: int) -> list[float]:
    """Wall times of `repeats` calls of fn(), stopping early once REPEAT_BUDGET_S is spent."""
    times = []
    while len(times) < repeats and sum(times) < REPEAT_BUDGET_S:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def qutip_hamiltonians(n: int, dm: float) -> tuple[qutip.Qobj, qutip.Qobj, qutip.Qobj]:
    """(H_charge, H0, psi0) built the way a QuTiP user would: tensor products, CSR data."""

    def site(op, i):
        return qutip.tensor([op if k == i else qutip.qeye(2) for k in range(n)])

    sx = [site(qutip.sigmax(), i) for i in range(n)]
    sy = [site(qutip.sigmay(), i) for i in range(n)]
    sz = [site(qutip.sigmaz(), i) for i in range(n)]
    h_int = 0
    for i in range(n - 1):
        j = i + 1
        bond = sz[i] * sz[j] + ALPHA * (sx[i] * sx[j] + sy[i] * sy[j])
        bond += dm * (sx[i] * sy[j] - sy[i] * sx[j])
        h_int = h_int - G * bond
    h_field = FIELD * sum(sz)
    drive = OMEGA * sum(sx)
    psi0 = qutip.tensor([qutip.basis(2, 1)] * n)  # basis(2, 1) is |down>
    # protocol "replace": H0 = H_B + H_int, charging with H_int + V.
    return h_int + drive, h_field + h_int, psi0


def work_from_states(states: np.ndarray, h0) -> np.ndarray:
    """W(t) = <H0>_t - <H0>_0 from states of shape (T, d)."""
    energy = np.real(np.sum(states.conj() * (h0 @ states.T).T, axis=1))
    return energy - energy[0]


def reference_work(h, h0, psi0, times) -> np.ndarray:
    """W(t) by expm_multiply on the uniform grid (one Taylor-series propagation)."""
    states = scipy.sparse.linalg.expm_multiply(
        -1j * h, psi0, start=times[0], stop=times[-1], num=len(times), endpoint=True
    )
    return work_from_states(states, h0)


def eigh_work(h, h0, psi0, times) -> np.ndarray:
    """W(t) by scipy's eigh: a second reference, to estimate the reference's own error floor."""
    evals, evecs = scipy.linalg.eigh(h.toarray())
    phi = evecs.conj().T @ psi0
    states = (np.exp(-1j * np.outer(times, evals)) * phi) @ evecs.T
    return work_from_states(states, h0)


def errors(work: np.ndarray, ref: np.ndarray) -> dict:
    err = float(np.max(np.abs(work - ref)))
    return {"max_abs_err": err, "max_rel_err": err / float(np.max(np.abs(ref)))}


def summary(times: list[float]) -> dict:
    return {"min_s": min(times), "median_s": statistics.median(times), "repeats": len(times)}


def bench_qbjax(n: int, dm: float, times: np.ndarray, repeats: int) -> tuple[dict, np.ndarray, qbjax.Battery]:
    battery = qbjax.spin_chain_battery(
        n, coupling="nn", g=G, alpha=ALPHA, dm=dm, field=FIELD, omega=OMEGA, protocol="replace"
    )

    def run():
        return np.asarray(jax.block_until_ready(qbjax.work(battery, times)))

    start = time.perf_counter()
    work = run()  # first call for this N: tracing + XLA compilation + the run itself
    first = time.perf_counter() - start
    result = {"first_call_s": first, **summary(timed(run, repeats))}
    return result, work, battery


def bench_qutip(h, h0, psi0, times, options: dict, repeats: int) -> tuple[dict, np.ndarray]:
    opts = {**options, "nsteps": 10**6}

    def run():
        return qutip.sesolve(h, psi0, times, e_ops=[h0], options=opts)

    expect = np.real(run().expect[0])  # untimed warm-up, also gives the curve
    result = {**options, **summary(timed(run, repeats))}
    return result, expect - expect[0]


def bench_case(n: int, dm: float, repeats: int) -> dict:
    times = np.linspace(0.0, 2 * np.pi / OMEGA, N_TIMES)
    start = time.perf_counter()
    h, h0, psi0 = qutip_hamiltonians(n, dm)
    build_s = time.perf_counter() - start

    h_sp, h0_sp = h.data.as_scipy(), h0.data.as_scipy()
    psi0_np = psi0.full().ravel()
    ref = reference_work(h_sp, h0_sp, psi0_np, times)
    spread = float(np.max(np.abs(eigh_work(h_sp, h0_sp, psi0_np, times) - ref)))

    qb, qb_work, battery = bench_qbjax(n, dm, times, repeats)
    qb.update(errors(qb_work, ref))
    # Same Hamiltonian on both sides (also checks the basis convention).
    mismatch = float(np.max(np.abs(np.asarray(qbjax.dense(battery.charging)) - h.full())))

    qt, qt_work = bench_qutip(h, h0, psi0, times, QUTIP_EQUAL, repeats)
    qt.update(errors(qt_work, ref), build_s=build_s, data_layer=type(h.data).__name__)
    qd, qd_work = bench_qutip(h, h0, psi0, times, QUTIP_DEFAULT, repeats)
    qd.update(errors(qd_work, ref))
    return {
        "model": "dm" if dm else "ising",
        "n": n,
        "dm": dm,
        "dim": 2**n,
        "qbjax": qb,
        "qutip": qt,
        "qutip_default": qd,
        "ratio_median": qt["median_s"] / qb["median_s"],
        "ratio_min": qt["min_s"] / qb["min_s"],
        "reference": {"method": "scipy.sparse.linalg.expm_multiply", "spread_vs_scipy_eigh": spread},
        "hamiltonian_mismatch": mismatch,
    }


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
        "qbjax": qbjax.__version__,
        "qutip": qutip.__version__,
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        # 1/5/15-minute load: other processes on the machine inflate (and scatter) the timings.
        "load_avg_at_end": os.getloadavg(),
    }


def print_table(cases: list[dict]) -> None:
    header = (
        f"{'model':>6} {'N':>3} {'dim':>5} {'qb first':>9} {'qb min':>8} {'qb med':>8} {'qt min':>8} "
        f"{'qt med':>8} {'ratio':>7} {'qb err':>8} {'qt err':>8} {'qt-dflt':>8} {'ref sprd':>8}"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        qb, qt, qd = c["qbjax"], c["qutip"], c["qutip_default"]
        print(
            f"{c['model']:>6} {c['n']:>3} {c['dim']:>5} {qb['first_call_s']:>9.3f} {qb['min_s']:>8.4f} "
            f"{qb['median_s']:>8.4f} {qt['min_s']:>8.4f} {qt['median_s']:>8.4f} {c['ratio_median']:>7.2f} "
            f"{qb['max_abs_err']:>8.1e} {qt['max_abs_err']:>8.1e} {qd['max_abs_err']:>8.1e} "
            f"{c['reference']['spread_vs_scipy_eigh']:>8.1e}"
        )
    print(
        "ratio = QuTiP median / qbjax median (> 1: qbjax faster). Errors: max |W - W_ref|, absolute;\n"
        "qt-dflt = QuTiP's default method at 1e-12; ref sprd = expm_multiply vs scipy eigh reference."
    )


def parse_sizes(text: str) -> list[int]:
    return [int(s) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="6,8,10,12", help="chain lengths N, comma separated")
    parser.add_argument("--dm-sizes", default="6,8,10", help="N for the DM variant ('' to skip)")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per contender")
    parser.add_argument(
        "--out", help="JSON output (default results/work_curve[_smoke].json next to this script)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, 1 repeat (CI)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.dm_sizes, args.repeats = "4,6", "4", 1
    # A smoke run must not overwrite the full results that RESULTS.md quotes.
    default_name = "work_curve_smoke.json" if args.smoke else "work_curve.json"
    out = Path(args.out) if args.out else RESULTS_DIR / default_name

    load_start = os.getloadavg()
    cases = []
    for dm, sizes in ((0.0, args.sizes), (DM_STRENGTH, args.dm_sizes)):
        for n in parse_sizes(sizes):
            cases.append(bench_case(n, dm, args.repeats))
            print(f"done: {cases[-1]['model']} N={n}", flush=True)
    print_table(cases)

    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {
        "model": {
            "coupling": "nn",
            "g": G,
            "field": FIELD,
            "omega": OMEGA,
            "alpha": ALPHA,
            "dm_variant": DM_STRENGTH,
        },
        "n_times": N_TIMES,
        "t_max": 2 * np.pi / OMEGA,
        "qutip_equal_accuracy": QUTIP_EQUAL,
        "qutip_default": QUTIP_DEFAULT,
        "repeats": args.repeats,
        "repeat_budget_s": REPEAT_BUDGET_S,
    }
    payload = {
        "settings": settings,
        "machine": {**machine_info(), "load_avg_at_start": load_start},
        "cases": cases,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
