"""The one interface every charging engine implements.

An engine turns a battery (a `Battery` of Pauli terms, or a `SpinChain`) into a `Curve`:
the stored energy <H0>_t on the charging window [0, t_end]. Everything above the engines
(the maxima P_max, T*, W_max; P(0); the ergotropy; sweeps; optimisation; the JSON) is
written once against that curve, in `qbjax.charge`.

An engine is an immutable `eqx.Module` holding its options. Three steps, in this order:

    engine.check(model)                  plain Python: raises ArgumentError naming the argument
    engine = engine.plan(model, t_end, spectrum=None)  concrete: fixes static sizes (degree, blocks)
    curve = engine.prepare(model, t_end)             jittable (and vmappable where supported)

`plan` sees concrete numbers only (a window end, an interval `spectrum` that contains the
spectrum of the charging Hamiltonian at every point a batch will hold) and
returns an engine whose static fields fix every shape, so that one compilation serves a
whole batch. Each engine declares what it supports: `batchable` (a batch of points runs
best as one `vmap` of `prepare` over the battery's coefficients, else point by point),
`differentiable` (gradients flow through the curve), `traced_window` (t_end may be a
tracer); `require` raises an error that says which capability is missing. `precisions`
lists the floating-point precisions the engine runs in (`qbjax.precision`), `host_kernels`
whether its batched programs call LAPACK on the CPU (then a chunk runs on one CPU device:
`devices.shard_devices`);
`with_precision` returns the engine set to one of them, or refuses naming `precision`.
"""

from __future__ import annotations

import abc
import dataclasses
import itertools
import math
from typing import ClassVar, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import memory as _memory
from .. import precision as _precision
from .._checks import ArgumentError
from ..models.chain import as_battery
from ..operators.bounds import spectral_bounds
from ..operators.terms import norm_bound

CAPABILITIES = {
    "batchable": "one vmapped call over a batch of parameter points",
    "differentiable": "gradients through the evolution",
    "traced_window": "a traced (differentiated or batched) charging window",
}


class SearchCurve(eqx.Module):
    """<H0>_t as a function of time: all that the maxima search reads (`tasks.maxima`).

    Subclasses implement `energy`; the time derivatives and the uniform grid have defaults.
    """

    @abc.abstractmethod
    def energy(self, times: Float[Array, " T"]) -> Float[Array, " T"]:
        """<H0>_t at each time in [0, t_end]; differentiable in t and in the parameters."""

    def energy_derivatives(self, times: Float[Array, " k"]) -> tuple[Array, Array, Array]:
        """(E, dE/dt, d2E/dt2) at a vector of times, for the maxima's Newton steps.

        Default: forward mode differentiates `energy` twice. Curves with closed-form time
        derivatives override it (one pass, a far smaller program).
        """

        def value_and_slope(t):
            return jax.jvp(self.energy, (t,), (jnp.ones_like(t),))

        (energy, slope), (_, curvature) = jax.jvp(value_and_slope, (times,), (jnp.ones_like(times),))
        return energy, slope, curvature

    def uniform_energy(self, t_end, n: int) -> Float[Array, " n"]:
        """`energy` on the grid t_end * k / n, k = 1..n, in the dtype of `t_end` (an array).

        Curves that evaluate a uniform grid faster than arbitrary times override it (the
        same grid, computed the same way).
        """
        return self.energy(t_end * (jnp.arange(1, n + 1, dtype=t_end.dtype) / n))


class Curve(SearchCurve):
    """<H0>_t of a battery charged from t = 0, on [0, t_end].

    Subclasses implement `energy`, `initial_energy` and `ground_energy`; the rest has
    defaults: the time derivatives and the grid (`SearchCurve`), and for pure states the
    ergotropy; no error estimate, bandwidth or speed limit unless the engine knows one.
    """

    @abc.abstractmethod
    def initial_energy(self) -> Float[Array, ""]:
        """<H0> at t = 0."""

    @abc.abstractmethod
    def ground_energy(self) -> Float[Array, ""]:
        """Lowest eigenvalue of H0 (the passive energy of every pure state)."""

    def ergotropy(self, times: Float[Array, " T"], energies: Float[Array, " T"]) -> Float[Array, " T"]:
        """Ergotropy of the charged state at `times`, given its energies there.

        A pure state's passive state is the ground state: E(t) = <H0>_t - E_ground.
        Engines on mixed states override this.
        """
        del times
        return energies - self.ground_energy()

    def error_estimate(self) -> Float[Array, ""] | None:
        """An estimate of the state error (norm) over the window; None for exact engines."""
        return None

    def bandwidth(self) -> float | None:
        """The fastest angular frequency in W(t), when the engine knows a sharp concrete value
        (it sets the maxima grid); None: use the engine's bound from the Hamiltonian."""
        return None

    def search_curve(self) -> SearchCurve:
        """A curve with the same values, cheaper to evaluate, for the grid and the bisection
        of the maxima (no parameter gradients needed there)."""
        return self

    def speed_limit(self, t) -> tuple[Array, Array] | None:
        """(|<psi_0|psi_t>|, Delta E) for the quantum speed limit (`qbjax.qsl`): the overlap of
        the charged state with the start, and the energy spread of the charging Hamiltonian
        in the start (conserved). None when the engine holds no pure state here."""
        del t
        return None


