"""Gradient-based search for the charging protocol of maximum power (optax).

The objective is the maximum power of the spin-chain battery as a function of the
varied parameters theta (any of g, p, alpha, dm, field, omega) within box bounds:

    P_max(theta) = max_{0 < T <= t_max} W(T; theta) / T          (T* refined inside)

whose gradient is the partial derivative at the fixed T* (envelope theorem, exact at
the refined optimum). Naming the charging time "t" among the varied parameters
optimises P(T; theta) = W(T; theta) / T jointly in theta and T instead.

Adam runs in the unit box (each parameter scaled to [0, 1]) and projects back onto it
after every step, so bounds hold exactly and optima on a bound are reached exactly.
Several starts (a Latin hypercube, seeded) run at once under `vmap`, so a landscape
with several local maxima is searched from several basins; the best final point wins.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..engines import AbstractEngine, engine_for
from ..engines.base import BoxSpectrum
from ..kernels.ground_state import check_traced_size
from ..models.chain import PARAMETERS, SpinChain
from . import box_search
from .charge import maxima
from .maxima import check_grid, grid_size

OPTIMIZABLE = (*PARAMETERS, "t")
# the polish in single precision: a Newton step cannot resolve gains below the rounding of P
# (about 1e-7 relative), and the Hessian's differences need a step near the cube root of it
SINGLE_GAIN_TOLERANCE = 1e-6
SINGLE_HESSIAN_STEP = 3e-3


@dataclasses.dataclass(frozen=True)
class OptimizeResult:
    """Outcome of `optimize`.

    Attributes:
        max_power: best P_max found (P(T) at the best T when "t" was varied).
        t_max_power: the charging time T* of that power.
        params: varied parameter -> value at the best point ("t" included when varied).
        converged: at the best point a further Newton step would gain less than
            box_search.GAIN_TOLERANCE x |P| (a local maximum, possibly on the bounds;
            SINGLE_GAIN_TOLERANCE in single precision).
        history: (steps,) best objective over all starts after each step.
        finals: (starts,) final objective of every start.
        points: (starts, k) final point of every start, in parameter units.
        precision: "double" or "single", the precision the engine ran in.
        model: the spin chain at the best point.
    """

    max_power: float
    t_max_power: float
    params: dict[str, float]
    converged: bool
    history: np.ndarray
    finals: np.ndarray
    points: np.ndarray
    precision: str = "double"
    model: SpinChain | None = None


def _bounds(vary: Mapping[str, tuple[float, float] | None], t_max) -> dict[str, tuple[float, float]]:
    bounds = {}
    for name, limits in vary.items():
        _checks.one_of("vary", name, OPTIMIZABLE)
        if limits is None and name == "t":
            limits = (t_max * 1e-3, t_max)
        try:
            lo, hi = (float(x) for x in limits)
        except (TypeError, ValueError):
            raise _checks.ArgumentError("vary", f"{name} needs bounds lo:hi, got {limits!r}") from None
        _checks.finite("vary", (lo, hi))
        if not lo < hi:
            raise _checks.ArgumentError("vary", f"{name}: need lo < hi, got {lo}:{hi}")
        if name == "p" and lo < 0:
            raise _checks.ArgumentError("vary", f"p: bounds must be >= 0, got {lo}:{hi}")
        if name == "t" and lo <= 0:
            raise _checks.ArgumentError("vary", f"t: bounds must be > 0, got {lo}:{hi}")
        bounds[name] = (lo, hi)
    if not bounds:
        raise _checks.ArgumentError("vary", f"name at least one parameter, from {', '.join(OPTIMIZABLE)}")
    return bounds


def _window(model: Mapping, vary: Mapping, t_max):
    """The charging window: t_max, or one drive period 2 pi/|omega| (None: a function of varied omega)."""
    if t_max is not None:
        return _checks.positive("t_max", t_max)
    if "omega" in vary:
        lo, hi = _bounds({"omega": vary["omega"]}, None)["omega"]
        if lo <= 0 <= hi:
            raise _checks.ArgumentError("t_max", "is needed when the omega bounds include 0")
        return None
    omega = _checks.finite("omega", model.get("omega", 4.0))
    if omega == 0:
        raise _checks.ArgumentError("omega", "must be nonzero when t_max is not given (t_max = 2 pi/|omega|)")
    return 2 * math.pi / abs(omega)


class _Objective:
    """P as a function of a point x of the unit box, computed by one engine."""

    def __init__(self, model: Mapping, bounds: Mapping, t_max, n_grid: int | None):
        self.model = {k: v for k, v in model.items() if k not in bounds}
        self.names = tuple(bounds)
        self.lo = jnp.array([b[0] for b in bounds.values()])
        self.width = jnp.array([b[1] - b[0] for b in bounds.values()])
        self.t_max = t_max
        self.n_grid = n_grid
        self.engine: AbstractEngine | None = None
        self.t_end: float | None = None
        self.spectrum: BoxSpectrum | None = None

    def params(self, x):
        return dict(zip(self.names, self.lo + self.width * x, strict=True))

    def chain(self, params) -> SpinChain:
        return SpinChain.of({**self.model, **{k: v for k, v in params.items() if k != "t"}})

    def window(self, params):
        return self.t_max if self.t_max is not None else 2 * jnp.pi / jnp.abs(params["omega"])

    def corners(self):
        """The parameters at every corner of the box (where sum |c_k| and the window peak)."""
        for corner in itertools.product((0.0, 1.0), repeat=len(self.names)):
            yield self.params(jnp.array(corner))

    def plan(self, method, starts: int, precision: str | None = None) -> None:
        """Choose and plan the engine for every point of the box: the longest curve needed
        (the longest window, or the largest T) and the largest spectral width."""
        corners = list(self.corners())
        engine = engine_for(method, self.chain(corners[0]), batch=starts, precision=precision)
        engine.require("differentiable", "by optimize")
        if "t" in self.names:
            self.t_end = max(float(c["t"]) for c in corners)
        else:
            self.t_end = max(float(self.window(c)) for c in corners)
        if self.model.get("initial") == "ground":
            check_traced_size(self.model.get("n", 4))
        self.spectrum = self._box_spectrum()
        lo, hi = self.spectrum.widest()
        self.engine = engine.plan_for_gradient(self.chain(corners[0]), self.t_end, spectrum=(lo, hi))
        if "t" not in self.names and self.n_grid is None:
            window = max(float(self.window(c)) for c in corners)
            self.n_grid = grid_size((hi - lo) * window, 1.0)

    def _box_spectrum(self) -> BoxSpectrum:
        """Bounds on the charging spectrum at the box's vertices (the time "t" aside), so that
        each point x of the unit box expands in its own interval (`engines.base.BoxSpectrum`)."""
        spectral = [i for i, name in enumerate(self.names) if name != "t"]

        def chain_at(corner):
            x = np.zeros(len(self.names))
            x[spectral] = corner
            return self.chain(self.params(jnp.asarray(x)))

        zeros, ones = (0.0,) * len(spectral), (1.0,) * len(spectral)
        return BoxSpectrum.of(spectral, zeros, ones, chain_at, affine="p" not in self.names)

    def __call__(self, x):
        """(P, T) at x."""
        params = self.params(x)
        # the interval is not a parameter of the curve (any containing the spectrum serves)
        spectrum = jax.lax.stop_gradient(self.spectrum.at(x))
        curve = self.engine.prepare_within(self.chain(params), self.t_end, spectrum)
        if "t" in params:
            t = params["t"]
            work = curve.energy(t[None])[0] - curve.initial_energy()
            return work / t, t
        p_max, t_star, _, _ = maxima(curve, self.window(params), self.n_grid)
        return p_max, t_star


def optimize(
    model: Mapping,
    vary: Mapping[str, tuple[float, float] | None],
    *,
    t_max: float | None = None,
    starts: int = 8,
    steps: int = 300,
    learning_rate: float = 0.05,
    seed: int = 0,
    n_grid: int | None = None,
    method="auto",
    precision: str | None = None,
) -> OptimizeResult:
    """Maximise the charging power over the varied parameters, within their bounds.

    Args:
        model: `spin_chain_battery` keyword arguments for the fixed parameters.
        vary: parameter -> (lo, hi) bounds; names from OPTIMIZABLE. "t" (the
            charging time) may be given None for (t_max/1000, t_max).
        t_max: the window of P_max (default 2 pi/|omega|).
        starts: number of starting points (Latin hypercube in the box, from `seed`).
        steps: Adam steps per start (cosine-decayed learning rate).
        learning_rate: initial step size in unit-box coordinates.
        n_grid: window samples for P_max (default: resolves the fastest frequency
            of W(t) at every corner of the box).
        method: the engine (or its name; "auto" chooses by size and symmetry at the
            box's lower corner). It must support gradients.
        precision: "double" or "single" (complex64; dense, Chebyshev and Krylov), None:
            the engine's own (double for a name).
    """
    starts = _checks.integer_in("starts", starts, 1, _checks.MAX_STARTS)
    steps = _checks.integer_at_least("steps", steps, 1)
    _checks.integer_in("seed", seed, 0, _checks.MAX_SEED)
    _checks.positive("learning_rate", learning_rate)
    window = _window(model, vary, t_max)
    if "t" in vary and vary["t"] is None and window is None:
        raise _checks.ArgumentError("vary", "t needs bounds lo:hi when omega varies and t_max is not given")
    bounds = _bounds(vary, window)
    objective = _Objective(model, bounds, window, None if n_grid is None else check_grid(n_grid))
    objective.plan(method, starts, precision)
    corner = objective.chain(next(objective.corners()))
    per_start = objective.engine.gradient_memory_bytes(corner)
    _checks.fits("starts", starts * per_start, f"{starts} starts run at once")
    single = objective.engine.precision == "single"
    x0 = jnp.asarray(box_search.latin_hypercube(starts, len(bounds), seed))
    x, values, history = box_search.run_adam(lambda z: objective(z)[0], x0, steps, learning_rate)
    best = int(np.argmax(values))
    polish = {"gain_tolerance": SINGLE_GAIN_TOLERANCE, "step": SINGLE_HESSIAN_STEP} if single else {}
    x_best, converged = box_search.polish(lambda z: objective(z)[0], x[best], **polish)
    power, t_star = (float(v) for v in jax.jit(objective)(x_best))
    if not math.isfinite(power):
        raise _checks.ArgumentError(
            "initial", "the ground state of H0 is degenerate at the best point found; start from 'down'"
        )
    x = x.at[best].set(x_best)
    values = values.at[best].set(power)
    params = {k: float(v) for k, v in objective.params(x_best).items()}
    points = np.asarray(objective.lo + objective.width * x)
    model = objective.chain({k: v for k, v in params.items() if k != "t"})
    history, values = np.asarray(history), np.asarray(values)
    precision = objective.engine.precision
    return OptimizeResult(power, t_star, params, converged, history, values, points, precision, model)
