"""Chebyshev propagation: exp(-iHt) psi0 without any decomposition of H, differentiable.

With the spectrum of H inside [lo, hi], centre c = (hi + lo)/2 and radius r = (hi - lo)/2
(widened a hair), H~ = (H - c)/r has its spectrum in [-1, 1] and the Jacobi-Anger
expansion e^{-ixy} = J_0(x) + 2 sum_{k>=1} (-i)^k J_k(x) T_k(y) gives

    exp(-iHt) psi0 = e^{-ict} sum_{k=0}^{K} a_k(t) phi_k + truncation,
    a_k(t) = (2 - delta_k0) (-i)^k J_k(rt),     phi_k = T_k(H~) psi0,

with phi_{k+1} = 2 H~ phi_k - phi_{k-1} (one product with H per order) and, because
|T_k| <= 1 on [-1, 1], a truncation error in norm of at most

    eps_K(x) = sum_{k>K} 2 |J_k(x)|,    x = rt,    |J_k(x)| <= (x/2)^k / k!.

The vectors phi_k do not depend on t, so <H0> at every time of a segment is a quadratic
form in the real vector b_k(t) = (2 - delta_k0) J_k(rt) (the phases fold into the matrix):

    <H0>_t = b(t)^T B b(t),   B = Re(D^* G D),   G_kl = <phi_k|H0|phi_l>,  D = diag((-i)^k).

A window [0, t_end] is cut into S equal segments (r t_end / S <= about 30) so K stays
moderate; each segment restarts the expansion from the previous segment's end state. The
march (`march_gram`) keeps one (K+1, K+1) matrix B per segment, so W(t) on any number of
times costs Bessel functions and small quadratic forms, no products with H.

Errors: eps_K(x) is increasing in x for K >= x (J_k grows on [0, k] for k > K), so the
tail at the full segment length bounds every time inside it; unitary segments add their
errors, hence ||psi(t) - psi_exact(t)|| <= ||psi0|| sum_segments (eps_K(x_seg) + rounding)
(`error_estimate`), and |<H0> - <H0>_exact| <= 2 ||H0|| ||psi0|| error_estimate to first order.

Memory: a segment holds its K+1 vectors phi_k, (K+1) * 2^N * 16 bytes in complex128
(K = 63 at N = 20: 1 GiB), plus a batch of H0 phi_l; only one segment is alive at a time
and the curve keeps only the Gram matrices (S (K+1)^2 * 8 bytes) and, for `state(t)`, the
charging operator and psi0. Under a memory budget (`plan(max_vectors=...)`) a segment is
streamed instead (`streamed_segment`): expanded about its midpoint, it keeps a block of
its vectors at a time and reruns the recurrence once per block, in block + STREAM_OVERHEAD
states whatever K.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import gammaln
from jaxtyping import Array, Complex, Float

from .. import _checks
from ..operators.bounds import spectral_bounds
from ..operators.matfree import matfree
from ..operators.terms import PauliSum
from ..precision import matmul, real_of, scaled, vdot

DEFAULT_TOL = 1e-12
# Largest r * (segment length) planned: K ~ 2x + 20 stays near 60-80 and the Gram work
# (K^2 per segment, K^2/x per unit time) stays comparable to the products with H.
MAX_SEGMENT_ARG = 30.0
# Vectors multiplied by H0 together when building a Gram matrix (one matrix product each);
# up to 2^10 amplitudes all K + 1 at once (a few MiB; batches of 16 took 40% longer at N = 8).
_GRAM_BATCH = 16
_GRAM_WHOLE_MAX_DIM = 2**10
# Bessel orders beyond K summed explicitly by the a-posteriori tail; the rest is bounded.
_TAIL_EXTRA = 32
# Relative and absolute widening of [lo, hi]: the spectrum of H~ stays strictly inside [-1, 1].
_WIDEN = 1e-10
# Rounding allowance per segment, in units of eps * (K + 1) * ||psi0||; the measured
# recurrence round-off is a few eps * K (see tests/test_chebyshev.py).
_ROUNDING = 8.0


# ----------------------------------------------------------------------------------------
# Bessel functions J_0..J_K by Miller's backward recurrence.


def miller_start(k_max: int, x_max: float) -> int:
    """Start order M of the backward recurrence: J_M(x) is below 1e-18 for all x <= x_max.

    Beyond the turning point J_{x + z x^(1/3)}(x) ~ (2/x)^(1/3) Ai(2^(1/3) z), and
    Ai(2^(1/3) 12) ~ 1e-19; 20 further orders cover small x, where J_M ~ (x/2)^M / M!.
    """
    return int(max(k_max, math.ceil(x_max + 12.0 * x_max ** (1.0 / 3.0)))) + 20


def _miller(x: Float[Array, " T"], k_max: int, start: int) -> Float[Array, "T K"]:
    """J_0..J_{k_max}(x) for x >= 0 by Miller's backward recurrence in ratio form.

    f_{k-1} = (2k/x) f_k - f_{k+1} from f_{M+1} = 0, carried as q_k = f_{k+1}/f_k:
    q_{k-1} = 1 / (2k/x - q_k) never overflows (no rescaling). Normalisation by
    J_0^2 + 2 sum J_k^2 = 1 and the sign from J_0 + 2 sum J_2k = 1 use the sums relative to
    f_k carried down with it: s_{k-1} = 1 + s_k q_{k-1}^2, e_{k-1} = [k-1 even] + e_k q_{k-1}.
    Then J_k = J_0 q_0 ... q_{k-1}. At x = 0 every q is 0: J_0 = 1, the rest 0.
    """
    two_over_x = 2.0 / x
    eps = jnp.finfo(x.dtype).eps

    def down(carry, k):
        q, s, e = carry
        r = k * two_over_x - q
        q = 1.0 / jnp.where(r == 0, eps * k * two_over_x, r)  # an exact 0 only by rounding
        even = (k % 2 == 1).astype(x.dtype)  # order k - 1 is even
        return (q, 1.0 + s * q * q, even + e * q), q

    init = (jnp.zeros_like(x), jnp.ones_like(x), jnp.full_like(x, float(start % 2 == 0)))
    carry, _ = jax.lax.scan(down, init, jnp.arange(start, k_max, -1).astype(x.dtype))
    (_, s, e), q = jax.lax.scan(down, carry, jnp.arange(k_max, 0, -1).astype(x.dtype))
    j0 = jnp.sign(2.0 * e - 1.0) / jnp.sqrt(2.0 * s - 1.0)

    def up(j, q_k):
        j = j * q_k
        return j, j

    _, rest = jax.lax.scan(up, j0, q[::-1])  # q[::-1]: q_0 .. q_{K-1}
    return jnp.concatenate([j0[None], rest]).T


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def _bessel(x: Float[Array, " T"], k_max: int, start: int) -> Float[Array, "T K"]:
    """J_0..J_{k_max}(x) for a vector x of either sign (J_k(-x) = (-1)^k J_k(x))."""
    values = _miller(jnp.abs(x), k_max, start)
    odd = jnp.arange(k_max + 1) % 2 == 1
    return jnp.where((x[:, None] < 0) & odd, -values, values)


@_bessel.defjvp
def _bessel_jvp(k_max, start, primals, tangents):
    # J_k' = (J_{k-1} - J_{k+1}) / 2 with J_{-1} = -J_1: one recurrence one order longer.
    # Calling _bessel itself keeps higher derivatives on the same rule.
    (x,), (dx,) = primals, tangents
    full = _bessel(x, k_max + 1, max(start, k_max + 21))
    lower = jnp.concatenate([-full[:, 1:2], full[:, :k_max]], axis=1)
    return full[:, : k_max + 1], 0.5 * (lower - full[:, 1:]) * dx[:, None]


@functools.partial(jax.jit, static_argnames=("k_max", "x_max"))
def bessel_j(x, k_max: int, *, x_max: float | None = None) -> Float[Array, "... K"]:
    """Bessel functions of the first kind J_0(x), ..., J_{k_max}(x).

    Miller's backward recurrence from the fixed order M = `miller_start(k_max, x_max)`,
    so the cost and the graph are static (jit, vmap); accurate to a few 1e-16 absolute
    (float64) for |x| <= x_max. Derivatives use J_k' = (J_{k-1} - J_{k+1}) / 2 (custom JVP,
    any order, forward and reverse mode).

    Args:
        x: real argument(s), any shape; float64 or float32.
        k_max: highest order K (static).
        x_max: largest |x| to be supported (static); default k_max, i.e. the caller picks
            k_max >= |x|, as a converged Chebyshev degree does. Larger |x| lose accuracy.

    Returns:
        Array of shape x.shape + (k_max + 1,).
    """
    k_max = _checks.integer_at_least("k_max", k_max, 0)
    x = jnp.asarray(x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    start = miller_start(k_max, float(k_max if x_max is None else x_max))
    return _bessel(x.reshape(-1), k_max, start).reshape((*x.shape, k_max + 1))


# ----------------------------------------------------------------------------------------
# Truncation degree and tails.


def tail_bound(x: float, degree: int) -> float:
    """Rigorous bound on sum_{k>K} 2 |J_k(x)| from |J_k(x)| <= (x/2)^k / k!.

    The terms b_k = (x/2)^k / k! fall by at least q = x / (2 (K+2)) after k = K+1, so the
    tail is at most 2 b_{K+1} / (1 - q); infinite when q >= 1. Evaluated in log space.
    """
    x = abs(float(x))
    if x == 0.0:
        return 0.0
    q = x / (2.0 * (degree + 2))
    if q >= 1.0:
        return math.inf
    log_b = (degree + 1) * math.log(x / 2.0) - math.lgamma(degree + 2)
    return 2.0 * math.exp(log_b) / (1.0 - q)


def degree_for(x: float, tol: float) -> int:
    """Smallest K >= max(1, ceil(x)) with `tail_bound(x, K)` <= tol.

    K >= x makes the tail increase with x on [0, x] (J_k grows on [0, k]), so the bound at
    a segment's full length covers every time inside it; for tol < 0.1 the tail bound
    alone already forces K > x.
    """
    _checks.positive("tol", tol)
    x = abs(float(x))
    degree = max(1, math.ceil(x))
    while tail_bound(x, degree) > tol:
        degree += 1
    return degree


@functools.partial(jax.jit, static_argnames=("degree",))
def bessel_tail(x, degree: int) -> Float[Array, ""]:
    """A-posteriori sum_{k>K} 2 |J_k(x)|: 32 orders computed, the rest by `tail_bound` (no gradient).

    Infinite for x > K + 32 (a degree far too low for x): no estimate is better than a wrong one.
    """
    x = jax.lax.stop_gradient(jnp.abs(jnp.asarray(x)))
    top = degree + _TAIL_EXTRA
    values = bessel_j(x, top, x_max=float(top))
    log_b = (top + 1) * jnp.log(x / 2.0) - gammaln(jnp.asarray(top + 2.0, x.dtype))
    q = x / (2.0 * (top + 2))
    rest = jnp.where(q < 1.0, 2.0 * jnp.exp(log_b) / jnp.where(q < 1.0, 1.0 - q, 1.0), jnp.inf)
    rest = jnp.where(x == 0, 0.0, rest)
    tail = 2.0 * jnp.sum(jnp.abs(values[..., degree + 1 :]), axis=-1) + rest
    return jnp.where(x <= top, tail, jnp.inf)  # beyond x_max the computed J_k are not reliable


# ----------------------------------------------------------------------------------------
# Planning (concrete inputs): centre, radius, degree, segments.


class Plan(NamedTuple):
    """Static choices of an expansion over a window."""

    center: float  # c = (hi + lo) / 2
    radius: float  # r = (hi - lo) / 2, widened
    degree: int  # K, the highest Chebyshev order
    segments: int  # S equal segments, each restarting the expansion
    block: int | None  # None: all K + 1 vectors kept; else streamed, this many kept at once


def center_radius(bounds) -> tuple:
    """(c, r) of an interval, r widened by 1e-10 relative (+ an absolute floor) so the spectrum
    of H~ lies strictly inside [-1, 1]; works on floats and on traced arrays."""
    lo, hi = bounds
    center = 0.5 * (hi + lo)
    scale = 0.5 * (abs(hi) + abs(lo))
    return center, 0.5 * (hi - lo) * (1.0 + _WIDEN) + _WIDEN * scale + 1e-300


def _concrete_bounds(h: PauliSum, bounds) -> tuple[float, float]:
    if bounds is not None:
        if _checks.is_traced(bounds):
            raise _checks.ArgumentError(
                "bounds", "plan needs concrete (lo, hi); pass degree and segments under tracing"
            )
        lo, hi = (float(b) for b in bounds)
        if not hi >= lo:
            raise _checks.ArgumentError("bounds", f"need lo <= hi, got ({lo}, {hi})")
        return lo, hi
    if _checks.is_traced(h.coeffs):
        raise _checks.ArgumentError(
            "bounds",
            "must be given as (lo, hi) containing the spectrum of the charging Hamiltonian "
            "(for every parameter point) when its coefficients are traced (inside jit, grad or vmap)",
        )
    return spectral_bounds(h)


def plan(
    h: PauliSum,
    t_end: float,
    *,
    tol: float = DEFAULT_TOL,
    bounds: tuple[float, float] | None = None,
    max_arg: float = MAX_SEGMENT_ARG,
    max_vectors: int | None = None,
    h0: PauliSum | None = None,
    degree: int | None = None,
    segments: int | None = None,
    block: int | None = None,
) -> Plan:
    """Fix centre, radius, degree, segment count and block before tracing (engines: jit/vmap after).

    Rule: S = max(1, ceil(r t_end / max_arg)) equal segments, x = r t_end / S <= max_arg,
    K = degree_for(x, tol / S), so the summed a-priori truncation error is <= tol ||psi0||;
    all K + 1 vectors of a segment are kept. When that needs more than `max_vectors` states
    at once (`march_vectors`), the segment is streamed instead: `block` vectors are kept,
    the recurrence runs once per block (once in all when block >= K + 1), and S (hence K)
    is the cheapest under the byte count of `streamed_cost` (H0 sets the cost of its
    products; default: that of H).

    Args:
        h: charging Hamiltonian (coefficients may be traced only if `bounds` is given).
        t_end: window length (concrete, >= 0).
        tol: target for the summed state error (norm, per unit ||psi0||).
        bounds: (lo, hi) containing the spectrum; default `spectral_bounds(h)`.
        max_arg: largest r * segment length.
        max_vectors: states of 2^N the march may hold at once (None: no limit).
        h0: the energy Hamiltonian (for the cost of its products).
        degree, segments, block: the caller's static choices. With degree and segments both
            given nothing is planned (t_end and the bounds may be traced; block None keeps
            all vectors); with one of them, the rest follows the rule for it.

    Raises:
        ArgumentError("memory") when `max_vectors` cannot hold even one streamed vector.
    """
    if degree is not None and segments is not None:
        return _given(h, bounds, degree, segments, block)
    if _checks.is_traced(t_end):
        raise _checks.ArgumentError("t_end", "traced; pass degree and segments (from plan) as well")
    if degree is not None or segments is not None:
        return _completed(h, t_end, tol, bounds, degree, segments)
    _checks.nonnegative("t_end", t_end)
    _checks.positive("tol", tol)
    _checks.positive("max_arg", max_arg)
    center, radius = center_radius(_concrete_bounds(h, bounds))
    segments = max(1, math.ceil(radius * float(t_end) / max_arg))
    degree = degree_for(radius * float(t_end) / segments, tol / segments)
    if max_vectors is None or march_vectors(degree, None) <= max_vectors:
        return Plan(float(center), float(radius), degree, segments, None)
    block = max_vectors - STREAM_OVERHEAD
    if block < 1:
        raise _checks.ArgumentError(
            "memory",
            f"a Chebyshev march needs at least {STREAM_OVERHEAD + 1} state vectors at once, "
            f"the budget holds {max_vectors}",
        )
    weights = (_matvec_passes(h), _matvec_passes(h if h0 is None else h0))
    degree, segments = _cheapest_streamed(radius * float(t_end), tol, segments, block, weights)
    return Plan(float(center), float(radius), degree, segments, min(block, degree + 1))  # streamed


def _given(h: PauliSum, bounds, degree, segments, block) -> Plan:
    """The caller's static plan, checked: centre and radius from `bounds` (may be traced)."""
    if bounds is None and _checks.is_traced(h.coeffs):
        _concrete_bounds(h, None)  # raises the explanatory ArgumentError
    degree = _checks.integer_at_least("degree", degree, 1)
    segments = _checks.integer_at_least("segments", segments, 1)
    block = None if block is None else min(_checks.integer_at_least("block", block, 1), degree + 1)
    center, radius = center_radius(spectral_bounds(h) if bounds is None else bounds)
    return Plan(center, radius, degree, segments, block)


