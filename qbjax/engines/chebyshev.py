"""The Chebyshev engine: decomposition-free propagation by a Bessel-weighted Chebyshev series.

    exp(-iHt) psi0 = e^{-ict} sum_k a_k(t) T_k((H - c)/r) psi0,   a_k = (2 - delta_k0) (-i)^k J_k(rt)

with [c - r, c + r] a rigorous bound on the spectrum (`propagate.chebyshev.spectral_bounds`)
and the degree from the truncation bound for the requested tolerance. The vectors
T_k(H~) psi0 do not depend on t, so the Gram matrices <phi_k|H0|phi_l> turn <H0>_t at any
time into a (K+1) x (K+1) quadratic form: the maxima's grid and bisection never touch a
state again. Matrix-free H @ psi; fixed degree inside `scan`, so it jits, vmaps over the
coefficients and differentiates (checkpointed per segment).
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .. import memory as _memory
from .. import precision as _precision
from ..kernels.chebyshev import (
    DEFAULT_TOL,
    STREAM_OVERHEAD,
    ChebyshevCurve,
    chebyshev_curve,
    march_vectors,
    plan,
)
from ..kernels.ground_state import ground_state_energy
from ..models.chain import as_battery
from ..operators.terms import PauliSum
from .base import AbstractEngine, Curve, in_caller_precision

DEFAULT_TOL_SINGLE = 1e-5
# The fewest state vectors a march holds: one kept vector plus the streamed path's own.
MIN_VECTORS = STREAM_OVERHEAD + 1


class ChebyshevEnergyCurve(Curve):
    curve: ChebyshevCurve
    energy_h: PauliSum

    def energy(self, times):
        return self.curve.energy(times)

    def energy_derivatives(self, times):
        return self.curve.energy_derivatives(times)

    def uniform_energy(self, t_end, n: int):
        return self.curve.uniform_energy(t_end, n)

    def initial_energy(self):
        return self.curve.energy(jnp.zeros((1,), self.curve.radius.dtype))[0]

    def ground_energy(self):
        return ground_state_energy(self.energy_h)

    def error_estimate(self):
        return self.curve.error_estimate

    def speed_limit(self, t):
        return self.curve.initial_overlap(t), self.curve.spread


class Chebyshev(AbstractEngine):
    """Chebyshev propagation with Gram-matrix energies.

    Attributes:
        tol: target for the summed state error (norm) over the window; default 1e-12 in
            complex128, 1e-5 in complex64.
        dtype: complex128 (default under x64) or complex64.
        bounds: (lo, hi) containing the spectrum of the charging Hamiltonian; required
            when its coefficients are traced (jit, grad, vmap), since the degree is fixed
            before tracing. Default: `propagate.chebyshev.spectral_bounds` of the model.
        memory: bytes the march may hold at once (`qbjax.memory.budget_bytes`; default the
            larger of 16 states and 256 MiB; at most 90% of the free memory). A budget below all
            K + 1 vectors of a segment streams them in passes (more products with H).
        center, radius, degree, segments, block: the expansion (set by `plan`).
    """

    name = "chebyshev"
    traced_window = False  # the window's end fixes the degree and the segments
    precisions = ("double", "single")
    tol: float | None = eqx.field(static=True, default=None)
    dtype: object = eqx.field(static=True, default=None)
    bounds: tuple[float, float] | None = eqx.field(static=True, default=None)
    memory: int | None = eqx.field(static=True, default=None)
    center: float | None = eqx.field(static=True, default=None)
    radius: float | None = eqx.field(static=True, default=None)
    degree: int | None = eqx.field(static=True, default=None)
    segments: int | None = eqx.field(static=True, default=None)
    block: int | None = eqx.field(static=True, default=None)

    def _options(self) -> tuple[float, np.dtype]:
        return _checks.precision(self.tol, self.dtype, DEFAULT_TOL, DEFAULT_TOL_SINGLE)

    def _set_dtype(self, dtype) -> Chebyshev:
        unplanned = {"center": None, "radius": None, "degree": None, "segments": None, "block": None}
        return dataclasses.replace(self, dtype=dtype, **unplanned)

    def _state_bytes(self, n_sites: int) -> int:
        return self._options()[1].itemsize * 2**n_sites

    def check(self, model) -> None:
        _memory.check_budget(self.memory)
        _checks.fits_in_memory(model.n_sites, lambda n: MIN_VECTORS * self._state_bytes(n), "chebyshev")
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
        charging = as_battery(model).charging
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
            h0=as_battery(model).energy,
        )
        return Chebyshev(tol, dtype, self.bounds, self.memory, c, r, k, s, b)

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
        psi0 = battery.initial_state().astype(self.dtype)
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
        )
        return in_caller_precision(ChebyshevEnergyCurve(curve, battery.energy), self.precision)

    def bandwidth_hint(self) -> float | None:
        # frequencies of W(t) are eigenvalue differences: at most the interval's width
        return None if self.radius is None else 2.0 * self.radius

    def memory_bytes(self, model) -> int:
        """The march's peak: its plan's vectors (`march_vectors`); unplanned, the budget."""
        state = self._state_bytes(model.n_sites)
        if self.degree is None:
            return _memory.budget_bytes(state, self.memory)
        return march_vectors(self.degree, self.block) * state


@eqx.filter_jit
def _prepare_planned(engine: Chebyshev, model, t_end, bounds) -> Curve:
    return engine._prepare(model, t_end, bounds)
