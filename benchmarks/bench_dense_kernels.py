"""Dense-method kernels against this machine's limit (measured GEMM rate).

The dense method does two things: one eigendecomposition of the d x d charging
Hamiltonian (d = 2^N), then, per time, psi(t) = V (exp(-iEt) * phi), a complex
matrix-vector product. Batched over T times that is a (T, d) x (d, d) complex GEMM:
8 T d^2 flops while V (16 d^2 bytes) is read once, so it is compute-bound for T >~ 8
and its limit is the machine's ZGEMM rate. eigh is rated against the same GEMM
rate with the textbook count of ~9 d^3 flops for a symmetric eigendecomposition with
vectors (Golub & Van Loan), times 4 for complex arithmetic: an estimate, stated as such.

    python benchmarks/bench_dense_kernels.py [--sizes 8,10,12] [--out PATH] [--smoke]
"""

import argparse
import json
import platform
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)


def best_time(fn, *args, repeats=3):
    jax.block_until_ready(fn(*args))  # compile + warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return min(times)


def measure(n: int, n_times: int, repeats: int) -> dict:
    d = 2**n
    rng = np.random.default_rng(n)
    real = rng.normal(size=(d, d))
    real = jnp.asarray(real + real.T)
    hermitian = jnp.asarray(np.asarray(real) + 1j * rng.normal(size=(d, d)))
    hermitian = (hermitian + hermitian.conj().T) / 2
    block = jnp.asarray(rng.normal(size=(n_times, d)) + 1j * rng.normal(size=(n_times, d)))
    matmul = jax.jit(jnp.matmul)
    eigh = jax.jit(jnp.linalg.eigh)
    t_dgemm = best_time(matmul, real, real, repeats=repeats)
    t_zgemm = best_time(matmul, hermitian, hermitian, repeats=repeats)
    t_eigh_real = best_time(eigh, real, repeats=max(1, repeats - 1))
    t_eigh_complex = best_time(eigh, hermitian, repeats=max(1, repeats - 1))
    t_states = best_time(matmul, block, hermitian, repeats=repeats)
    dgemm_rate = 2 * d**3 / t_dgemm
    zgemm_rate = 8 * d**3 / t_zgemm
    states_rate = 8 * n_times * d**2 / t_states
    return {
        "n": n,
        "dim": d,
        "dgemm_gflops": dgemm_rate / 1e9,
        "zgemm_gflops": zgemm_rate / 1e9,
        "eigh_real_s": t_eigh_real,
        "eigh_complex_s": t_eigh_complex,
        "eigh_real_vs_dgemm": 9 * d**3 / t_eigh_real / dgemm_rate,
        "eigh_complex_vs_zgemm": 36 * d**3 / t_eigh_complex / zgemm_rate,
        "states_times": n_times,
        "states_s": t_states,
        "states_gflops": states_rate / 1e9,
        "states_vs_zgemm": states_rate / zgemm_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="8,10,12")
    parser.add_argument("--times", type=int, default=200)
    parser.add_argument("--out", default="benchmarks/results/dense_kernels.json")
    parser.add_argument("--smoke", action="store_true", help="N = 6 only, for CI")
    args = parser.parse_args()
    sizes = [6] if args.smoke else [int(s) for s in args.sizes.split(",")]
    out = Path(args.out if not args.smoke else args.out.replace(".json", "_smoke.json"))
    rows = [measure(n, args.times, repeats=1 if args.smoke else 3) for n in sizes]
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"platform": platform.platform(), "cpus": jax.local_device_count(), "jax": jax.__version__}
    out.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1))
    print(
        f"{'N':>3} {'dim':>5} {'DGEMM GF/s':>11} {'ZGEMM GF/s':>11} {'eigh R s':>9} {'eff':>5} "
        f"{'eigh C s':>9} {'eff':>5} {'states GF/s':>12} {'of ZGEMM':>9}"
    )
    for r in rows:
        print(
            f"{r['n']:>3} {r['dim']:>5} {r['dgemm_gflops']:>11.1f} {r['zgemm_gflops']:>11.1f} "
            f"{r['eigh_real_s']:>9.3f} {r['eigh_real_vs_dgemm']:>5.2f} {r['eigh_complex_s']:>9.3f} "
            f"{r['eigh_complex_vs_zgemm']:>5.2f} {r['states_gflops']:>12.1f} {r['states_vs_zgemm']:>9.2f}"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
