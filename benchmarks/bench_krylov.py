"""Benchmark: the matrix-free Krylov engine against QuTiP sesolve and SciPy expm_multiply.

Model: Le et al. spin chain, nearest-neighbour coupling g = B = 1, alpha = 0, DM D = 0.5
(complex Hamiltonian), omega = 4, protocol "replace", |down...down>, W(t) on N_TIMES
times in [0, 2 pi / omega]. Four measurements, each timed in this process:

1. H @ psi: seconds per product (complex128 and complex64), the bytes it must move with
   one pass over psi per flip-mask group (`matvec_bytes`), the achieved bandwidth, and
   the machine's streaming bandwidth measured here (a large array copy) for the ratio.
2. Time per W(t) curve against N: qbjax `work_krylov` cold (first call, JIT compile
   included, as a user running a script sees it) and warm; QuTiP `sesolve` with CSR
   operators (dop853, atol = rtol = 1e-16: the accuracy qbjax reaches) including building
   its operators; SciPy `expm_multiply` (the reference, Al-Mohy and Higham). Errors of
   qbjax and QuTiP are against expm_multiply.
3. Batch throughput: `vmap` of the W(t) curve over coupling values g, per battery.

    python benchmarks/bench_krylov.py                  # full run (minutes)
    python benchmarks/bench_krylov.py --smoke          # CI smoke run, seconds
    python benchmarks/bench_krylov.py --plot results/krylov.json   # figure from a saved run
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

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import qutip  # noqa: E402  (imported here so that no timing below pays for it)
import scipy.sparse.linalg  # noqa: E402

import qbjax  # noqa: E402
from qbjax.kernels.krylov import spectral_width  # noqa: E402
from qbjax.operators.matfree import matfree, matvec_bytes  # noqa: E402

ENGINES = {"krylov": qbjax.Krylov, "chebyshev": qbjax.Chebyshev}


def work_krylov(battery, times, method="krylov", **options):
    """W(t) on `times` by the Krylov (or Chebyshev) engine, and its error estimate."""
    curve = qbjax.energy_curve(battery, times[-1], method=ENGINES[method](**options))
    return _work(curve, jnp.asarray(times))


@eqx.filter_jit
def _work(curve, times):
    return curve.energy(times) - curve.initial_energy(), curve.error_estimate()


G, FIELD, OMEGA, ALPHA, DM = 1.0, 1.0, 4.0, 0.0, 0.5
N_TIMES = 200
QUTIP_EQUAL = {"method": "dop853", "atol": 1e-16, "rtol": 1e-16, "nsteps": 10**7}
REPEAT_BUDGET_S = 20.0
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def timed(fn, repeats: int) -> list[float]:
    times = []
    while len(times) < repeats and sum(times) < REPEAT_BUDGET_S:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def battery(n: int, g=G):
    return qbjax.spin_chain_battery(n, g=g, alpha=ALPHA, dm=DM, field=FIELD, omega=OMEGA)


def stream_bandwidth(n_bytes: int = 2**28) -> float:
    """Bytes per second of a large copy (read + write), the bound for a streaming kernel."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    best = min(timed(lambda: np.copyto(dst, src), 5))
    return 2 * n_bytes / best


def bench_matvec(n: int, repeats: int) -> dict:
    b = battery(n)
    op = matfree(b.charging)
    row = {"n": n, "groups": op.n_groups}
    for name, dtype in (("complex128", jnp.complex128), ("complex64", jnp.complex64)):
        psi = jnp.ones(2**n, dtype) / np.sqrt(2**n)
        fn = jax.jit(lambda op, x: op(x))
        fn(op, psi).block_until_ready()
        best = min(timed(lambda fn=fn, psi=psi: fn(op, psi).block_until_ready(), repeats))
        moved = matvec_bytes(b.charging, dtype)
        row[name] = {"seconds": best, "bytes": moved, "bandwidth": moved / best}
    return row


