"""How far a single-precision P_max lies from double precision: a spot check and an estimate.

A single-precision run (`qbjax.precision`) finds T* and P_max = W(T*)/T* in complex64. The
spot check recomputes W at that same T* in double, by matrix-free Chebyshev propagation of
the state to T* alone (no grid, no Gram matrices: a fraction of the run's own cost), so

    difference = |P_single(T*) - P_double(T*)|

measures the rounding error of the single run where it matters. The double maximum lies
at a T* that differs by rounding only, and P_max(single) - P_max(double) lies between
dP(T*_double) and dP(T*_single) (each maximum beats the other's argmax); dP varies
little between two such close times, so the reported estimate

    max_power_error = 2 * difference + FLOOR_EPS * eps_single * |P_max|

covers it (the floor guards a difference that happens to vanish at T*); tested never to
be below the measured |P_max(single) - P_max(double)| (tests/test_precision.py). Beyond
SPOT_CHECK_MAX_N spins the check is skipped and the estimate comes from the engine's bound
on the state error instead: |dW| <= 2 ||H0|| (error at T* + error at 0) <= 4 ||H0|| err.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from .. import precision as _precision
from ..kernels.chebyshev import evolve_chebyshev
from ..models.chain import as_battery
from ..operators.matfree import matfree
from ..operators.terms import norm_bound

SPOT_CHECK_MAX_N = 20  # a few complex128 vectors of 2^N and about S K products with H
FLOOR_EPS = 8.0


class PrecisionCheck(NamedTuple):
    """The double-precision spot check of a single-precision P(T) at T = `time`."""

    time: float
    max_power_double: float
    difference: float

    def as_json(self) -> dict:
        return {
            "time": self.time,
            "max_power_double": self.max_power_double,
            "difference": self.difference,
        }


@eqx.filter_jit
def _energy(h0, state):
    return jnp.real(jnp.vdot(state, matfree(h0)(state)))


def power_in_double(model, t: float) -> float:
    """P(t) = W(t)/t of `model` (concrete) in complex128, by Chebyshev propagation to t."""
    battery = as_battery(model)
    psi0 = jnp.asarray(battery.initial_state(), _precision.complex_dtype("double"))
    state = evolve_chebyshev(battery.charging, psi0, np.array([float(t)])).states[0]
    work = float(_energy(battery.energy, state)) - float(_energy(battery.energy, psi0))
    return work / float(t)


def spot_check(model, t_star: float, max_power: float) -> PrecisionCheck | None:
    """The single-precision `max_power` at `t_star` checked in double; None beyond
    SPOT_CHECK_MAX_N spins (the check would cost about as much as the run)."""
    if model.n_sites > SPOT_CHECK_MAX_N or not t_star > 0:
        return None
    double = power_in_double(model, t_star)
    return PrecisionCheck(float(t_star), double, abs(float(max_power) - double))


def max_power_error(model, max_power: float, t_star: float, check, state_error) -> float:
    """Estimated |P_max(single) - P_max(double)|: from the spot check when there is one,
    else from the engine's state-error bound `state_error` (module docstring)."""
    eps = _precision.epsilon("single")
    floor = FLOOR_EPS * eps * abs(float(max_power))
    if check is not None:
        return 2.0 * check.difference + floor
    h0_norm = float(np.asarray(norm_bound(as_battery(model).energy)))
    error = float(state_error) if state_error is not None else eps
    return 4.0 * h0_norm * error / float(t_star) + floor


def precision_keys(model, precision: str, max_power: float, t_star: float, state_error) -> dict:
    """The JSON keys of a charge's precision: `precision`; in single also `max_power_error`
    and, when run, `precision_check` (the double spot check at T*)."""
    if precision == "double":
        return {"precision": "double"}
    check = spot_check(model, t_star, max_power)
    keys = {
        "precision": precision,
        "max_power_error": max_power_error(model, max_power, t_star, check, state_error),
    }
    if check is not None:
        keys["precision_check"] = check.as_json()
    return keys


def sweep_keys(result) -> dict:
    """The JSON keys of a sweep's precision (a `SweepResult`): `precision`; in single also
    `precision_check`, the double spot check of up to three points (the largest P_max, the
    first and the last), and `max_power_relative_error`, the largest relative estimate
    among them (not given when no point could be checked)."""
    precision = result.plan.engine.precision
    if precision == "double":
        return {"precision": "double"}
    powers = result.values["max_power"].reshape(-1)
    times = result.values["t_max_power"].reshape(-1)
    finite = np.flatnonzero(np.isfinite(powers))
    picks = dict.fromkeys(int(i) for i in (finite[np.argmax(powers[finite])], finite[0], finite[-1]))
    checks = []
    for index in picks if finite.size else ():
        model, _ = result.plan.point(index)
        check = spot_check(model, float(times[index]), float(powers[index]))
        if check is None:
            continue
        error = max_power_error(model, float(powers[index]), float(times[index]), check, None)
        checks.append(
            {"point": index, "max_power": float(powers[index]), **check.as_json(), "max_power_error": error}
        )
    keys = {"precision": precision, "precision_check": checks}
    if checks:
        keys["max_power_relative_error"] = max(c["max_power_error"] / abs(c["max_power"]) for c in checks)
    return keys
