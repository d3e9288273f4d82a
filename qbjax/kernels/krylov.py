"""Krylov (Lanczos) propagation for large chains: matrix-free, fixed-size, differentiable.

One block advances a state by tau:

    exp(-i H tau) psi  ~  ||psi|| V^T exp(-i tau T) e_1,

with V (m, d) the Lanczos basis of the Krylov space span{psi, H psi, ..., H^{m-1} psi},
T (m, m) the real symmetric tridiagonal projection of H, and m fixed (`krylov_dim`), so a
march is a `lax.scan` of identical blocks (jit-, vmap- and grad-friendly). The a-posteriori
error estimate of a block is the generalised residual (Hochbruck, Lubich, Selhofer 1998)

    err(tau) = ||psi|| tau beta_m |e_m^T phi_1(-i tau T) e_1|,   phi_1(z) = (e^z - 1) / z,

read off one exponential of the augmented (m+1, m+1) matrix [[-i tau T, e_1], [0, 0]].
The block length is chosen before tracing from the a-priori bound for Hermitian H with
spectral width 4 rho / tau (Hochbruck and Lubich 1997, Thm 4, valid for m >= 2 rho):

    ||error|| <= 12 exp(-rho^2 / m) (e rho / m)^m,

so that the sum of the blocks' errors meets the user tolerance; the sum of the
a-posteriori estimates is reported with the result.

Observables between block ends cost no further products with H: a block also stores
G = V^* H0 V^T (m, m), so <H0> at any time tau inside the block is
||psi||^2 Re y^dagger G y with y = exp(-i tau T) e_1 (exact for the Krylov state, even if
V has lost orthogonality). A W(t) curve, the grid of the maxima and the bisection of T*
therefore all come from m x m matrices once the march is done.

Gradients: the march is a custom VJP that stores no intermediate states. Unitary
evolution is reversible, so the backward pass recomputes each block's input state by a
Krylov block of length -tau from its output, then pulls the cotangent back through that
one block by autodiff. Memory is that of one block (O(m d)), independent of the number
of blocks; the gradient is that of the discretised march up to the reconstruction error
(the tolerance).
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.matfree import MatFreeH, matfree
from ..operators.terms import PauliSum, norm_bound
from ..precision import matmul, real_of, scaled, vdot
from .dense import Spectrum, spectral_states, spectrum

DEFAULT_KRYLOV_DIM = 40
DEFAULT_TOL = 1e-11
DEFAULT_TOL_SINGLE = 1e-5  # complex64: a few hundred blocks of single-precision rounding
# Basis vectors multiplied by H0 together when projecting H0 on a block's basis.
GRAM_BATCH = 8
TIMES_PER_BATCH = 16  # times evaluated at once by `KrylovBlocks.energy`
# Vectors of 2^N alive besides the Krylov basis and two per Gram batch vector (its H0 product
# and that product's conjugate): psi, the Lanczos work vectors, the block's end state and
# XLA's loop copies (XLA's memory analysis at N = 14: m + 10.5 with batches of 8 dividing m).
EXTRA_VECTORS = 12
# Lanczos steps used to estimate the spectral interval of H before choosing block lengths.
_WIDTH_ITERATIONS = 40
# Ritz-value margin on top of the residual bounds: extreme Ritz values converge from inside.
_WIDTH_MARGIN = 1.05


class KrylovConfig(NamedTuple):
    """Static settings of a march (hashable)."""

    krylov_dim: int
    breakdown: float  # |residual| below which the Krylov space is taken as invariant
    with_energy: bool  # also project the energy Hamiltonian H0 on each block's basis
    gram_batch: int = GRAM_BATCH  # basis vectors multiplied by H0 together


def lanczos(op, psi: Complex[Array, " d"], krylov_dim: int, breakdown: float):
    """Lanczos three-term recurrence: H V^T = V^T T + beta_m v_{m+1} e_m^T.

    Args:
        op: psi -> H @ psi.
        psi: start vector, shape (d,), nonzero.
        krylov_dim: m, the fixed number of steps.
        breakdown: a residual norm below this ends the recurrence (invariant subspace);
            the remaining basis vectors and coefficients are then exactly zero, so T is
            block diagonal and exp(-i tau T) e_1 never leaves the first block.

    Returns:
        (V (m, d), alpha (m,), beta (m,), ||psi||); beta[m-1] is the residual norm beta_m.
    """
    real = real_of(psi.dtype)
    norm = jnp.sqrt(jnp.real(vdot(psi, psi)))
    v0 = scaled(psi, 1.0 / norm)

    def step(carry, _):
        following, a = lanczos_step(op, carry, breakdown)
        return following, (carry[1], a, following[2])

    init = (jnp.zeros_like(v0), v0, jnp.zeros((), real))
    _, (basis, alpha, beta) = jax.lax.scan(step, init, None, length=krylov_dim)
    return basis, alpha, beta, norm


def lanczos_step(op, carry, breakdown):
    """One Lanczos step, (v_{j-1}, v_j, beta_{j-1}) -> ((v_j, v_{j+1}, beta_j), alpha_j); a
    residual of norm at most `breakdown` ends the space (v_{j+1} = 0, beta_j = 0)."""
    v_prev, v, b_prev = carry
    w = op(v)
    a = jnp.real(vdot(v, w))
    w = w - scaled(v, a) - scaled(v_prev, b_prev)
    b2 = jnp.real(vdot(w, w))
    ok = b2 > breakdown**2
    # double where: no NaN in the derivative of sqrt or 1/b at a breakdown
    b = jnp.where(ok, jnp.sqrt(jnp.where(ok, b2, 1.0)), 0.0)
    v_next = jnp.where(ok, scaled(w, 1.0 / jnp.where(ok, b, 1.0)), 0.0)
    return (v, v_next, b), a


def tridiagonal(alpha: Array, beta: Array) -> Array:
    off = beta[:-1]
    return jnp.diag(alpha) + jnp.diag(off, 1) + jnp.diag(off, -1)


_TAYLOR_DEGREE = 14  # ||x|| <= 1/2 after scaling: remainder 0.5^15 / 15! ~ 2e-17
_MAX_SQUARINGS = 40


def _expm(a: Array) -> Array:
    """exp(a) of a small matrix: Taylor of fixed degree with scaling and masked squaring.

    Fixed loop lengths keep the graph small (JAX's Pade `expm` made every compiled march
    several times slower to compile) and reverse-differentiable; the number of squarings
    s = ceil(log2(2 ||a||_1)) is dynamic, the squarings beyond s are masked out.
    """
    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    norm = jax.lax.stop_gradient(jnp.max(jnp.sum(jnp.abs(a), axis=0)))
    s = jnp.clip(jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-300) * 2.0)), 0, _MAX_SQUARINGS)
    x = a * jnp.exp2(-s).astype(a.dtype)

    def horner(k, r):
        # r <- I + x r / (degree - k): builds I + x (I + x/2 (I + x/3 (...)))
        return eye + matmul(x, r) / (_TAYLOR_DEGREE - k).astype(a.dtype)

    r = jax.lax.fori_loop(0, _TAYLOR_DEGREE, horner, eye)

    def square(i, r):
        return jnp.where(i < s, matmul(r, r), r)

    return jax.lax.fori_loop(0, _MAX_SQUARINGS, square, r)


def krylov_exp(alpha: Array, beta: Array, tau) -> tuple[Array, Array]:
    """(exp(-i tau T) e_1, error estimate per unit norm), from one augmented exponential.

    exp([[A, e_1], [0, 0]]) = [[exp(A), phi_1(A) e_1], [0, 1]] with A = -i tau T gives both
    the Krylov coefficients and the generalised residual tau beta_m |e_m^T phi_1(A) e_1|.
    Differentiable by autodiff through the fixed-length Taylor and squaring loops, also
    at degenerate T (after a breakdown).
    """
    m = alpha.shape[0]
    tau = jnp.asarray(tau, alpha.dtype)
    a = tridiagonal(alpha, beta) * (-tau)
    aug = jnp.zeros((m + 1, m + 1), alpha.dtype).at[:m, :m].set(a)
    aug = jax.lax.complex(jnp.zeros_like(aug), aug).at[0, m].set(1.0)
    e = _expm(aug)
    err = jnp.abs(tau) * beta[m - 1] * jnp.abs(e[m - 1, m])
    return e[:m, 0], jax.lax.stop_gradient(err)


def _block(config: KrylovConfig, params, psi, tau):
    """Advance psi by tau with one Krylov block; with_energy adds the block's projected data."""
    op_h = params[0]
    basis, alpha, beta, norm = lanczos(op_h, psi, config.krylov_dim, config.breakdown)
    y, err = krylov_exp(alpha, beta, tau)
    psi_out = scaled(matmul(y.astype(basis.dtype), basis), norm)
    if not config.with_energy:
        return psi_out, (err * norm,)
    # row j of `rows` is V^* H0 v_j, i.e. column j of G; one H0 product per basis vector.
    # Rows go in batches so that V^* (H0 v_j ...) is a matrix product reading V once per
    # batch: one row at a time read all of V m times, which dominated the march at N = 20.
    # conj(V conj(H0 v)) = V^* H0 v without a conjugated copy of the basis
    _, op_h0, psi0 = params
    rows = jax.lax.map(
        lambda v: jnp.conj(matmul(basis, jnp.conj(op_h0(v)))), basis, batch_size=config.gram_batch
    )
    # <psi_0|v_j>: the overlap of the charged state with the start, for the speed limit
    overlaps = matmul(basis, jnp.conj(psi0))
    return psi_out, (alpha, beta, rows.T, overlaps, norm, err * norm)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _march(config: KrylovConfig, params, psi0, taus):
    """Blocks of lengths `taus` from psi0: (final state, per-block outputs stacked)."""
    return jax.lax.scan(lambda psi, tau: _block(config, params, psi, tau), psi0, taus)


