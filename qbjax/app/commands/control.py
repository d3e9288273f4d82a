"""qbjax control: the charging pulse of largest power within a field bound.

    qbjax control --n 3 --g 1.5 --alpha 0.5 --omega-max 1 --segments 8 --t 2 --json
    qbjax control --n 4 --omega-max 2 --segments 12 --vary t=0.2:2 --plot pulse.png

The drive omega(t) sum_i sx_i (with --quadratures 2 also omega_y(t) sum_i sy_i) is piecewise
constant on K = --segments equal segments of [0, T], each amplitude within +-omega_max; the
model flags set the rest (their --omega is replaced by the pulse). The result is compared
with the best constant drive within the same bound and T, and with the quantum speed limit
P_QSL = W Delta E_T / L (power <= qsl_bound).
"""

from __future__ import annotations

from ._common import add_model_flags, emit, model_kwargs, vary_flag

HELP = "optimal charging pulse within |omega(t)| <= omega_max (piecewise constant), vs constant drive"


def add_arguments(parser) -> None:
    from ...tasks.control import OBJECTIVES
    from ...tasks.pulses import METHODS

    add_model_flags(parser)
    parser.add_argument("--omega-max", type=float, required=True, help="field bound |omega_k| <= W, > 0")
    parser.add_argument("--segments", type=int, default=8, help="K equal segments of [0, T] (default 8)")
    parser.add_argument(
        "--t", type=float, default=None, help="charging time T, in units of 1/B (or --vary t=lo:hi)"
    )
    parser.add_argument("--vary", type=vary_flag, default=None, help="t=lo:hi: optimise T within bounds too")
    parser.add_argument(
        "--objective", default="power", help=f"one of {', '.join(OBJECTIVES)} (default power: W(T)/T)"
    )
    parser.add_argument("--quadratures", type=int, default=1, help="1: drive along x; 2: x and y (default 1)")
    parser.add_argument("--starts", type=int, default=8, help="starting pulses, run in parallel (default 8)")
    parser.add_argument("--steps", type=int, default=200, help="Adam steps per start (default 200)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the starting pulses (default 0)")
    parser.add_argument("--method", default="auto", help=f"one of {', '.join(METHODS)} (default auto)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--plot", default=None, metavar="FILE", help="write the pulse and W(t) to FILE (PNG)")


def _window(args):
    from ... import _checks

    if args.vary is not None:
        name, limits = args.vary
        if name != "t" or limits is None:
            raise _checks.ArgumentError("vary", f"only t=lo:hi can be varied here, got {name!r}")
        if args.t is not None:
            raise _checks.ArgumentError("t", "give --t or --vary t=lo:hi, not both")
        return limits
    if args.t is None:
        raise _checks.ArgumentError("t", "is required (or --vary t=lo:hi)")
    return args.t


def run(args) -> int:
    from ... import _checks
    from ...models.chain import SpinChain
    from ...tasks.control import control

    model = {key: value for key, value in model_kwargs(args).items() if key != "omega"}
    if args.plot is not None:  # the file as it will be written (FILE.png), checked before the work
        args.plot = _checks.output_file("plot", args.plot)
    window = _window(args)
    chain = SpinChain.of(model)
    result = control(
        chain,
        omega_max=args.omega_max,
        segments=args.segments,
        t=window,
        objective=args.objective,
        quadratures=args.quadratures,
        starts=args.starts,
        steps=args.steps,
        seed=args.seed,
        method=args.method,
    )
    report = _report(model, args, result)
    if args.plot:
        report["plot"] = _plot(chain, result, args)
    emit(report, args.json, _table)
    return 0


def _report(model: dict, args, result) -> dict:
    pulse = result.pulse[:, 0] if result.pulse.shape[1] == 1 else result.pulse
    constant = result.constant[0] if result.constant.shape[0] == 1 else result.constant
    return {
        **model,
        "omega_max": args.omega_max,
        "segments": args.segments,
        "objective": args.objective,
        "pulse": pulse.tolist(),
        "t": result.t,
        "work": result.work,
        "power": result.power,
        "ergotropy": result.ergotropy,
        "constant_pulse": constant.tolist(),
        "constant_t": result.constant_t,
        "constant_work": result.constant_work,
        "constant_power": result.constant_power,
        "constant_ergotropy": result.constant_ergotropy,
        "qsl_bound": result.qsl_bound,
        "converged": result.converged,
    }


def _table(r: dict) -> str:
    return "\n".join(
        [
            f"pulse of {r['segments']} segments within |omega| <= {r['omega_max']:g}, T = {r['t']:.6g}, "
            f"objective {r['objective']}",
            f"  amplitudes   {', '.join(f'{a:.4g}' for a in _flat(r['pulse']))}",
            f"  pulse        W = {r['work']:.10g}   P = {r['power']:.10g}   "
            f"ergotropy = {r['ergotropy']:.10g}",
            f"  constant     W = {r['constant_work']:.10g}   P = {r['constant_power']:.10g}   "
            f"(omega = {', '.join(f'{a:.6g}' for a in _flat([r['constant_pulse']]))}, "
            f"T = {r['constant_t']:.6g})",
            f"  speed limit  P_QSL = {r['qsl_bound']:.10g}   (P / P_QSL = {r['power'] / r['qsl_bound']:.4f})",
            f"  converged    {r['converged']}",
        ]
    )


def _flat(values) -> list[float]:
    out = []
    for value in values:
        out.extend(_flat(value) if isinstance(value, list) else [value])
    return out


def _plot(model, result, args) -> str:
    import jax.numpy as jnp
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ...tasks import pulses

    battery = pulses.pulsed_battery(model, result.pulse.shape[1])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6), sharex=True, constrained_layout=True)
    drives = (("pulse", result.pulse, result.t), ("best constant", result.constant[None], result.constant_t))
    for label, pulse, t in drives:
        prop = pulses.propagator(battery, args.omega_max, t / pulse.shape[0], args.method)
        times, works = pulses.work_curve(battery, prop, jnp.asarray(pulse), t, max(16, 256 // len(pulse)))
        bottom.plot(np.asarray(times), np.asarray(works), label=label)
        edges = np.linspace(0.0, t, pulse.shape[0] + 1)
        for q, name in enumerate(("omega_x", "omega_y")[: pulse.shape[1]]):
            top.stairs(pulse[:, q], edges, label=f"{label}: {name}", lw=1.5)
    top.axhline(0.0, color="gray", lw=0.6)
    title = f"|omega| <= {args.omega_max:g} B, {args.segments} segments"
    top.set(ylabel="drive amplitude omega(t)  [B]", title=title)
    bottom.set(xlabel="charging time t  [1/B]", ylabel="work W(t)  [B]")
    top.legend(fontsize="small")
    bottom.legend(fontsize="small")
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)
    return args.plot
