"""The JSON object of `qbjax charge --json` (and of every figure's data file)."""

from __future__ import annotations

import numpy as np

from .. import precision as _precision
from ..models.chain import SpinChain, spin_chain_battery
from ..tasks.charge import charge
from ..tasks.precision_check import precision_keys


def charge_report(
    model: dict,
    t_max,
    *,
    times=None,
    n_grid=None,
    method="auto",
    precision: str = "double",
    memory=None,
    shard=None,
) -> dict:
    """Charge the spin chain `model` (keyword arguments of `spin_chain_battery`) and report
    the model, the method that ran, the window and the results as JSON-ready values.
    `precision` "single": complex64, with `max_power_error` and a double spot check.
    `memory`: the budget in bytes, `shard`: the state's devices (`charge`)."""
    if isinstance(model.get("initial", "down"), str):  # a named start (default |down...down>)
        chain = SpinChain.of(model)
    else:  # a state vector: the Pauli-term battery carries it
        chain = spin_chain_battery(**model)
    options = {"method": method, "precision": precision, "memory": memory, "shard": shard}
    result = charge(chain, t_max, times=times, n_grid=n_grid, **options)
    report = {
        **model,
        "method": result.method,
        "t_max": t_max,
        "max_power": float(result.max_power),
        "t_max_power": float(result.t_max_power),
        "max_work": float(result.max_work),
        "t_max_work": float(result.t_max_work),
        "initial_energy": float(result.initial_energy),
        "initial_ergotropy": _within_accuracy(result, precision),
    }
    # the speed limit at T*: P_max / qsl_bound <= 1 says how close charging comes to it;
    # None (JSON null) where the engine holds no quantum state (the mean-field chain)
    report["qsl_bound"] = None if result.qsl_bound is None else float(result.qsl_bound)
    if result.shards > 1:  # the state was split over this many devices
        report["shards"] = result.shards
    if result.error_estimate is not None:  # Krylov: estimated state error (norm)
        report["error_estimate"] = float(result.error_estimate)
    error = result.error_estimate
    report.update(precision_keys(chain, precision, report["max_power"], report["t_max_power"], error))
    if result.times is not None:
        report["ground_energy"] = float(result.ground_energy)
        for key in ("times", "work", "power", "ergotropy"):
            report[key] = [float(x) for x in getattr(result, key)]
    return report


def _within_accuracy(result, precision: str) -> float:
    """The initial ergotropy E_0 - E_ground, or 0.0 when it is no larger than the accuracy
    of that difference: each energy is computed to rounding (64 eps |E|) and, by an
    approximate engine, to 2 |E| error_estimate. A ground-state start then reads 0, not
    -1.8e-15."""
    value = float(result.initial_ergotropy)
    e0 = float(result.initial_energy)
    scale = abs(e0) + abs(e0 - value)
    error = 0.0 if result.error_estimate is None else float(result.error_estimate)
    accuracy = scale * (64.0 * float(np.finfo(_precision.real_dtype(precision)).eps) + 2.0 * error)
    return 0.0 if abs(value) <= accuracy else value