def spectral_speed_limit(evals, weights, t) -> tuple[Array, Array]:
    """`Curve.speed_limit` from the charging spectrum E_j and the start's weights |<j|psi_0>|^2."""
    phases = jax.lax.complex(jnp.cos(evals * t), -jnp.sin(evals * t))
    overlap = jnp.abs(jnp.sum(weights.astype(phases.dtype) * phases))
    mean = jnp.sum(weights * evals)
    return overlap, jnp.sqrt(jnp.sum(weights * (evals - mean) ** 2))


class CastCurve(Curve):
    """A curve computed in another precision, seen in the caller's: times enter cast to the
    curve's real dtype, energies leave in the dtype of the times (of JAX's default float for
    the scalars). Gradients pass through the casts."""

    inner: SearchCurve  # a Curve, or its search curve
    dtype: np.dtype = eqx.field(static=True)  # the inner curve's real dtype

    def energy(self, times):
        return self.inner.energy(times.astype(self.dtype)).astype(times.dtype)

    def energy_derivatives(self, times):
        values = self.inner.energy_derivatives(times.astype(self.dtype))
        return tuple(v.astype(times.dtype) for v in values)

    def uniform_energy(self, t_end, n: int):
        return self.inner.uniform_energy(t_end.astype(self.dtype), n).astype(t_end.dtype)

    def initial_energy(self):
        return self.inner.initial_energy().astype(jnp.result_type(float))

    def ground_energy(self):
        return self.inner.ground_energy().astype(jnp.result_type(float))

    def error_estimate(self):
        error = self.inner.error_estimate()
        return None if error is None else error.astype(jnp.result_type(float))

    def bandwidth(self):
        return self.inner.bandwidth()

    def search_curve(self):
        return CastCurve(self.inner.search_curve(), self.dtype)

    def speed_limit(self, t):
        data = self.inner.speed_limit(jnp.asarray(t).astype(self.dtype))
        return None if data is None else tuple(x.astype(jnp.result_type(float)) for x in data)


def in_caller_precision(curve: Curve, precision: str) -> Curve:
    """`curve` as the caller sees it: wrapped in a `CastCurve` when it runs in single precision."""
    return curve if precision == "double" else CastCurve(curve, _precision.real_dtype(precision))


