"""The Chebyshev engine: decomposition-free propagation by a Bessel-weighted Chebyshev series.

    exp(-iHt) psi0 = e^{-ict} sum_k a_k(t) T_k((H - c)/r) psi0,   a_k = (2 - delta_k0) (-i)^k J_k(rt)

with [c - r, c + r] a rigorous bound on the spectrum (`operators.bounds.spectral_bounds`)
and the degree from the truncation bound for the requested tolerance. The vectors
T_k(H~) psi0 do not depend on t, so the Gram matrices <phi_k|H0|phi_l> turn <H0>_t at any
time into a (K+1) x (K+1) quadratic form: the maxima's grid and bisection never touch a
state again. Matrix-free H @ psi; fixed degree inside `scan`, so it jits, vmaps over the
coefficients and differentiates (checkpointed per segment).

The march itself (`kernels.chebyshev.march_gram`) is a kernel; this module plans it within
the engine's options (`Chebyshev.plan`) and holds its result as a `ChebyshevCurve`.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex, Float

from .. import _checks
from .. import memory as _memory
from .. import precision as _precision
from ..kernels.chebyshev import (
    DEFAULT_TOL,
    STREAM_OVERHEAD,
    bessel_j,
    chebyshev_coefficients,
    chebyshev_propagate,
    chebyshev_weights,
    gradient_vectors,
    march_gram,
    march_vectors,
    plan,
    working_interval,
)
from ..kernels.ground_state import ground_state_energy
from ..models.chain import as_battery
from ..operators import sharding
from ..operators.matfree import MatFreeH
from ..operators.terms import PauliSum
from ..precision import matmul, real_of
from .base import AbstractEngine, Curve, in_caller_precision

DEFAULT_TOL_SINGLE = 1e-5
# Up to this many segments <H0>(t) multiplies b(t) with all segments' matrices (one GEMM).
GEMM_SEGMENTS = 24
# The fewest state vectors a march holds: one kept vector plus the streamed path's own.
MIN_VECTORS = STREAM_OVERHEAD + 1


class Chebyshev(AbstractEngine):
    """Chebyshev propagation with Gram-matrix energies.

    Attributes:
        tol: target for the summed state error (norm) over the window; default 1e-12 in
            complex128, 1e-5 in complex64.
        dtype: complex128 (default under x64) or complex64.
        bounds: (lo, hi) containing the spectrum of the charging Hamiltonian; required
            when its coefficients are traced (jit, grad, vmap), since the degree is fixed
            before tracing. Default: `operators.bounds.spectral_bounds` of the model.
        memory: bytes the march may hold at once (`qbjax.memory.budget_bytes`; default the
            larger of 16 states and 256 MiB; at most 90% of the free memory). A budget below all
            K + 1 vectors of a segment streams them in passes (more products with H).
        shards: devices the state is split over (`operators.sharding`; 1: one device).
        center, radius, degree, segments, block: the expansion (set by `plan`).
    """

    name = "chebyshev"
    traced_window = False  # the window's end fixes the degree and the segments
    precisions = ("double", "single")
    batch_memory_factor = 1.5  # 1.28-1.33 measured (N = 12, 14)
    tol: float | None = eqx.field(static=True, default=None)
    dtype: object = eqx.field(static=True, default=None)
    bounds: tuple[float, float] | None = eqx.field(static=True, default=None)
    memory: int | None = eqx.field(static=True, default=None)
    center: float | None = eqx.field(static=True, default=None)
    radius: float | None = eqx.field(static=True, default=None)
    degree: int | None = eqx.field(static=True, default=None)
    segments: int | None = eqx.field(static=True, default=None)
    block: int | None = eqx.field(static=True, default=None)
    shards: int = eqx.field(static=True, default=1)

    def _options(self) -> tuple[float, np.dtype]:
        return _checks.precision(self.tol, self.dtype, DEFAULT_TOL, DEFAULT_TOL_SINGLE)

    def _set_dtype(self, dtype) -> Chebyshev:
        unplanned = {"center": None, "radius": None, "degree": None, "segments": None, "block": None}
        return dataclasses.replace(self, dtype=dtype, **unplanned)

    def _state_bytes(self, n_sites: int) -> int:
        """Bytes of one state on each device (its block when sharded)."""
        return self._options()[1].itemsize * 2**n_sites // self.shards

    def check(self, model) -> None:
        _memory.check_budget(self.memory)
        sharding.shard_count(self.shards, model.n_sites)  # a power of two that fits the state
        # CPU devices share the host's memory: all blocks count against it
        on_host = self.shards if jax.devices()[0].platform == "cpu" else 1
        _checks.fits_in_memory(
            model.n_sites, lambda n: MIN_VECTORS * self._state_bytes(n) * on_host, "chebyshev"
        )
        needed = MIN_VECTORS * self._state_bytes(model.n_sites)
        budget = _memory.budget_bytes(self._state_bytes(model.n_sites), self.memory)
        if needed > budget:
            raise _checks.ArgumentError(
                "memory",
                f"n = {model.n_sites} needs at least {_checks.format_bytes(needed)} ({MIN_VECTORS} state "
                f"vectors) for the chebyshev method, the budget is {_checks.format_bytes(budget)}",
            )

    def plan(self, model, t_end: float, *, spectrum: tuple[float, float] | None = None) -> Chebyshev:
        tol, dtype = self._options()
        battery = as_battery(model)
        charging = battery.charging
        bounds = self.bounds if spectrum is None else spectrum
        if bounds is None and _checks.is_traced(charging.coeffs):
            raise _checks.ArgumentError(
                "bounds",
                "must be given (an interval containing the spectrum of the charging Hamiltonian) "
                "when the coefficients are traced (inside jit, grad or vmap)",
            )
        budget = _memory.budget_bytes(self._state_bytes(charging.n_sites), self.memory)
        max_vectors = budget // self._state_bytes(charging.n_sites)
        c, r, k, s, b = plan(
            charging,
            float(t_end),
            tol=tol,
            bounds=bounds,
            max_vectors=max_vectors,
            h0=battery.energy,
        )
        planned = {"center": c, "radius": r, "degree": k, "segments": s, "block": b}
        return dataclasses.replace(self, tol=tol, dtype=dtype, **planned)

    def plan_for_gradient(self, model, t_end: float, *, spectrum=None) -> Chebyshev:
        # a streamed segment's rerun passes keep their kept block at every order, (K + 1)
        # (block + 8) states: when its vectors are few enough to keep, keeping them all costs
        # reverse mode less memory (16 (K + 1)) and fewer products; an explicit budget stands
        planned = self.plan(model, t_end, spectrum=spectrum)
        if planned.block is None or self.memory is not None:
            return planned
        free = _memory.free_bytes()
        kept = dataclasses.replace(self, memory=free).plan(model, t_end, spectrum=spectrum)
        if kept.block is None and kept.gradient_memory_bytes(model) < planned.gradient_memory_bytes(model):
            return kept
        return planned

    def prepare(self, model, t_end) -> Curve:
        return self._prepare(model, t_end, self._planned_interval())

    def prepare_concrete(self, model, t_end, *, ergotropy: bool = True) -> Curve:
        # the interval enters as numbers, so every model with the same degree and segments
        # (and term structure) shares one compiled program
        del ergotropy
        shape = dataclasses.replace(self, center=None, radius=None)
        real = _precision.real_dtype(self.precision)
        bounds = tuple(np.asarray(end, real) for end in self._planned_interval())
        return _prepare_planned(shape, model, t_end, bounds)

    def prepare_within(self, model, t_end, spectrum) -> Curve:
        # the point's own interval: the planned degree covers the widest point
        self._planned_interval()  # refuses an unplanned engine
        return self._prepare(model, t_end, spectrum)

    def _planned_interval(self) -> tuple[float, float]:
        if self.degree is None:
            raise _checks.ArgumentError("method", "a Chebyshev engine must be planned (engine.plan) first")
        return self.center - self.radius, self.center + self.radius

    def _prepare(self, model, t_end, bounds) -> Curve:
        battery = as_battery(model)
        if self.precision == "single":
            battery = battery.in_precision("single")
        psi0 = sharding.constrain(battery.initial_state().astype(self.dtype), self.shards)
        curve = chebyshev_curve(
            battery.charging,
            battery.energy,
            psi0,
            t_end,
            bounds=bounds,
            degree=self.degree,
            segments=self.segments,
            block=self.block,
            keep_state=False,
            shards=self.shards,
        )
        return in_caller_precision(curve, self.precision)

    def bandwidth_hint(self) -> float | None:
        # frequencies of W(t) are eigenvalue differences: at most the interval's width
        return None if self.radius is None else 2.0 * self.radius

    def memory_bytes(self, model) -> int:
        """The march's peak: its plan's vectors (`march_vectors`); unplanned, the budget."""
        state = self._state_bytes(model.n_sites)
        if self.degree is None:
            return _memory.budget_bytes(state, self.memory)
        return march_vectors(self.degree, self.block) * state

    def gradient_memory_bytes(self, model) -> int:
        """Reverse mode through the plan's march (`gradient_vectors`); unplanned, the budget's."""
        if self.degree is None:
            return super().gradient_memory_bytes(model)
        return gradient_vectors(self.degree, self.segments, self.block) * self._state_bytes(model.n_sites)


@eqx.filter_jit
def _prepare_planned(engine: Chebyshev, model, t_end, bounds) -> Curve:
    return engine._prepare(model, t_end, bounds)


# ----------------------------------------------------------------------------------------
# The curve: <H0>_t from the march's Gram matrices.


class ChebyshevCurve(Curve):
    """<H0> along exp(-iHt) psi0 on [0, t_end], from per-segment Gram matrices.

    Attributes:
        gram: (S, K+1, K+1) real symmetric B of each segment (module docstring).
        center, radius: c and r of the expansion.
        segment_length: tau_seg = t_end / S.
        error_bound: bound on the state error in norm over the window (truncation tails at
            the segment length, summed over segments, plus a rounding allowance).
        overlaps: (S, K+1) <psi_0|phi_k> of each segment's vectors: <psi_0|psi_t> for the
            speed limit costs K + 1 products.
        spread: Delta E of H in psi_0, from phi_1 = H~ psi_0: r^2 (|phi_1|^2 - Re<psi_0|phi_1>^2).
        energy_h: H0, for the ground energy (matrix-free Lanczos).
        op, psi0: charging operator and initial state for `state` (None if not kept).
        degree, segments: K and S (static).
        centred: each segment expanded about its midpoint (streamed marches: K covers half
            a segment), else about its start.
    """

    gram: Float[Array, "S K1 K1"]
    center: Float[Array, ""]
    radius: Float[Array, ""]
    segment_length: Float[Array, ""]
    error_bound: Float[Array, ""]
    overlaps: Complex[Array, "S K1"]
    spread: Float[Array, ""]
    energy_h: PauliSum
    op: MatFreeH | None
    psi0: Complex[Array, " d"] | None
    degree: int = eqx.field(static=True)
    segments: int = eqx.field(static=True)
    centred: bool = eqx.field(static=True, default=False)

    @property
    def t_end(self) -> Float[Array, ""]:
        return self.segment_length * self.segments

    def locate(self, t):
        """(segment index, time from its expansion point: its start, or its midpoint when
        centred) of t; the last segment extends past t_end."""
        length = jax.lax.stop_gradient(self.segment_length)
        # t_end = 0: a single empty segment (avoids 0/0)
        ratio = jnp.where(length > 0, jax.lax.stop_gradient(t) / jnp.where(length > 0, length, 1.0), 0.0)
        s = jnp.clip(jnp.floor(ratio), 0, self.segments - 1)
        origin = s + 0.5 if self.centred else s
        return s.astype(jnp.int32), t - origin.astype(self.segment_length.dtype) * self.segment_length

    def energy(self, times) -> Float[Array, ...]:
        """<H0> at `times` (any shape, within [0, t_end]): b(tau)^T B_s b(tau), O(K^2) each.

        Differentiable in the times (through `bessel_j`) and in the Hamiltonians' coefficients
        (through the Gram matrices).
        """
        times = jnp.asarray(times).astype(self.radius.dtype)
        return _curve_energy(self, times.reshape(-1)).reshape(times.shape)

    def initial_energy(self) -> Float[Array, ""]:
        return self.energy(jnp.zeros((1,), self.radius.dtype))[0]

    def ground_energy(self) -> Float[Array, ""]:
        return ground_state_energy(self.energy_h)

    def error_estimate(self) -> Float[Array, ""]:
        return self.error_bound

    def speed_limit(self, t) -> tuple[Array, Array]:
        return self.initial_overlap(t), self.spread

    def work(self, times) -> Float[Array, ...]:
        """W(t) = <H0>_t - <H0>_0 (one evaluation of the curve on [0, times])."""
        times = jnp.asarray(times).astype(self.radius.dtype)
        energies = _curve_energy(self, jnp.concatenate([jnp.zeros((1,), times.dtype), times.reshape(-1)]))
        return (energies[1:] - energies[0]).reshape(times.shape)

    def uniform_energy(self, t_end, n: int) -> Float[Array, " n"]:
        """<H0> at t_end * k / n for k = 1..n, t_end within the window: the maxima's grid.

        Cheaper than `energy` on the same times: the grid is cut into S blocks and each
        block is evaluated from one segment only (`_curve_uniform_energy`).
        """
        t_end = jnp.asarray(t_end).astype(self.radius.dtype)
        if self.centred:  # its blocks may reach past a half segment from the nearest midpoint
            return self.energy(t_end * (jnp.arange(1, n + 1, dtype=t_end.dtype) / n))
        return _curve_uniform_energy(self, t_end, n)

    def energy_derivatives(self, times: Float[Array, " T"]) -> tuple[Array, Array, Array]:
        """(<H0>, d<H0>/dt, d2<H0>/dt2) at a vector of times (for the maxima's Newton steps;
        not differentiable in the parameters)."""
        return _curve_energy_derivatives(self, jnp.asarray(times).astype(self.radius.dtype))

    def initial_overlap(self, t) -> Float[Array, ""]:
        """|<psi_0|psi_t>| for one time t: sum_k a_k(tau) <psi_0|phi_k> of t's segment."""
        s, tau = self.locate(jnp.asarray(t).astype(self.radius.dtype))
        a = chebyshev_coefficients(self.center, self.radius, tau, self.degree, self.overlaps.dtype)
        return jnp.abs(jnp.sum(a * self.overlaps[s]))

    def state(self, t) -> Complex[Array, " d"]:
        """psi(t) for one time t, rerunning the recurrence: S K products with H, O(d) memory.

        Segment j advances by clip(t - j tau_seg, 0, tau_seg) (the last one unclipped above),
        so t is traced freely and a zero advance is an exact identity (J_k(0) = delta_k0).
        """
        if self.op is None or self.psi0 is None:
            raise _checks.ArgumentError("state", "the curve was built with keep_state=False")
        return _curve_state(self, jnp.asarray(t).astype(self.radius.dtype))