def _march_fwd(config, params, psi0, taus):
    psi_end, outputs = _march(config, params, psi0, taus)
    return (psi_end, outputs), (params, psi_end, taus)


def _march_bwd(config, residuals, cotangents):
    params, psi_end, taus = residuals
    psi_bar, outputs_bar = cotangents
    backward = config._replace(with_energy=False)

    def step(carry, inputs):
        psi_out, psi_out_bar, params_bar = carry
        tau, out_bar = inputs
        # Reversibility: the block's input is the output evolved back by -tau (no stored states).
        psi_in = _block(backward, params, psi_out, -tau)[0]
        _, pullback = jax.vjp(lambda p, x, t: _block(config, p, x, t), params, psi_in, tau)
        p_bar, psi_in_bar, tau_bar = pullback((psi_out_bar, out_bar))
        params_bar = jax.tree_util.tree_map(jnp.add, params_bar, p_bar)
        return (psi_in, psi_in_bar, params_bar), tau_bar

    zero = jax.tree_util.tree_map(jnp.zeros_like, params)
    (_, psi0_bar, params_bar), taus_bar = jax.lax.scan(
        step, (psi_end, psi_bar, zero), (taus, outputs_bar), reverse=True
    )
    return params_bar, psi0_bar, taus_bar


_march.defvjp(_march_fwd, _march_bwd)