class AbstractEngine(eqx.Module):
    """Options of one way of computing <H0>_t; see the module docstring for the protocol."""

    name: ClassVar[str]
    batchable: ClassVar[bool] = True
    differentiable: ClassVar[bool] = True
    traced_window: ClassVar[bool] = True
    # its batched programs call LAPACK kernels on the CPU (custom calls; checked against the
    # lowered programs in tests/test_sweep.py): a chunk then runs on one CPU device
    host_kernels: ClassVar[bool] = False
    precisions: ClassVar[tuple[str, ...]] = ("double",)
    # `prepare_concrete` is one compiled program of `prepare` (no NumPy or SciPy stage), so
    # the CLI's `program_cache` may store it
    compiled_prepare: ClassVar[bool] = True
    # one point of a vmapped chunk holds this many times `memory_bytes` (XLA reuses fewer
    # buffers across a batch; tests/test_memory_estimates.py measures it): dense 1.5
    batch_memory_factor: ClassVar[float] = 2.0

    @property
    def precision(self) -> str:
        """The precision this engine computes in ("double" or "single")."""
        return _precision.of_dtype(getattr(self, "dtype", None))

    def with_precision(self, precision: str) -> AbstractEngine:
        """This engine computing in `precision`; ArgumentError("precision") when it cannot."""
        _precision.check(precision)
        if precision == self.precision:
            return self
        if precision not in self.precisions:
            raise ArgumentError(
                "precision",
                f"the {self.name} method runs in {' or '.join(self.precisions)} precision only; "
                f"{precision} precision needs method dense, chebyshev or krylov",
            )
        return self._set_dtype(_precision.complex_dtype(precision))

    def _set_dtype(self, dtype) -> AbstractEngine:
        """This engine (unplanned) with complex dtype `dtype`: engines listing "single" in
        `precisions` implement it."""
        raise NotImplementedError

    def check(self, model) -> None:
        """Raise `ArgumentError` naming the argument when this engine cannot charge `model`."""

    def plan(self, model, t_end: float, *, spectrum: tuple[float, float] | None = None) -> AbstractEngine:
        """This engine with its static sizes fixed for windows up to `t_end`.

        Args:
            model: a concrete `Battery` or `SpinChain` (when `spectrum` is None).
            t_end: the longest window any prepared curve will cover.
            spectrum: (lo, hi) containing the spectrum of the charging Hamiltonian at every
                point that will be prepared (`spectrum_over`); None: from `model`.
        """
        del model, t_end, spectrum
        return self

    def plan_for_gradient(
        self, model, t_end: float, *, spectrum: tuple[float, float] | None = None
    ) -> AbstractEngine:
        """`plan`, for reverse mode (`optimize`): engines whose cheapest forward plan is not
        the cheapest to differentiate choose differently."""
        return self.plan(model, t_end, spectrum=spectrum)

    @abc.abstractmethod
    def prepare(self, model, t_end) -> Curve:
        """The energy curve of `model` on [0, t_end] (jittable)."""

    def prepare_within(self, model, t_end, spectrum) -> Curve:
        """`prepare` for a point whose charging spectrum lies in `spectrum` = (lo, hi)
        (traced; no wider than the planned interval). Engines that expand in the spectral
        interval use the point's own; the rest ignore it."""
        del spectrum
        return self.prepare(model, t_end)

    def prepare_concrete(self, model, t_end, *, ergotropy: bool = True) -> Curve:
        """`prepare` on concrete inputs, outside any transformation: compiled once per shape.

        Engines with a faster path for concrete numbers (NumPy, SciPy) override it.
        `ergotropy`: whether the curve will be asked for the ergotropy (engines whose
        ground energy is costly compute it only then).
        """
        del ergotropy
        return _prepare_jit(self, model, t_end)

    def bandwidth_hint(self) -> float | None:
        """The fastest frequency of W(t) when the plan already fixes it (the curve's
        `bandwidth()`), else None."""
        return None

    def frequency_bound(self, model) -> Array:
        """An upper bound on the angular frequencies in W(t), for the maxima grid of `charge`
        when the curve knows no sharper value (`Curve.bandwidth`).

        They are eigenvalue differences of the charging Hamiltonian: at most
        2 ||H|| <= 2 sum_k |c_k|. Engines on another state space override this.
        """
        return 2.0 * norm_bound(as_battery(model).charging)

    def memory_bytes(self, model) -> int:
        """Estimated peak memory of `prepare` for one point."""
        del model
        return 0

    def batch_memory_bytes(self, model) -> int:
        """Estimated memory of one point of a vmapped chunk (`sweep`)."""
        return math.ceil(self.batch_memory_factor * self.memory_bytes(model))

    def gradient_memory_bytes(self, model) -> int:
        """Estimated peak memory of reverse mode through `prepare` and the window's maximum
        for one point (a gradient of P_max, as `optimize` takes it)."""
        return _memory.GRAD_MEMORY * self.memory_bytes(model)

    def with_memory(self, memory: int) -> AbstractEngine:
        """This engine planning within `memory` bytes at once, when it has a `memory` option
        (Chebyshev, Krylov); the others are returned as they are (their needs are fixed by
        the model, and `engine_for` refuses them above the budget)."""
        if self._has_option("memory"):
            return dataclasses.replace(self, memory=memory)
        return self

    def state_shards(self) -> int:
        """Devices this engine's state is split over (`operators.sharding`): its `shards`
        option (Chebyshev, Krylov), else 1."""
        return self.shards if self._has_option("shards") else 1

    def with_shards(self, count: int) -> AbstractEngine:
        """This engine with its state split over `count` devices; ArgumentError("shard") for
        engines without a `shards` option (they keep their state on one device)."""
        if count == self.state_shards():
            return self
        if self._has_option("shards"):
            return dataclasses.replace(self, shards=count)
        raise ArgumentError(
            "shard",
            f"the {self.name} method keeps its state on one device; a sharded state needs method "
            "chebyshev or krylov",
        )

    def _has_option(self, name: str) -> bool:
        return name in {field.name for field in dataclasses.fields(self)}

    def require(self, capability: str, purpose: str) -> None:
        """Raise `ArgumentError("method", ...)` when this engine lacks `capability`."""
        if not getattr(self, capability):
            raise ArgumentError(
                "method",
                f"the {self.name} method does not support {CAPABILITIES[capability]}, needed {purpose}",
            )