def _completed(h: PauliSum, t_end, tol, bounds, degree, segments) -> Plan:
    """The rule's plan with the caller's degree or segment count (all vectors kept)."""
    p = plan(h, float(t_end), tol=tol, bounds=bounds)
    if segments is not None:
        segments = _checks.integer_at_least("segments", segments, 1)
        degree = degree or degree_for(p.radius * float(t_end) / segments, tol / segments)
        return Plan(p.center, p.radius, degree, segments, None)
    return Plan(p.center, p.radius, degree, p.segments, None)


# States of 2^N alive at a march's peak besides the kept Chebyshev vectors, from XLA's
# memory analysis of the compiled preparation (tests/test_chebyshev.py checks the estimate
# against it). Kept path: the stacked recurrence output and its copy with phi_0, a batch of
# H0 products, psi0, the end state and XLA's loop copies. Streamed path: the recurrence's
# three vectors, an H0 product, the end-state accumulator, the segment's start, psi0 and
# XLA's loop copies: 9.3-9.8 on the CPU (N = 12, 14), 8 for the march and 11 for the whole
# preparation on an H200 (N = 20 single; N = 30 single: 17 states at block 6).
KEPT_OVERHEAD = 8
STREAM_OVERHEAD = 11


def march_vectors(degree: int, block: int | None) -> int:
    """States of 2^N alive at once in a march of degree K: all K + 1 vectors kept (block
    None), or `block` of them streamed."""
    if block is None:
        return 2 * (degree + 1) + _GRAM_BATCH + KEPT_OVERHEAD
    return block + STREAM_OVERHEAD