def sparse_operators(n: int):
    """(H_charge, H0) as SciPy CSR, from qutip tensor products (what a QuTiP user builds)."""
    ops = {"x": qutip.sigmax(), "y": qutip.sigmay(), "z": qutip.sigmaz()}
    eye = qutip.qeye(2)

    def site(op, i):
        return qutip.tensor([ops[op] if k == i else eye for k in range(n)])

    x, y, z = ([site(a, i) for i in range(n)] for a in "xyz")
    h_int = 0
    for i in range(n - 1):
        j = i + 1
        h_int = h_int - G * (
            z[i] * z[j] + ALPHA * (x[i] * x[j] + y[i] * y[j]) + DM * (x[i] * y[j] - y[i] * x[j])
        )
    h_charge = h_int + OMEGA * sum(x)
    h0 = FIELD * sum(z) + h_int
    return h_charge.to("csr"), h0.to("csr")


def qutip_curve(n: int, times: np.ndarray) -> np.ndarray:
    h, h0 = sparse_operators(n)
    psi0 = qutip.basis([2] * n, [1] * n)  # |down...down>: basis index 1 is sigma^z = -1 in QuTiP
    result = qutip.sesolve(h, psi0, times, e_ops=[h0], options=QUTIP_EQUAL)
    energies = np.asarray(result.expect[0])
    return energies - energies[0]


def expm_multiply_curve(n: int, times: np.ndarray) -> np.ndarray:
    h, h0 = (op.data.as_scipy() for op in sparse_operators(n))
    psi0 = np.zeros(2**n, complex)
    psi0[-1] = 1.0
    states = scipy.sparse.linalg.expm_multiply(-1j * h, psi0, start=times[0], stop=times[-1], num=len(times))
    energies = np.real(np.einsum("ti,ti->t", states.conj(), (h0 @ states.T).T))
    return energies - energies[0]


def bench_curve(
    n: int, times: np.ndarray, repeats: int, with_qutip: bool, with_scipy: bool, method: str = "krylov"
) -> dict:
    row = {"n": n, "method": method}

    def qbjax_curve():
        work, err = work_krylov(battery(n), times, method)
        return np.asarray(work), float(err)

    start = time.perf_counter()
    work, err = qbjax_curve()
    row["qbjax_cold_s"] = time.perf_counter() - start
    warm = timed(qbjax_curve, repeats)
    row["qbjax_warm_s"] = min(warm)
    row["qbjax_warm_median_s"] = statistics.median(warm)
    row["qbjax_error_estimate"] = err
    if with_scipy:
        start = time.perf_counter()
        reference = expm_multiply_curve(n, times)
        row["expm_multiply_s"] = time.perf_counter() - start
        row["qbjax_error"] = float(np.max(np.abs(work - reference)))
    if with_qutip:
        start = time.perf_counter()
        qt = qutip_curve(n, times)
        row["qutip_s"] = time.perf_counter() - start
        if with_scipy:
            row["qutip_error"] = float(np.max(np.abs(qt - reference)))
        row["qutip_over_qbjax_cold"] = row["qutip_s"] / row["qbjax_cold_s"]
        row["qutip_over_qbjax_warm"] = row["qutip_s"] / row["qbjax_warm_s"]
    if with_scipy:
        row["expm_multiply_over_qbjax_warm"] = row["expm_multiply_s"] / row["qbjax_warm_s"]
    return row