# ----------------------------------------------------------------------------------------
# Planning (plain Python, before tracing): memory, spectral width, block length.


def krylov_vectors(krylov_dim: int, gram_batch: int = GRAM_BATCH) -> int:
    """States of 2^N alive at once in a march (the basis, the Gram batch, work vectors)."""
    return krylov_dim + 2 * gram_batch + EXTRA_VECTORS


def krylov_memory_bytes(
    n_sites: int, krylov_dim: int = DEFAULT_KRYLOV_DIM, dtype=np.complex128, gram_batch: int = GRAM_BATCH
) -> int:
    """Estimated peak memory of a Krylov march (`krylov_vectors` states of 2^N)."""
    return krylov_vectors(krylov_dim, gram_batch) * np.dtype(dtype).itemsize * 2**n_sites


def budget_dims(max_vectors: int, krylov_dim: int) -> tuple[int, int] | None:
    """(Krylov dimension, Gram batch) within `max_vectors` states: the given dimension with
    batches of GRAM_BATCH when they fit, else smaller ones (a batch that divides the
    dimension: a remainder batch cost XLA a second set of buffers); None below m = 4."""
    for batch in (GRAM_BATCH, 4, 2, 1):
        room = max_vectors - 2 * batch - EXTRA_VECTORS
        dim = min(krylov_dim, room - room % batch)
        if dim >= max(4, batch) and (dim == krylov_dim or batch == 1 or dim >= 4 * batch):
            return dim, batch
    return None


