"""qbjax thermal: the thermal-gradient battery (two qubits between a hot and a cold bath).

Prints the non-equilibrium steady state (energy, ergotropy with respect to the full pair
Hamiltonian, populations, heat currents) and, with --tau, the periodic two-stroke cycle
for each charging time: work (ergotropy extracted per cycle), heat from the hot bath,
efficiency W/Q_A and power W/tau. Units: omega_0 = 1 (energies, temperatures, rates);
times in 1/omega_0.
"""

from __future__ import annotations

from ._common import emit, times_list

HELP = "thermal-gradient battery: NESS, heat currents, two-stroke cycle"


def add_arguments(parser) -> None:
    parser.add_argument("--omega-a", type=float, default=1.0, help="frequency of qubit A, > 0 (default 1)")
    parser.add_argument("--omega-s", type=float, default=0.5, help="frequency of qubit S, > 0 (default 0.5)")
    parser.add_argument("--g", type=float, default=0.1, help="A-S exchange coupling (default 0.1)")
    parser.add_argument("--gamma", type=float, default=0.01, help="bath coupling rate, > 0 (default 0.01)")
    parser.add_argument(
        "--temp-a", type=float, default=2.0, help="temperature of A's (hot) bath, > 0 (default 2)"
    )
    parser.add_argument(
        "--temp-s", type=float, default=0.1, help="temperature of S's (cold) bath, > 0 (default 0.1)"
    )
    parser.add_argument("--master", default="local", help="master equation: local or global (default local)")
    parser.add_argument("--tau", type=times_list, default=None, help="charging times of the cycle: t1,t2,...")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from ... import _checks
    from ...open.thermal import MASTERS, POPULATION_LABELS, ness, thermal_pair, two_stroke_cycle

    _checks.one_of("master", args.master, MASTERS)
    pair = thermal_pair(args.omega_a, args.omega_s, args.g, args.gamma, args.temp_a, args.temp_s)
    if args.tau is not None:
        if not args.tau:
            raise _checks.ArgumentError("tau", "must list at least one charging time")
        _checks.positive("tau", args.tau)
    state = ness(pair, args.master)
    report = {
        "omega_a": args.omega_a,
        "omega_s": args.omega_s,
        "g": args.g,
        "gamma": args.gamma,
        "temp_a": args.temp_a,
        "temp_s": args.temp_s,
        "master": args.master,
        "ness_energy": float(state.energy),
        "ness_ergotropy": float(state.ergotropy),
        "heat_current_a": float(state.heat_current_a),
        "heat_current_s": float(state.heat_current_s),
        "populations": {k: float(p) for k, p in zip(POPULATION_LABELS, state.populations, strict=True)},
        "carnot": 1.0 - args.temp_s / args.temp_a,
    }
    if args.tau is not None:
        cycles = [two_stroke_cycle(pair, tau, args.master) for tau in args.tau]
        report["tau"] = [float(c.tau) for c in cycles]
        for key in ("work", "heat_a", "heat_s", "efficiency", "power"):
            report[key] = [float(getattr(c, key)) for c in cycles]
        report["converged"] = [c.converged for c in cycles]
    emit(report, args.json, _table)
    return 0


def _table(r: dict) -> str:
    pops = "  ".join(f"p_{k} = {v:.6g}" for k, v in r["populations"].items())
    lines = [
        f"thermal pair: omega_A = {r['omega_a']:g}, omega_S = {r['omega_s']:g}, g = {r['g']:g}, "
        f"gamma = {r['gamma']:g}, T_A = {r['temp_a']:g}, T_S = {r['temp_s']:g}, {r['master']} master eq.",
        "",
        f"  NESS energy      {r['ness_energy']:.10g}",
        f"  NESS ergotropy   {r['ness_ergotropy']:.10g}",
        f"  heat current     J_A = {r['heat_current_a']:.6g}   J_S = {r['heat_current_s']:.6g}",
        f"  populations      {pops}   (A S; e = up)",
        f"  Carnot bound     1 - T_S/T_A = {r['carnot']:.6g}",
    ]
    if "tau" in r:
        lines += ["", f"  {'tau':>10} {'work':>14} {'heat Q_A':>14} {'efficiency':>12} {'power':>14}"]
        for tau, w, q, eta, p, ok in zip(
            r["tau"], r["work"], r["heat_a"], r["efficiency"], r["power"], r["converged"], strict=True
        ):
            flag = "" if ok else "  (not converged)"
            lines.append(f"  {tau:>10.4g} {w:>14.6g} {q:>14.6g} {eta:>12.6g} {p:>14.6g}{flag}")
    return "\n".join(lines)