def spectrum_over(models, *, affine: bool = True) -> tuple[float, float]:
    """(lo, hi) containing the spectrum of the charging Hamiltonian of every model (concrete),
    or of every point of the box whose vertices the models are.

    For a box of parameters each entering H affinely (g, alpha, D, B, omega), the extreme
    eigenvalues are convex (largest) and concave (smallest) in each parameter separately,
    so the vertices bound every point inside it. Otherwise (`affine=False`: the power-law
    exponent p) the interval is +-max sum_k |c_k|, each |c_k| monotone in p and separately
    convex in the others, so again largest at a vertex.
    """
    bounds = vertex_bounds(models, affine=affine)
    return min(b[0] for b in bounds), max(b[1] for b in bounds)


def vertex_bounds(models, *, affine: bool = True) -> list[tuple[float, float]]:
    """(lo, hi) containing each model's charging spectrum: `spectral_bounds`, or with
    `affine=False` the common +-max sum_k |c_k| (see `spectrum_over`)."""
    if not affine:
        radius = max(float(norm_bound(as_battery(model).charging)) for model in models)
        return [(-radius, radius)] * len(models)
    return [spectral_bounds(as_battery(model).charging) for model in models]


class BoxSpectrum(NamedTuple):
    """An interval containing the charging spectrum at every point of a box of parameters
    (a sweep's, an optimisation's), for each point its own.

    Each swept parameter but p enters H affinely when the others are fixed (g, alpha, D,
    B, omega), so lambda_max is convex and lambda_min concave along every axis; applied
    axis by axis, the multilinear interpolation of rigorous bounds at the box's vertices
    bounds every point inside (see `spectrum_over`). With p swept every vertex
    holds +-max sum_k |c_k|. A point's own interval is much narrower than the union over
    the box: its centre follows the spectrum (N = 8, alpha in [-1, 1], D in [0, 1]:
    radius 34 instead of 40).
    """

    columns: tuple[int, ...]  # where the spectral parameters are in a point's vector
    lower: tuple[float, ...]  # the box along each of them
    upper: tuple[float, ...]
    vertex_lo: tuple[float, ...]  # bounds at the vertices, first axis slowest
    vertex_hi: tuple[float, ...]

    @classmethod
    def of(cls, columns, lower, upper, chain_at, *, affine: bool) -> BoxSpectrum:
        """Bounds at the vertices of the box [lower, upper] along `columns`, enumerated in the
        order `at` interpolates them; `chain_at(corner)` is the SpinChain at a corner (its
        values along `columns`). `affine=False` when p varies (`vertex_bounds`)."""
        corners = itertools.product(*zip(lower, upper, strict=True))
        # the vertices only bound the charging spectrum: their start is not needed
        models = [chain_at(np.asarray(corner)).replace(initial="down") for corner in corners]
        bounds = vertex_bounds(models, affine=affine)
        return cls(
            tuple(columns),
            tuple(map(float, lower)),
            tuple(map(float, upper)),
            tuple(float(b[0]) for b in bounds),
            tuple(float(b[1]) for b in bounds),
        )

    def widest(self) -> tuple[float, float]:
        """The widest vertex interval: no point's interval is wider."""
        i = int(np.argmax(np.subtract(self.vertex_hi, self.vertex_lo)))
        return self.vertex_lo[i], self.vertex_hi[i]

    def at(self, row) -> tuple[Array, Array]:
        """(lo, hi) at one point's vector of parameters (traced), widened by its rounding."""
        weights = jnp.ones((1,), row.dtype)
        for column, lo, hi in zip(self.columns, self.lower, self.upper, strict=True):
            t = jnp.clip((row[column] - lo) / (hi - lo), 0.0, 1.0) if hi > lo else jnp.zeros((), row.dtype)
            weights = (weights[:, None] * jnp.stack([1.0 - t, t])[None, :]).reshape(-1)
        lo = weights @ jnp.asarray(self.vertex_lo, row.dtype)
        hi = weights @ jnp.asarray(self.vertex_hi, row.dtype)
        slack = 16.0 * jnp.finfo(row.dtype).eps * max(map(abs, self.vertex_lo + self.vertex_hi))
        return lo - slack, hi + slack


@eqx.filter_jit
def _prepare_jit(engine: AbstractEngine, model, t_end) -> Curve:
    return engine.prepare(model, t_end)


def rate_at_zero(curve: Curve) -> Float[Array, ""]:
    """P(0) = dW/dt at t = 0, the limit of W(t)/t: the time derivative of the energy curve."""
    zero = jnp.zeros((1,), jnp.result_type(float))
    return jax.jvp(curve.energy, (zero,), (jnp.ones_like(zero),))[1][0]