def check_krylov_fits(n_sites: int, krylov_dim: int = 4, dtype=np.complex128) -> None:
    """Refuse, before allocating, a chain whose smallest Krylov march exceeds available memory."""
    _checks.fits_in_memory(
        n_sites,
        lambda n: krylov_memory_bytes(n, krylov_dim, dtype, 1),
        "krylov",
        f" (Krylov dimension {krylov_dim}, {np.dtype(dtype).name})",
    )


def _log_bound(rho: float, m: int) -> float:
    """log of 12 exp(-rho^2/m) (e rho/m)^m, the Hochbruck-Lubich bound (m >= 2 rho)."""
    return math.log(12.0) - rho * rho / m + m * (1.0 + math.log(rho / m))


def block_rho(krylov_dim: int, tol: float) -> float:
    """Largest rho = tau * width / 4 (<= m/2) whose a-priori block error is <= tol."""
    lo, hi = 1e-6, krylov_dim / 2.0
    if _log_bound(hi, krylov_dim) <= math.log(tol):
        return hi
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _log_bound(mid, krylov_dim) <= math.log(tol) else (lo, mid)
    return lo


@eqx.filter_jit
def _ritz(h: PauliSum, start, iterations: int):
    # the operator is built inside jit: eagerly, each of its small ops would compile on its own
    basis, alpha, beta, _ = lanczos(matfree(h), start, iterations, 0.0)
    del basis
    return alpha, beta


def random_start(h: PauliSum, seed: int) -> Complex[Array, " d"]:
    """A fixed (seeded) random product state, in the complex dtype of h's coefficients: for
    random site states its overlap with every eigenvector is nonzero (product states span the
    space), so Lanczos from it sees all of the spectrum.

    Built from its N x 2 amplitudes where it is used, behind an optimisation barrier: a 2^N
    vector made in NumPy would enter the program as a constant, which XLA then folds into
    every product with it (39 s at N = 24, growing with 2^N; issue 21).
    """
    rng = np.random.default_rng(seed)
    sites = rng.normal(size=(h.n_sites, 2)) + 1j * rng.normal(size=(h.n_sites, 2))
    sites /= np.linalg.norm(sites, axis=1, keepdims=True)
    dtype = np.complex128 if h.coeffs.dtype == np.float64 else np.complex64
    amplitudes = jax.lax.optimization_barrier(jnp.asarray(sites, dtype))
    start = amplitudes[0]
    for site in range(1, h.n_sites):
        start = jnp.kron(start, amplitudes[site])
    return start


