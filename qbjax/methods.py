"""Which engine charges a spin-chain battery: one name per method, one entry per engine.

Every engine takes the model as the keyword arguments of `spin_chain_battery`
(`n`, `coupling`, `g`, `p`, `alpha`, `dm`, `field`, `omega`, `protocol`, `periodic`)
and returns a `ChargeResult`, so the `charge` command and its JSON are the same
whatever computed them. An engine that needs a model in a special form (a symmetric
subspace, a mean-field limit) builds it from these arguments itself.
"""

from __future__ import annotations

from collections.abc import Callable

from . import _checks
from .merit import charge
from .models import spin_chain_battery
from .result import ChargeResult

ChargeEngine = Callable[..., ChargeResult]

# Above this size a dense diagonalisation (O(8^N) time) loses to Krylov blocks (O(2^N) per product).
DENSE_MAX_N = 12


def _dense(model: dict, t_max, *, times=None, n_grid=None) -> ChargeResult:
    return charge(spin_chain_battery(**model), t_max, times=times, n_grid=n_grid)


def _krylov(model: dict, t_max, *, times=None, n_grid=None) -> ChargeResult:
    from .krylov_merit import charge_krylov

    return charge_krylov(spin_chain_battery(**model), t_max, times=times, n_grid=n_grid)


def _symmetric(model: dict, t_max, *, times=None, n_grid=None) -> ChargeResult:
    from .propagate.symmetric import charge_symmetric

    return charge_symmetric(model, t_max, times=times, n_grid=n_grid)


def _meanfield(model: dict, t_max, *, times=None, n_grid=None) -> ChargeResult:
    from .propagate.meanfield import charge_meanfield

    return charge_meanfield(model, t_max, times=times, n_grid=n_grid)


METHODS: dict[str, ChargeEngine] = {
    "dense": _dense,
    "krylov": _krylov,
    "symmetric": _symmetric,
    "meanfield": _meanfield,
}


def choose_method(model: dict) -> str:
    """The method used for `method="auto"`: dense when N <= DENSE_MAX_N and its matrices fit
    in memory; else the exact symmetric subspace when the model is permutation-symmetric
    (uniform all-to-all coupling, D = 0); else the matrix-free Krylov engine."""
    from .propagate.dense import dense_memory_bytes
    from .propagate.symmetric import symmetric_applies

    n = model.get("n", 1)
    if n <= DENSE_MAX_N and dense_memory_bytes(n) <= _checks.available_memory_bytes():
        return "dense"
    return "symmetric" if symmetric_applies(model) else "krylov"


def charge_model(model: dict, t_max, *, times=None, n_grid=None, method: str = "auto"):
    """Charge the spin-chain battery described by `model` with `method`.

    Returns:
        (ChargeResult, the name of the method that ran).
    """
    _checks.one_of("method", method, ("auto", *METHODS))
    if method == "auto":
        method = choose_method(model)
    return METHODS[method](model, t_max, times=times, n_grid=n_grid), method


def charge_report(model: dict, method: str, t_max, result: ChargeResult) -> dict:
    """The JSON object of `qbjax charge --json`: the model, the method, the window and the result."""
    report = {
        **model,
        "method": method,
        "t_max": t_max,
        "max_power": float(result.max_power),
        "t_max_power": float(result.t_max_power),
        "max_work": float(result.max_work),
        "t_max_work": float(result.t_max_work),
        "initial_energy": float(result.initial_energy),
    }
    if getattr(result, "error_estimate", None) is not None:  # Krylov: estimated state error (norm)
        report["error_estimate"] = float(result.error_estimate)
    if result.times is not None:
        report["ground_energy"] = float(result.ground_energy)
        for key in ("times", "work", "power", "ergotropy"):
            report[key] = [float(x) for x in getattr(result, key)]
    return report