def _segment_products(curve: ChebyshevCurve, s: Array, rows: Array) -> Array:
    """B_{s_i} rows_i for each row (rows: (R, K+1), s: (R,) segment indices)."""
    k1 = curve.degree + 1
    if curve.segments <= GEMM_SEGMENTS:
        # rows against every segment's matrix as one matrix product, then keep each row's own
        # block: S times the flops of a gather but ~30x faster than gathering (R, K+1, K+1)
        stacked = curve.gram.transpose(1, 0, 2).reshape(k1, curve.segments * k1)
        blocks = matmul(rows, stacked).reshape(-1, curve.segments, k1)
        return jnp.take_along_axis(blocks, s[:, None, None], axis=1)[:, 0]
    # many segments: gather B_s per row in cache-sized batches
    return jax.lax.map(lambda sb: matmul(curve.gram[sb[0]], sb[1]), (s, rows), batch_size=256)


@eqx.filter_jit
def _curve_energy(curve: ChebyshevCurve, times: Float[Array, " T"]) -> Float[Array, " T"]:
    s, tau = curve.locate(times)
    b = chebyshev_weights(curve.radius * tau, curve.degree)  # (T, K+1)
    return jnp.sum(_segment_products(curve, s, b) * b, axis=1)


def _curve_uniform_energy(curve: ChebyshevCurve, t_end, n: int) -> Float[Array, " n"]:
    """<H0> at t_end * k / n, k = 1..n, with every block of the grid read from one segment.

    The grid (padded to S blocks of m = ceil(n / S) points) has blocks shorter than a
    segment, tau = window / S >= t_end / S. Block j is expanded about the segment start
    s tau nearest its midpoint, so every time t in it has |t - s tau| <= tau: forwards into
    segment s or backwards into segment s - 1 (J_k(-x) = (-1)^k J_k(x)), both within the
    truncation bound of a segment length. So each row meets one (K+1)^2 matrix, not all S.
    """
    segments = curve.segments
    m = -(-n // segments)
    times = (t_end * (jnp.arange(1, segments * m + 1, dtype=curve.radius.dtype) / n)).reshape(segments, m)
    length = jax.lax.stop_gradient(curve.segment_length)
    middle = 0.5 * (times[:, 0] + times[:, -1]) / jnp.where(length > 0, length, 1.0)
    s = jnp.clip(jnp.round(middle), 0, segments - 1).astype(jnp.int32)
    tau = times - s[:, None].astype(times.dtype) * curve.segment_length
    b = chebyshev_weights(curve.radius * tau.reshape(-1), curve.degree).reshape(segments, m, -1)
    energies = jnp.sum(matmul(b, curve.gram[s]) * b, axis=2)
    return energies.reshape(-1)[:n]


def _curve_energy_derivatives(curve: ChebyshevCurve, times: Float[Array, " T"]):
    """(E, E', E'') at `times` from one Bessel evaluation up to order K + 2.

    J_k' = (J_{k-1} - J_{k+1}) / 2 and J_k'' = (J_{k-2} - 2 J_k + J_{k+2}) / 4 with
    J_{-1} = -J_1, J_{-2} = J_2; with b = w J(r tau): E = b^T B b, E' = 2 b'^T B b,
    E'' = 2 (b''^T B b + b'^T B b').
    """
    s, tau = curve.locate(times)
    k = curve.degree
    j = bessel_j(curve.radius * tau, k + 2)  # (T, K+3)
    ext = jnp.concatenate([j[:, 2:3], -j[:, 1:2], j], axis=1)  # orders -2 .. K+2
    weight = jnp.asarray(np.r_[1.0, np.full(k, 2.0)], j.dtype)
    b = weight * ext[:, 2 : k + 3]
    b1 = curve.radius * weight * 0.5 * (ext[:, 1 : k + 2] - ext[:, 3 : k + 4])
    b2 = curve.radius**2 * weight * 0.25 * (ext[:, : k + 1] - 2.0 * ext[:, 2 : k + 3] + ext[:, 4 : k + 5])
    products = _segment_products(curve, jnp.concatenate([s, s]), jnp.concatenate([b, b1]))
    gb, gb1 = products[: times.shape[0]], products[times.shape[0] :]
    energy = jnp.sum(b * gb, axis=1)
    slope = 2.0 * jnp.sum(b1 * gb, axis=1)
    curvature = 2.0 * (jnp.sum(b2 * gb, axis=1) + jnp.sum(b1 * gb1, axis=1))
    return energy, slope, curvature


@eqx.filter_jit
def _curve_state(curve: ChebyshevCurve, t: Float[Array, ""]) -> Complex[Array, " d"]:
    # steps of a segment (of half a segment when centred: the degree covers that much)
    steps, step = (
        (2 * curve.segments, curve.segment_length / 2)
        if curve.centred
        else (curve.segments, curve.segment_length)
    )
    starts = jnp.arange(steps).astype(t.dtype) * step
    advance = jnp.maximum(t - starts, 0.0)
    advance = advance.at[:-1].set(jnp.minimum(advance[:-1], step))

    def segment(psi, tau):
        return chebyshev_propagate(curve.op, psi, curve.center, curve.radius, curve.degree, tau), None

    return jax.lax.scan(segment, curve.psi0, advance)[0]


def chebyshev_curve(
    h_charging: PauliSum,
    h_energy: PauliSum,
    psi0: Complex[Array, " d"],
    t_end,
    *,
    tol: float = DEFAULT_TOL,
    bounds=None,
    segments: int | None = None,
    degree: int | None = None,
    block: int | None = None,
    keep_state: bool = True,
    shards: int = 1,
) -> ChebyshevCurve:
    """Expand exp(-i H t) psi0 on [0, t_end] and project H0: a curve of <H0>(t).

    Cost: S (K+1) products with H and with H0 and S (K+1)^2 d Gram flops; memory about
    (K+1 + 16) * 2^N * 16 bytes (complex128) at the peak, independent of S.

    Args:
        h_charging: H, generator of the evolution (coefficients (K,)).
        h_energy: H0, whose expectation the curve returns.
        psi0: initial state, shape (2**N,), complex128 or complex64.
        t_end: window length; concrete unless `degree` and `segments` are given.
        tol: target for the summed truncation error (state norm per unit ||psi0||).
        bounds: (lo, hi) containing the spectrum of H; required when H's coefficients are
            traced (then it must hold for every parameter point); default `spectral_bounds`.
        segments, degree: static overrides (e.g. from `plan`); with both, t_end and the
            bounds may be traced. A degree below r t_end / segments makes `error_estimate`
            large (or infinite), never silently small.
        block: Chebyshev vectors kept at once when streaming each segment in passes, in
            bounded memory (`streamed_segment`, from `plan`); None (default): all K + 1.
        keep_state: keep H and psi0 in the curve for `state` (24 * 2^N bytes).
        shards: devices psi0 is split over by its leading qubits (`operators.sharding`).

    Returns:
        A `ChebyshevCurve`, differentiable in both Hamiltonians' coefficients and psi0.
    """
    if psi0.shape != (h_charging.dimension,) or h_energy.n_sites != h_charging.n_sites:
        raise _checks.ArgumentError(
            "psi0",
            f"need shape ({h_charging.dimension},) and H0 on the same {h_charging.n_sites} sites, "
            f"got {psi0.shape} and {h_energy.n_sites} sites",
        )
    center, radius, degree, segments, block = plan(
        h_charging, t_end, tol=tol, bounds=bounds, degree=degree, segments=segments, block=block
    )
    dtype = np.dtype(psi0.dtype) if jnp.iscomplexobj(psi0) else np.dtype(jnp.result_type(complex))
    psi0 = psi0.astype(dtype)
    real = real_of(dtype)
    center, radius = working_interval(center, radius, real)
    tau = jnp.asarray(t_end).astype(real) / segments
    leading = int(np.log2(shards))
    gram, error, overlaps, spread, op_h = march_gram(
        h_charging, h_energy, psi0, center, radius, tau, degree, segments, block, leading
    )
    kept_op, kept_psi = (op_h, psi0) if keep_state else (None, None)
    arrays = (gram, center, radius, tau, error, overlaps, spread, h_energy, kept_op, kept_psi)
    return ChebyshevCurve(*arrays, degree, segments, centred=block is not None)