# Reverse mode through a march, from XLA's memory analysis of jit(grad(P_max)) (N = 10-14,
# both precisions; tests/test_memory_estimates.py checks the estimate against it). Kept path:
# per vector, the segment's rerun recurrence, its residuals, the vectors' and their H0
# products' cotangents and XLA's copies: 13.4-15.2 states. Streamed path: a rerun pass keeps
# the kept block and the recurrence's vectors at every order, (K + 1)(block + 5.3 to 7.6)
# for blocks of 1 to 48, plus the segments' inputs. GRAD_EXTRA covers the rest (the
# window's evaluation).
GRAD_KEPT_PER_VECTOR = 16
GRAD_STREAMED_PER_ORDER = 8  # states per order besides the kept block
GRAD_EXTRA = 64


def gradient_vectors(degree: int, segments: int, block: int | None) -> int:
    """States of 2^N alive at once in reverse mode through a march of degree K and S
    segments (each segment and each streamed pass is recomputed, `march_gram`)."""
    if block is None:
        return GRAD_KEPT_PER_VECTOR * (degree + 1) + 4 * segments + GRAD_EXTRA
    return (degree + 1) * (block + GRAD_STREAMED_PER_ORDER) + 4 * segments + GRAD_EXTRA


def _matvec_passes(h: PauliSum) -> int:
    """Passes over a state that one product with `h` makes: one per flip-mask group, one for
    the diagonal, one to write the result (`matfree.matvec_bytes` in units of states)."""
    from ..operators.matfree import matvec_bytes

    return max(1, round(matvec_bytes(h) / (16 * h.dimension)))


