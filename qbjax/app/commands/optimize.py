"""qbjax optimize: the model parameters (and charging time) of maximum power, by optax.

    qbjax optimize --n 4 --vary alpha=-1:1 --vary dm=0:2 --json
    qbjax optimize --n 4 --vary alpha=-1:1 --vary t            (T within (t_max/1000, t_max])

Each --vary NAME=lo:hi adds a parameter with its bounds (write a negative lo as
--vary=alpha=-1:1 or --vary alpha=-1:1). Without t among them the objective is P_max
over the window (0, t_max]; with t it is P(T) = W(T)/T at the varied T.
"""

from __future__ import annotations

from ._common import add_method_flag, add_model_flags, add_precision_flag, emit, model_kwargs, vary_flag

HELP = "maximise charging power over model parameters within bounds (multi-start Adam)"


def add_arguments(parser) -> None:
    add_model_flags(parser)
    parser.add_argument(
        "--vary",
        type=vary_flag,
        action="append",
        required=True,
        help="NAME=lo:hi to optimise (repeat); t: time",
    )
    parser.add_argument(
        "--t-max",
        type=float,
        default=None,
        help="window (0, T] of P_max, in units of 1/B (default 2 pi/omega)",
    )
    parser.add_argument("--starts", type=int, default=8, help="starting points, run in parallel (default 8)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps per start (default 300)")
    parser.add_argument(
        "--learning-rate", type=float, default=0.05, help="initial step in the unit box (0.05)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting points (default 0)")
    add_method_flag(parser)
    add_precision_flag(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from ... import _checks
    from ...models.chain import SpinChain
    from ...tasks.optimize import optimize
    from ...tasks.precision_check import precision_keys

    vary = {}
    model = model_kwargs(args)
    for name, limits in args.vary:
        if name in vary:
            raise _checks.ArgumentError("vary", f"{name} is given twice")
        # a fixed value other than the default beside --vary of the same parameter: a conflict
        if name in model and model[name] != SpinChain.__dataclass_fields__[name].default:
            raise _checks.ArgumentError(name, f"is varied by --vary {name}=lo:hi; give one or the other")
        vary[name] = limits
    result = optimize(
        model,
        vary,
        t_max=args.t_max,
        starts=args.starts,
        steps=args.steps,
        learning_rate=args.learning_rate,
        seed=args.seed,
        method=args.method,
        precision=args.precision,
    )
    report = {
        "max_power": result.max_power,
        "t_max_power": result.t_max_power,
        "params": result.params,
        "converged": result.converged,
        "finals": result.finals.tolist(),
        "history": result.history.tolist(),
        **precision_keys(result.model, result.precision, result.max_power, result.t_max_power, None),
    }
    emit(report, args.json, _table)
    return 0


def _table(r: dict) -> str:
    params = ", ".join(f"{k} = {v:.10g}" for k, v in r["params"].items())
    finals = ", ".join(f"{v:.6g}" for v in sorted(r["finals"], reverse=True))
    return "\n".join(
        [
            f"maximum power P = {r['max_power']:.10g} at T* = {r['t_max_power']:.10g}",
            f"  at {params}",
            f"  converged: {'yes' if r['converged'] else 'no (raise --steps)'}; starts ended at: {finals}",
            f"  {r['precision']} precision"
            + (f", estimated error of P {r['max_power_error']:.2g}" if "max_power_error" in r else ""),
        ]
    )