def _probe(h: PauliSum, iterations: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lanczos coefficients (alpha, beta) of H from a fixed random start (all of the spectrum)."""
    alpha, beta = _ritz(h, random_start(h, seed), min(iterations, h.dimension))
    return np.asarray(alpha, np.float64), np.asarray(beta, np.float64)


def _width_from(alpha: np.ndarray, beta: np.ndarray, bound: float) -> float:
    # stop at an invariant subspace: later coefficients are zero and their Ritz values spurious
    dead = beta <= 1e-14 * bound
    live = int(np.argmax(dead)) + 1 if np.any(dead) else alpha.shape[0]
    t = np.diag(alpha[:live]) + np.diag(beta[: live - 1], 1) + np.diag(beta[: live - 1], -1)
    theta, q = np.linalg.eigh(t)
    resid = beta[live - 1] * np.abs(q[-1, :])
    width = (theta[-1] + resid[-1]) - (theta[0] - resid[0])
    return float(min(bound, _WIDTH_MARGIN * width + 1e-12 * bound))


def spectral_width(h: PauliSum, *, iterations: int = _WIDTH_ITERATIONS, seed: int = 0) -> float:
    """An estimate of E_max - E_min of H from a short Lanczos run (never above 2 sum |c_k|).

    Extreme Ritz values widened by their residual bounds beta_k |Q_{k-1, j}| and a 5 per
    cent margin; capped by the rigorous bound 2 sum_k |c_k|. Needs concrete coefficients.
    """
    bound = 2.0 * float(np.asarray(norm_bound(h)))
    if bound == 0.0:
        return 0.0
    return _width_from(*_probe(h, iterations, seed), bound)


def _residual_estimate(alpha: np.ndarray, beta: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """tau beta_m |e_m^T phi_1(-i tau T) e_1| for each tau (unit start vector), by eigh of T."""
    t = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
    theta, q = np.linalg.eigh(t)
    z = -1j * taus[:, None] * theta[None, :]
    small = np.abs(z) < 1e-8
    phi = np.where(small, 1.0 + z / 2, (np.exp(z) - 1.0) / np.where(small, 1.0, z))
    return taus * beta[-1] * np.abs(phi @ (q[-1, :] * q[0, :]))


def n_blocks(t_span: float, width: float, krylov_dim: int, tol: float) -> int:
    """Blocks of equal length covering t_span with summed a-priori (Hochbruck-Lubich) error <= tol."""
    if t_span <= 0 or width <= 0:
        return 1
    blocks = 1
    for _ in range(4):  # the per-block tolerance tol / blocks depends on the count itself
        rho = block_rho(krylov_dim, tol / blocks)
        blocks = max(blocks, math.ceil(t_span * width / 4.0 / rho))
    return blocks


# The a-posteriori estimate of the probe must be this much below the per-block tolerance.
_CALIBRATION_SAFETY = 10.0


def plan_blocks(
    h: PauliSum, t_span: float, krylov_dim: int, tol: float, width: float | None = None
) -> tuple[float, int]:
    """(spectral width, number of equal blocks over t_span) meeting the summed tolerance `tol`.

    With a given `width` (traced coefficients) the rigorous a-priori bound decides. Otherwise
    one Lanczos probe from a random vector (which spreads over the whole spectrum, the hard
    case for a Krylov space) gives the width and the generalised-residual estimate err(tau)
    of an m-step block; blocks are lengthened up to the largest tau with
    err(tau) <= tol_block / 10, never shortened below the a-priori choice.
    """
    if width is not None:
        return width, n_blocks(t_span, width, krylov_dim, tol)
    bound = 2.0 * float(np.asarray(norm_bound(h)))
    if bound == 0.0 or t_span <= 0:
        return 0.0, 1
    alpha, beta = _probe(h, max(_WIDTH_ITERATIONS, krylov_dim))
    width = _width_from(alpha, beta, bound)
    blocks = n_blocks(t_span, width, krylov_dim, tol)
    m = min(krylov_dim, alpha.shape[0])
    if m == h.dimension or beta[m - 1] <= 1e-14 * bound:
        return width, blocks  # the Krylov space is the whole space: keep the a-priori blocks
    for _ in range(4):
        taus = (t_span / blocks) * np.geomspace(1.0, 16.0, 65)
        ok = _residual_estimate(alpha[:m], beta[:m], taus) <= tol / blocks / _CALIBRATION_SAFETY
        longest = taus[np.argmin(ok)] if not np.all(ok) else taus[-1]
        longest = taus[max(int(np.argmin(ok)) - 1, 0)] if not np.all(ok) else longest
        blocks = max(1, min(blocks, math.ceil(t_span / longest)))
    return width, blocks


def check_options(krylov_dim, tol, dtype) -> tuple[int, float, np.dtype]:
    krylov_dim = _checks.integer_at_least("krylov_dim", krylov_dim, 2)
    tol, dtype = _checks.precision(tol, dtype, DEFAULT_TOL, DEFAULT_TOL_SINGLE)
    return krylov_dim, tol, dtype


def plan_march(h: PauliSum, t_span: float, krylov_dim: int, tol: float, width) -> tuple[float, int]:
    if width is not None:
        width = float(_checks.positive("spectral_width", width))
    elif _checks.is_traced(h.coeffs):
        raise _checks.ArgumentError(
            "spectral_width",
            "must be given (an upper estimate of E_max - E_min of the charging Hamiltonian) "
            "when the coefficients are traced (inside jit, grad or vmap)",
        )
    return plan_blocks(h, t_span, krylov_dim, tol, width)


def breakdown_threshold(width: float, dtype) -> float:
    # Neglecting a residual b costs at most b * tau in the state: 100 eps of the spectral scale.
    return 100.0 * float(np.finfo(dtype).eps) * max(width, 1e-300)


# ----------------------------------------------------------------------------------------
# States at given times.


class KrylovStates(eqx.Module):
    """States from `evolve_krylov` and the estimated norm of their error."""

    states: Complex[Array, "T d"]
    error_estimate: Float[Array, ""]


@eqx.filter_jit
def _evolve(op, psi0, intervals, n_sub: int, config: KrylovConfig):
    def interval(psi, dt):
        taus = jnp.full((n_sub,), dt / n_sub, dt.dtype)
        psi, (err,) = _march(config, (op, None), psi, taus)
        return psi, (psi, jnp.sum(err))

    _, (states, errs) = jax.lax.scan(interval, psi0, intervals)
    return states, jnp.sum(errs)


def evolve_krylov(
    h: PauliSum,
    psi0: Complex[Array, " d"],
    times,
    *,
    krylov_dim: int = DEFAULT_KRYLOV_DIM,
    tol: float | None = None,
    dtype=None,
    spectral_width: float | None = None,
) -> KrylovStates:
    """States exp(-iHt) psi0 at each of `times`, by matrix-free Krylov blocks.

    Args:
        h: Hamiltonian on N sites (coefficients shape (K,)).
        psi0: initial state, shape (2**N,).
        times: sorted non-negative times, shape (T,) (concrete: they fix the block count).
        krylov_dim: Krylov dimension m of every block.
        tol: target for the summed error (state norm) over the longest run; default 1e-11
            in complex128, 1e-5 in complex64.
        dtype: complex128 (default under x64) or complex64.
        spectral_width: E_max - E_min of H (or an upper estimate); required when h's
            coefficients are traced, else estimated by a short Lanczos run.

    Returns:
        `KrylovStates` with states (T, 2**N) and the summed a-posteriori error estimate.
        Differentiable in h's coefficients and psi0 with memory independent of the number
        of blocks (reversible adjoint).
    """
    krylov_dim, tol, dtype = check_options(krylov_dim, tol, dtype)
    check_krylov_fits(h.n_sites, krylov_dim, dtype)
    _checks.time_grid("times", times)
    times_np = np.asarray(times, np.float64)
    width, total = plan_march(h, float(times_np[-1]), krylov_dim, tol, spectral_width)
    intervals = np.diff(np.concatenate([[0.0], times_np]))
    # every interval gets the same number of equal blocks, each no longer than t_end / total
    n_sub = max(1, math.ceil(float(intervals.max()) * total / max(float(times_np[-1]), 1e-300)))
    config = KrylovConfig(krylov_dim, breakdown_threshold(width, dtype), False)
    states, err = _evolve(
        matfree(h), psi0.astype(dtype), jnp.asarray(intervals, real_of(dtype)), n_sub, config
    )
    return KrylovStates(states, err)


# ----------------------------------------------------------------------------------------
# Energies inside blocks.


class KrylovBlocks(eqx.Module):
    """A march's per-block data: T_b = tridiag(alpha_b, beta_b), G_b = V_b^* H0 V_b^T, ||psi_b||.

    Also each T_b's eigendecomposition (held without gradient): <H0> at a time inside a
    block is ||psi_b||^2 Re y^dagger G_b y with y = exp(-i tau T_b) e_1 evaluated spectrally,
    O(m^2) per time, and differentiated by the divided-difference rule of
    `dense.spectral_states`, which is exact also where T_b is degenerate (after a breakdown).
    """

    alpha: Float[Array, "B m"]
    beta: Float[Array, "B m"]
    gram: Complex[Array, "B m m"]
    overlaps: Complex[Array, "B m"]  # <psi_0|v_j> of each block's basis
    norm: Float[Array, " B"]
    tau: Float[Array, ""]  # common block length
    eig: Spectrum  # evals (B, m), evecs (B, m, m)

    def locate(self, t):
        """(block index, time since the block's start) of each t; the last block extends to the end."""
        b = jnp.clip(jnp.floor(jax.lax.stop_gradient(t / self.tau)), 0, self.norm.shape[0] - 1)
        return b.astype(jnp.int32), t - b.astype(self.tau.dtype) * self.tau

    def energy(self, t: Float[Array, " T"]) -> Float[Array, " T"]:
        """<H0> at times t (any t in [0, end of the march]), differentiable in t and the blocks."""

        def one(t):
            b, y = self._coordinates(t)
            return self.norm[b] ** 2 * jnp.real(vdot(y, matmul(self.gram[b], y)))

        # each time gathers its block's m x m matrices: a batch of times at once, not all
        # (all 416 times of an N = 8 grid held 31 MB of them: a 256-point Krylov sweep, 8 GB)
        return jax.lax.map(one, t, batch_size=TIMES_PER_BATCH)

    def initial_overlap(self, t) -> Float[Array, ""]:
        """|<psi_0|psi_t>| at one time t: ||psi_b|| sum_j y_j <psi_0|v_j> of t's block."""
        b, y = self._coordinates(t)
        return self.norm[b] * jnp.abs(jnp.sum(y * self.overlaps[b]))

    def spread(self) -> Float[Array, ""]:
        """Delta E of H in psi_0: the first Lanczos residual, beta_1 = ||(H - <H>) v_0||."""
        return self.beta[0, 0]

    def _coordinates(self, t):
        """(block b, y = exp(-i tau T_b) e_1): psi_t = ||psi_b|| V_b^T y, for one time t."""
        b, tau = self.locate(t)
        dtype = self.eig.evecs.dtype
        e1 = jnp.zeros((self.alpha.shape[1],), dtype).at[0].set(1.0)
        tri = tridiagonal(self.alpha[b], self.beta[b])
        y = spectral_states(tri, e1, tau[None], self.eig.evals[b], self.eig.evecs[b])[0]
        return b, y.astype(self.gram.dtype)


def march_blocks(
    h: MatFreeH, h0: MatFreeH, psi0, t_end, n: int, config: KrylovConfig
) -> tuple[KrylovBlocks, Array]:
    """March n equal blocks over [0, t_end]; returns (blocks, summed error estimate)."""
    tau = jnp.asarray(t_end, real_of(psi0.dtype)) / n
    _, (alpha, beta, gram, overlaps, norm, err) = _march(
        config._replace(with_energy=True), (h, h0, psi0), psi0, jnp.full((n,), tau)
    )
    tridiagonals = jax.vmap(tridiagonal)(alpha, beta)
    if h.leading:
        # one decomposition at a time: a batched LAPACK eigh blocks the thread pool that CPU
        # devices share, and every device of a split state runs it (issue 26's deadlock)
        eig = jax.lax.map(spectrum, tridiagonals)
    else:
        eig = jax.vmap(spectrum)(tridiagonals)
    return KrylovBlocks(alpha, beta, gram, overlaps, norm, tau, eig), jnp.sum(err)