def segment_products(degree: int, block: int | None) -> tuple[int, int]:
    """(products with H, products with H0) of one segment of degree K. Kept (block None):
    K and K + 1. Streamed: P = ceil((K+1)/block) runs of the recurrence (K products with H
    each) plus the K that carry the segment's end to the next midpoint; and an H0 product for
    every vector at or after each pass's block."""
    if block is None:
        return degree, degree + 1
    passes = -(-(degree + 1) // block)
    with_h0 = sum(degree + 1 - p * block for p in range(passes))
    return degree * (passes + 1), with_h0


def streamed_cost(degree: int, block: int, weights: tuple[float, float]) -> float:
    """Passes over a state that one streamed (centred) segment makes: its products with H
    and H0 (`segment_products`), and for every H0 product its inner products with the
    pass's `block` kept vectors."""
    w_h, w_h0 = weights
    with_h, with_h0 = segment_products(degree, block)
    return with_h * w_h + with_h0 * (w_h0 + block)


def _cheapest_streamed(x_window: float, tol: float, first: int, block: int, weights) -> tuple[int, int]:
    """(K, S) of least `streamed_cost` per window, K covering half a segment (the expansion
    is centred) within tol / (2S + 1) (as many half-segment steps): S from `first` up,
    geometrically."""
    best = None
    segments = max(1, math.ceil(first / 2))
    while True:
        x = x_window / segments
        degree = degree_for(x / 2, tol / (2 * segments + 1))
        cost = segments * streamed_cost(degree, block, weights) + degree * weights[0]
        if best is None or cost < best[0]:
            best = (cost, degree, segments)
        if x < 0.05 or segments > 64 * first:  # the degree sits at its floor from here on
            return best[1], best[2]
        segments = max(segments + 1, math.floor(segments * 1.08))


# ----------------------------------------------------------------------------------------
# Kernels (unbatched; vmap over the Hamiltonian's coefficients from outside).


def chebyshev_vectors(op, psi0: Complex[Array, " d"], center, radius, degree: int) -> Complex[Array, "K1 d"]:
    """phi_k = T_k(H~) psi0 for k = 0..K, H~ = (H - c)/r, by phi_{k+1} = 2 H~ phi_k - phi_{k-1}.

    Args:
        op: psi -> H @ psi (e.g. a `MatFreeH`).
        psi0: shape (d,), complex.
        center, radius: c and r (real scalars, may be traced).
        degree: K >= 1 (static).

    Returns:
        (K+1, d) array; memory (K+1) d * itemsize.
    """

    def step(carry, two):
        prev, cur = carry
        nxt = scaled(op(cur) - scaled(cur, center), two / radius) - prev
        return (cur, nxt), nxt

    # phi_1 = 1 * H~ phi_0 - 0 is the first step with multiplier 1: one copy of H in the graph
    _, rest = jax.lax.scan(step, (jnp.zeros_like(psi0), psi0), _multipliers(degree, real_of(psi0.dtype)))
    return jnp.concatenate([psi0[None], rest])


def _multipliers(degree: int, dtype) -> Array:
    """(1, 2, 2, ...): phi_{k+1} = m_k H~ phi_k - phi_{k-1}, from phi_{-1} = 0."""
    return jnp.asarray(np.r_[1.0, np.full(degree - 1, 2.0)], dtype)


_MINUS_I_POWERS = np.array([1.0, -1j, -1.0, 1j])  # (-i)^k for k mod 4


def chebyshev_weights(x, degree: int) -> Float[Array, " K1"]:
    """Real b_k = (2 - delta_k0) J_k(x), k = 0..K; a_k = (-i)^k b_k."""
    j = bessel_j(x, degree)
    return j * jnp.asarray(np.r_[1.0, np.full(degree, 2.0)], j.dtype)


def chebyshev_coefficients(center, radius, tau, degree: int, dtype) -> Complex[Array, " K1"]:
    """e^{-ic tau} a_k(tau) with a_k = (2 - delta_k0) (-i)^k J_k(r tau), in complex `dtype`."""
    b = chebyshev_weights(radius * tau, degree).astype(dtype)
    phase = jnp.exp(-1j * (center * tau).astype(dtype))
    return b * jnp.asarray(_MINUS_I_POWERS[np.arange(degree + 1) % 4], dtype) * phase


def chebyshev_propagate(
    op, psi: Complex[Array, " d"], center, radius, degree: int, tau
) -> Complex[Array, " d"]:
    """exp(-iH tau) psi to truncation eps_K(r tau), accumulating sum_k a_k phi_k on the fly.

    Same recurrence as `chebyshev_vectors` but O(d) memory (three vectors plus the sum).
    """
    a = chebyshev_coefficients(center, radius, tau, degree, psi.dtype)

    def step(carry, inputs):
        two, a_k = inputs
        prev, cur, acc = carry
        nxt = scaled(op(cur) - scaled(cur, center), two / radius) - prev
        return (cur, nxt, acc + a_k * nxt), None

    init = (jnp.zeros_like(psi), psi, a[0] * psi)
    (_, _, out), _ = jax.lax.scan(step, init, (_multipliers(degree, real_of(psi.dtype)), a[1:]))
    return out


def folded_gram(op_h0, phis: Complex[Array, "K1 d"]) -> Float[Array, "K1 K1"]:
    """B = Re(D^* G D), G_kl = <phi_k|H0|phi_l>, D = diag((-i)^k): <H0> = b^T B b for real b.

    H0 is applied to `_GRAM_BATCH` vectors at a time (all of them for small states), each
    batch contracted with all phi_k as one matrix product (reads the phis once per batch,
    bounds memory). On a state split over D devices a product holds about D blocks of a
    device's share (`MatFreeH._sharded`), so D times fewer vectors go at once.
    """
    bras = phis.conj()
    batch = phis.shape[0] if phis.shape[1] <= _GRAM_WHOLE_MAX_DIM else max(_GRAM_BATCH >> op_h0.leading, 1)
    rows = jax.lax.map(lambda v: matmul(bras, op_h0(v)), phis, batch_size=batch)  # rows[l, k] = G_kl
    return _fold(rows.T)


def _fold(gram: Complex[Array, "K1 K1"]) -> Float[Array, "K1 K1"]:
    """B = Re(D^* G D) with D = diag((-i)^k): <H0> = b^T B b for the real Bessel weights b."""
    d = jnp.asarray(_MINUS_I_POWERS[np.arange(gram.shape[0]) % 4], gram.dtype)
    return jnp.real(d.conj()[:, None] * gram * d[None, :])


def streamed_segment(op_h, op_h0, psi, psi0, center, radius, degree: int, block: int, a_end):
    """One segment keeping `block` of its K + 1 Chebyshev vectors at a time: (B, end state,
    <psi0|phi_k>), as `folded_gram` and `a_end @ phis` would give from all of them.

    Pass p reruns the recurrence from psi and keeps phi_k for k in [p block, (p+1) block);
    from there on, each phi_l meets H0 once and its inner products with the kept vectors
    give G_kl for k <= l (G is Hermitian: the other half by symmetry). Pass 0 also sums the
    end state sum_k a_k phi_k and the overlaps with psi0. Memory: block + STREAM_OVERHEAD
    states, whatever K; cost: `streamed_cost`.
    """
    k1 = degree + 1
    passes = -(-k1 // block)
    multipliers = _multipliers(degree, real_of(psi.dtype))
    rows = jnp.arange(block)

    def visit(p, order, phi, kept, end):
        start = p * block
        # an unconditional in-place write: under a cond XLA copied the kept block every order
        slot = jnp.clip(order - start, 0, block - 1)
        inside = (order >= start) & (order < start + block)
        row = jnp.where(inside, phi, jax.lax.dynamic_index_in_dim(kept, slot, keepdims=False))
        kept = jax.lax.dynamic_update_index_in_dim(kept, row, slot, 0)

        def column(kept):  # conj(G[start + j, order]) for kept rows up to order
            return jnp.where(start + rows <= order, matmul(kept, jnp.conj(op_h0(phi))), 0.0)

        column = jax.lax.cond(order >= start, column, lambda k: jnp.zeros((block,), psi.dtype), kept)
        end = jax.lax.cond(p == 0, lambda e: e + a_end[order] * phi, lambda e: e, end)
        return kept, end, column, vdot(psi0, phi)

    # reverse mode keeps a pass's input and reruns the pass: otherwise it keeps the kept
    # block at every order of every pass, (K + 1)^2 states for block 1
    @jax.checkpoint
    def one_pass(end, p):
        def step(carry, order):
            previous, phi, kept, end = carry
            kept, end, column, overlap = visit(p, order, phi, kept, end)
            following = scaled(op_h(phi) - scaled(phi, center), multipliers[order] / radius) - previous
            return (phi, following, kept, end), (column, overlap)

        kept = jnp.zeros((block, psi.shape[0]), psi.dtype)
        init = (jnp.zeros_like(psi), psi, kept, end)
        (_, last, kept, end), (columns, overlaps) = jax.lax.scan(step, init, jnp.arange(degree))
        _, end, column, overlap = visit(p, degree, last, kept, end)
        return end, (jnp.concatenate([columns, column[None]]), jnp.concatenate([overlaps, overlap[None]]))

    end, (columns, overlaps) = jax.lax.scan(one_pass, jnp.zeros_like(psi), jnp.arange(passes))
    # columns[p, l, j] = conj(G[p block + j, l]) where p block + j <= l, else 0
    upper = jnp.conj(columns.transpose(1, 0, 2).reshape(k1, passes * block)[:, :k1]).T  # G_kl, k <= l
    gram = upper + jnp.conj(upper).T - jnp.diag(jnp.diag(upper))
    return _fold(gram), end, overlaps[0]


def working_interval(center, radius, real) -> tuple[Array, Array]:
    """c and r in the working precision, r widened by 8 eps (r + |c|) of it: rounding them
    (and the interval arithmetic before, in float32 too) must not move an end of the
    spectrum outside [c - r, c + r], where T_k grows instead of staying within [-1, 1]."""
    eps = float(np.finfo(real).eps)
    center, radius = jnp.asarray(center).astype(real), jnp.asarray(radius).astype(real)
    return center, radius + 8.0 * eps * (radius + jnp.abs(center))


def _rounding(degree: int, dtype) -> float:
    return _ROUNDING * float(np.finfo(dtype).eps) * (degree + 1)


@eqx.filter_jit
def march_gram(
    h: PauliSum,
    h0: PauliSum,
    psi0,
    center,
    radius,
    tau,
    degree: int,
    segments: int,
    block: int | None,
    leading: int = 0,
):
    """(S, K+1, K+1) folded Gram matrices by a scan over segments, the error bound, and H.

    A segment keeps all its K + 1 vectors (block None), expanded about its start; or, in
    bounded memory, streams them `block` at a time (`streamed_segment`) expanded about its
    midpoint, so K covers half a segment: the degree, and with it the passes and the products
    of each pass, halve for the same length, for one more propagation by half a segment
    (O(1) states) to the next midpoint. The operators are built inside jit (eagerly each of
    their small ops would compile on its own). Each segment is checkpointed: reverse mode
    keeps one segment's vectors, not all segments'. `leading`: psi0 is split over
    2^leading devices by its leading qubits (`operators.sharding`).
    """
    op_h, op_h0 = matfree(h, leading=leading), matfree(h0, leading=leading)
    norm = jax.lax.stop_gradient(jnp.linalg.norm(psi0))
    spread = _spread(op_h, psi0, center, radius)
    steps = _rounding(degree, radius.dtype)
    if block is None:
        a_end = chebyshev_coefficients(center, radius, tau, degree, psi0.dtype)

        @jax.checkpoint
        def segment(psi, _):
            phis = chebyshev_vectors(op_h, psi, center, radius, degree)
            return matmul(a_end, phis), (folded_gram(op_h0, phis), matmul(phis, psi0.conj()))

        _, (gram, overlaps) = jax.lax.scan(segment, psi0, None, length=segments)
        error = segments * norm * (bessel_tail(radius * tau, degree) + steps)
        return gram, error, overlaps, spread, op_h

    half = tau / 2
    a_half = chebyshev_coefficients(center, radius, half, degree, psi0.dtype)

    @jax.checkpoint
    def centred_segment(middle, _):
        gram, end, overlaps = streamed_segment(
            op_h, op_h0, middle, psi0, center, radius, degree, block, a_half
        )
        return chebyshev_propagate(op_h, end, center, radius, degree, half), (gram, overlaps)

    first = chebyshev_propagate(op_h, psi0, center, radius, degree, half)
    _, (gram, overlaps) = jax.lax.scan(centred_segment, first, None, length=segments)
    # half a segment per step: to the first midpoint, then to each end and on to the next
    error = (2 * segments + 1) * norm * (bessel_tail(radius * half, degree) + steps)
    return gram, error, overlaps, spread, op_h


def _spread(op_h, psi0, center, radius) -> Float[Array, ""]:
    """Delta E of H in psi0 from phi_1 = (H - c) psi0 / r (c cancels: no loss to a large c)."""
    phi1 = scaled(op_h(psi0) - scaled(psi0, center), 1.0 / radius)
    norm2 = jnp.real(vdot(psi0, psi0))
    mean = jnp.real(vdot(psi0, phi1)) / norm2
    return radius * jnp.sqrt(jnp.maximum(jnp.real(vdot(phi1, phi1)) / norm2 - mean**2, 0.0))


# ----------------------------------------------------------------------------------------
# States at given times.


class ChebyshevStates(eqx.Module):
    """States from `evolve_chebyshev` and a bound on their error in norm."""

    states: Complex[Array, "T d"]
    error_estimate: Float[Array, ""]


@eqx.filter_jit
def _march_states(h: PauliSum, psi0, center, radius, intervals, degree: int, n_sub: int):
    """States at the ends of `intervals`, each cut into n_sub equal steps, and the error bound."""
    op = matfree(h)

    def interval(psi, dt):
        def sub(psi, _):
            return chebyshev_propagate(op, psi, center, radius, degree, dt / n_sub), None

        psi = jax.lax.scan(sub, psi, None, length=n_sub)[0]
        return psi, psi

    states = jax.lax.scan(interval, psi0, intervals)[1]
    tails = bessel_tail(radius * intervals / n_sub, degree) + _rounding(degree, radius.dtype)
    return states, n_sub * jax.lax.stop_gradient(jnp.linalg.norm(psi0)) * jnp.sum(tails)


def evolve_chebyshev(
    h: PauliSum,
    psi0: Complex[Array, " d"],
    times,
    *,
    tol: float = DEFAULT_TOL,
    bounds=None,
    max_arg: float = MAX_SEGMENT_ARG,
) -> ChebyshevStates:
    """States exp(-iHt) psi0 at sorted `times`, by Chebyshev steps.

    Each gap between consecutive times (the first from 0) is cut into the same number
    n_sub = ceil(r max_gap / max_arg) of equal steps; K = degree_for(r max_gap / n_sub,
    tol / (T n_sub)). O(d) memory per step (`chebyshev_propagate`).

    Args:
        h: Hamiltonian (coefficients (K,); traced only with `bounds`).
        psi0: shape (2**N,), complex.
        times: concrete, sorted, non-negative, shape (T,).
        tol: target for the summed truncation error (norm per unit ||psi0||).
        bounds: (lo, hi) containing the spectrum; default `spectral_bounds(h)`.
        max_arg: largest r * step.

    Returns:
        `ChebyshevStates` with states (T, 2**N) and the error bound (truncation tails of all
        steps plus a rounding allowance).
    """
    if _checks.is_traced(times):
        raise _checks.ArgumentError("times", "must be concrete (they fix the number of steps and the degree)")
    _checks.time_grid("times", times)
    times_np = np.asarray(times, np.float64)
    gaps = np.diff(np.concatenate([[0.0], times_np]))
    center, radius, _, n_sub, _ = plan(h, float(gaps.max()), tol=tol, bounds=bounds, max_arg=max_arg)
    degree = degree_for(radius * float(gaps.max()) / n_sub, tol / (n_sub * len(gaps)))
    dtype = np.dtype(psi0.dtype) if jnp.iscomplexobj(psi0) else np.dtype(jnp.result_type(complex))
    real = real_of(dtype)
    c, r = working_interval(center, radius, real)
    states, error = _march_states(h, psi0.astype(dtype), c, r, jnp.asarray(gaps, real), degree, n_sub)
    return ChebyshevStates(states, error)