def bench_batch(n: int, times: np.ndarray, batch_sizes: list[int], repeats: int) -> list[dict]:
    width = 1.1 * spectral_width(battery(n, g=1.5).charging)  # an upper estimate for every g in the batch
    times = jnp.asarray(times)

    def curves(gs):
        return jax.vmap(lambda g: work_krylov(battery(n, g=g), times, spectral_width=width)[0])(gs)

    rows = []
    for size in batch_sizes:
        gs = jnp.linspace(0.5, 1.5, size)
        fn = jax.jit(curves)
        fn(gs).block_until_ready()
        best = min(timed(lambda fn=fn, gs=gs: fn(gs).block_until_ready(), repeats))
        rows.append({"n": n, "batch": size, "seconds": best, "per_battery_s": best / size})
    return rows


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    curve = results["curve"]
    ns = [r["n"] for r in curve]
    ax.semilogy(ns, [r["qbjax_cold_s"] for r in curve], "o-", label="qbjax krylov (cold, incl. JIT)")
    ax.semilogy(ns, [r["qbjax_warm_s"] for r in curve], "o--", label="qbjax krylov (warm)")
    qt = [r for r in curve if "qutip_s" in r]
    ax.semilogy([r["n"] for r in qt], [r["qutip_s"] for r in qt], "s-", label="QuTiP sesolve (CSR, dop853)")
    sc = [r for r in curve if "expm_multiply_s" in r]
    ax.semilogy([r["n"] for r in sc], [r["expm_multiply_s"] for r in sc], "^-", label="SciPy expm_multiply")
    ax.set_xlabel("N spins")
    ax.set_ylabel(f"seconds per W(t) curve ({N_TIMES} times)")
    ax.legend(fontsize=8)
    mv = results["matvec"]
    bx.plot([r["n"] for r in mv], [r["complex128"]["bandwidth"] / 1e9 for r in mv], "o-", label="complex128")
    bx.plot([r["n"] for r in mv], [r["complex64"]["bandwidth"] / 1e9 for r in mv], "s-", label="complex64")
    bx.axhline(results["stream_bandwidth"] / 1e9, color="k", ls=":", label="copy bandwidth")
    bx.set_xlabel("N spins")
    bx.set_ylabel("GB/s (one pass per flip-mask group)")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds")
    parser.add_argument("--sizes", default="10,12,14,16,18,20", help="N for the W(t) curves")
    parser.add_argument("--qutip-max", type=int, default=16, help="largest N for QuTiP and expm_multiply")
    parser.add_argument("--out", default=None, help="JSON output path")
    parser.add_argument("--plot", default=None, help="only draw the figure from this saved JSON")
    parser.add_argument("--method", default="krylov", choices=sorted(ENGINES), help="engine of the curves")
    parser.add_argument("--only-curves", action="store_true", help="skip the H @ psi and batch parts")
    args = parser.parse_args()
    if args.plot:
        path = Path(args.plot)
        plot(json.loads(path.read_text()), path.with_suffix(".png"))
        return
    if args.smoke:
        # the batch (vmap) path is compiled by the full run only: it costs the smoke run seconds
        sizes, matvec_sizes, batch_n, batch_sizes, repeats, qutip_max = [4], [6], 4, [], 1, 4
    else:
        sizes = [int(s) for s in args.sizes.split(",")]
        matvec_sizes, batch_n, batch_sizes, repeats, qutip_max = (
            [12, 16, 20, 22],
            10,
            [1, 4, 16],
            3,
            args.qutip_max,
        )
    times = np.linspace(0.0, 2 * np.pi / OMEGA, N_TIMES)
    results = {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "jax": jax.__version__,
        "device": str(jax.devices()[0]),
        "stream_bandwidth": stream_bandwidth(2**24 if args.smoke else 2**28),
        "matvec": [],
        "curve": [],
    }
    if args.only_curves:
        matvec_sizes, batch_sizes = [], []
    for n in matvec_sizes:
        results["matvec"].append(bench_matvec(n, repeats))
        print(json.dumps(results["matvec"][-1]), flush=True)
    for n in sizes:
        results["curve"].append(bench_curve(n, times, repeats, n <= qutip_max, n <= qutip_max, args.method))
        print(json.dumps(results["curve"][-1]), flush=True)
    results["batch"] = bench_batch(batch_n, times, batch_sizes, repeats) if batch_sizes else []
    print(json.dumps(results["batch"]), flush=True)
    out = Path(args.out) if args.out else RESULTS_DIR / ("krylov_smoke.json" if args.smoke else "krylov.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    if not args.smoke and not args.only_curves:
        plot(results, out.with_suffix(".png"))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
