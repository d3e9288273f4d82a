"""qbjax resources: capacity and quantum resources of the two-qubit battery-charger model.

H = -omega_b sz_b - omega_c sz_c + J1 (s+_b s-_c + h.c.) + J2 sz_b sz_c (PHYSICS.md section 3),
evolved from an initial state; prints the time series of the battery capacity, the residual
capacity and every resource, with each resource's correlation with the capacity. Capacity,
ergotropy, entropy, texture and texture_grand_sum are of the battery's state rho_b;
texture_pair and the correlation measures are of the pair rho_bc (`qbjax.charger`).
"""

from __future__ import annotations

import argparse
import math

from ._common import emit

HELP = "two-qubit battery-charger model: capacity and quantum resources over time"


def _amplitudes(text: str) -> list[complex]:
    try:
        values = [complex(item.replace(" ", "")) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 4 comma-separated complex numbers, got {text!r}"
        ) from None
    if len(values) != 4:
        raise argparse.ArgumentTypeError(f"expected 4 amplitudes (|gg>, |ge>, |eg>, |ee>), got {len(values)}")
    return values


def add_arguments(parser) -> None:
    from ...tasks.charger import INITIAL_STATES

    parser.add_argument("--omega-b", type=float, default=1.0, help="battery field omega_b (default 1)")
    parser.add_argument("--omega-c", type=float, default=1.0, help="charger field omega_c (default 1)")
    parser.add_argument("--j1", type=float, default=1.0, help="flip-flop coupling J1 (default 1)")
    parser.add_argument("--j2", type=float, default=0.0, help="zz coupling J2 (default 0)")
    parser.add_argument(
        "--t-max",
        type=float,
        default=None,
        help="last time (default pi/Omega: one exchange cycle, Omega^2 = (w_b - w_c)^2 + J1^2)",
    )
    parser.add_argument(
        "--n-times", type=int, default=201, help="number of times in [0, t_max] (default 201)"
    )
    parser.add_argument(
        "--initial",
        default="ge",
        help=f"initial state, battery then charger: one of {', '.join(INITIAL_STATES)} (default ge)",
    )
    parser.add_argument(
        "--amplitudes",
        type=_amplitudes,
        default=None,
        help="initial state vector instead: 4 complex amplitudes of |gg>,|ge>,|eg>,|ee>, "
        "e.g. 1,0,0,1j (normalised for you)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with the time series")
    parser.add_argument("--plot", default=None, metavar="FILE", help="write the scatter plots to FILE (PNG)")


def _t_max(args) -> float:
    from ... import _checks
    from ...operators.terms import norm_bound
    from ...tasks.charger import charger_hamiltonian

    if args.t_max is not None:  # checked here to name --t-max (the library names its times)
        _checks.positive("t_max", args.t_max)
        h = charger_hamiltonian(args.omega_b, args.omega_c, args.j1, args.j2)  # checks the energies
        _checks.charging_phase("t_max", args.t_max, float(norm_bound(h)))
        return args.t_max
    for name in ("omega_b", "omega_c", "j1", "j2"):
        _checks.magnitude(name, getattr(args, name))
    rabi = math.hypot(args.omega_b - args.omega_c, args.j1)
    if rabi == 0:
        raise _checks.ArgumentError("t_max", "must be given when omega_b = omega_c and j1 = 0 (no dynamics)")
    return math.pi / rabi


def _initial(args):
    import numpy as np

    from ... import _checks

    if args.amplitudes is None:
        return args.initial
    psi = np.asarray(args.amplitudes, dtype=complex)
    _checks.finite("amplitudes", psi)
    norm = np.linalg.norm(psi)
    if norm == 0:
        raise _checks.ArgumentError("amplitudes", "must not all be zero")
    return psi / norm


def run(args) -> int:
    import numpy as np

    from ... import _checks
    from ...tasks.charger import MEASURES, resource_series
    from ..plot_resources import pearson, spearman

    t_max = _t_max(args)
    n_times = _checks.integer_in("n_times", args.n_times, 2, _checks.MAX_TIMES)
    if args.plot is not None:  # the file as it will be written (FILE.png), checked before the work
        args.plot = _checks.output_file("plot", args.plot)
    initial = _initial(args)
    times = np.linspace(0.0, t_max, n_times)
    series = resource_series(
        times, omega_b=args.omega_b, omega_c=args.omega_c, j1=args.j1, j2=args.j2, initial=initial
    )
    series = {key: np.asarray(value) for key, value in series.items()}
    others = [key for key in MEASURES if key != "capacity"]
    correlation = {key: pearson(series[key], series["capacity"]) for key in others}
    rank_correlation = {key: spearman(series[key], series["capacity"]) for key in others}
    initial_label = args.initial if args.amplitudes is None else "amplitudes"
    report = {
        "omega_b": args.omega_b,
        "omega_c": args.omega_c,
        "j1": args.j1,
        "j2": args.j2,
        "t_max": t_max,
        "initial": initial_label,
        "initial_amplitudes": None
        if args.amplitudes is None
        else [[float(a.real), float(a.imag)] for a in np.asarray(initial)],
        "correlation_with_capacity": _nulls(correlation),
        "rank_correlation_with_capacity": _nulls(rank_correlation),
        **{key: [float(x) for x in series[key]] for key in ("times", *MEASURES)},
    }
    if args.plot:
        from ..plot_resources import plot_resources

        title = (
            f"two-qubit battery-charger: omega_b = {args.omega_b:g}, omega_c = {args.omega_c:g}, "
            f"J1 = {args.j1:g}, J2 = {args.j2:g}, initial {initial_label}"
        )
        plot_resources(series, args.plot, title)
    emit(report, args.json, lambda r: _table(r, series))
    return 0


def _nulls(values: dict) -> dict:
    """NaN (a constant series: no correlation defined) as JSON null."""
    return {key: (None if math.isnan(value) else value) for key, value in values.items()}


def _table(report: dict, series: dict) -> str:
    from ...tasks.charger import MEASURES

    lines = [
        f"two-qubit battery-charger: omega_b = {report['omega_b']:g}, omega_c = {report['omega_c']:g}, "
        f"J1 = {report['j1']:g}, J2 = {report['j2']:g}, initial {report['initial']}, "
        f"t in [0, {report['t_max']:.6g}], {len(series['times'])} times",
        "",
        "  correlation with the capacity C(rho_b, H_b): Pearson (linear) and Spearman (rank);",
        "  capacity, ergotropy, entropy, texture, texture_grand_sum: of rho_b; the rest: of rho_bc",
        f"  {'measure':<24} {'min':>12} {'max':>12} {'Pearson':>10} {'Spearman':>10}",
    ]
    for key in MEASURES:
        values = series[key]
        texts = [
            "" if key == "capacity" else ("-" if r is None else f"{r:+.4f}")
            for r in (
                report["correlation_with_capacity"].get(key),
                report["rank_correlation_with_capacity"].get(key),
            )
        ]
        lines.append(f"  {key:<24} {values.min():>12.6g} {values.max():>12.6g} {texts[0]:>10} {texts[1]:>10}")
    return "\n".join(lines)
