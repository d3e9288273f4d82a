"""The `qbjax` command.

    qbjax charge [--n N] [--coupling {nn,lr}] [--g G] [--p P] [--alpha A] [--dm D]
                 [--field B] [--omega W] [--protocol {replace,add,collective}]
                 [--t-max T] [--times t1,t2,...] [--periodic] [--n-grid K] [--json]
    qbjax demo [--out DIR]

Bad input exits with status 2 and one line naming the flag and the allowed range.
Computations run in float64.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from . import _checks

DESCRIPTION = "Differentiable simulation of quantum batteries (spin chains) in JAX."


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _times_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def _add_model_flags(parser: argparse.ArgumentParser) -> None:
    from .models import COUPLINGS, PROTOCOLS

    parser.add_argument("--n", type=int, default=4, help="number of spins N >= 1 (default 4)")
    parser.add_argument("--coupling", default="nn", help=f"one of {', '.join(COUPLINGS)} (default nn)")
    parser.add_argument("--g", type=float, default=1.0, help="coupling strength g (default 1)")
    parser.add_argument("--p", type=float, default=1.0, help="power-law exponent for lr, >= 0 (default 1)")
    parser.add_argument("--alpha", type=float, default=0.0, help="XXZ anisotropy (default 0)")
    parser.add_argument("--dm", type=float, default=0.0, help="DM strength D along z (default 0)")
    parser.add_argument("--field", type=float, default=1.0, help="static field B (default 1)")
    parser.add_argument("--omega", type=float, default=4.0, help="charging field omega (default 4)")
    parser.add_argument(
        "--protocol", default="replace", help=f"one of {', '.join(PROTOCOLS)} (default replace)"
    )
    parser.add_argument("--periodic", action="store_true", help="periodic boundary conditions")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qbjax", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    charge = commands.add_parser("charge", help="charge a spin-chain battery: P_max, T*, W(t), P(t)")
    _add_model_flags(charge)
    charge.add_argument(
        "--t-max", type=float, default=None, help="window (0, T] for maxima (default 2 pi/omega)"
    )
    charge.add_argument(
        "--times", type=_times_list, default=None, help="times for W, P, ergotropy: t1,t2,..."
    )
    charge.add_argument(
        "--n-grid", type=int, default=None, help="grid points before refinement (default: auto)"
    )
    charge.add_argument("--json", action="store_true", help="print one JSON object")

    demo = commands.add_parser("demo", help="N = 4 chain of Le et al. across alpha: table and PNG")
    demo.add_argument("--out", default="qbjax_demo", help="output folder (default ./qbjax_demo)")
    return parser


def _default_t_max(args) -> float:
    if args.t_max is not None:
        return args.t_max
    _checks.finite("omega", args.omega)
    if args.omega == 0:
        raise _checks.ArgumentError(
            "omega", "must be nonzero when --t-max is not given (T_max = 2 pi/|omega|)"
        )
    return 2 * math.pi / abs(args.omega)


def _run_charge(args) -> int:
    import qbjax

    t_max = _default_t_max(args)
    battery = qbjax.spin_chain_battery(
        args.n,
        coupling=args.coupling,
        g=args.g,
        p=args.p,
        alpha=args.alpha,
        dm=args.dm,
        field=args.field,
        omega=args.omega,
        protocol=args.protocol,
        periodic=args.periodic,
    )
    result = qbjax.charge(battery, t_max, times=args.times, n_grid=args.n_grid)
    report = {
        "n": args.n,
        "coupling": args.coupling,
        "g": args.g,
        "p": args.p,
        "alpha": args.alpha,
        "dm": args.dm,
        "field": args.field,
        "omega": args.omega,
        "protocol": args.protocol,
        "periodic": args.periodic,
        "method": "dense",
        "t_max": t_max,
        "max_power": float(result.max_power),
        "t_max_power": float(result.t_max_power),
        "max_work": float(result.max_work),
        "t_max_work": float(result.t_max_work),
        "initial_energy": float(result.initial_energy),
    }
    if args.times is not None:
        report["ground_energy"] = float(result.ground_energy)
        for key in ("times", "work", "power", "ergotropy"):
            report[key] = [float(x) for x in getattr(result, key)]
    print(json.dumps(report) if args.json else _charge_table(report))
    return 0


def _charge_table(r: dict) -> str:
    lines = [
        f"spin-chain battery: N = {r['n']}, {r['coupling']} coupling g = {r['g']:g}"
        + (f", p = {r['p']:g}" if r["coupling"] == "lr" else "")
        + f", alpha = {r['alpha']:g}, D = {r['dm']:g}, B = {r['field']:g}, omega = {r['omega']:g}",
        f"protocol {r['protocol']}, window (0, {r['t_max']:.6g}], method {r['method']}",
        "",
        f"  maximum power   P_max = {r['max_power']:.10g}   at T* = {r['t_max_power']:.10g}",
        f"  maximum work    W_max = {r['max_work']:.10g}   at t  = {r['t_max_work']:.10g}",
    ]
    if "times" in r:
        lines += ["", f"  {'t':>12} {'W(t)':>16} {'P(t)':>16} {'ergotropy':>16}"]
        for row in zip(r["times"], r["work"], r["power"], r["ergotropy"], strict=True):
            lines.append("  " + " ".join(f"{x:>{12 if i == 0 else 16}.10g}" for i, x in enumerate(row)))
    return "\n".join(lines)


def _run_demo(args) -> int:
    from .demo import run_demo

    print(run_demo(args.out))
    return 0


def main(argv: list[str] | None = None) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    parser = _build_parser()
    args = parser.parse_args(argv)
    runners = {"charge": _run_charge, "demo": _run_demo}
    try:
        return runners[args.command](args)
    except _checks.ArgumentError as error:
        flag = "--" + error.argument.replace("_", "-")
        sys.stderr.write(f"qbjax {args.command}: error: argument {flag}: {error.reason}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
