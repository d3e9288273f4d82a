"""qbjax charge: P_max, T*, W_max and the W(t), P(t), ergotropy curves of one spin chain."""

from __future__ import annotations

from ._common import (
    INITIAL_HELP,
    add_memory_flag,
    add_method_flag,
    add_model_flags,
    add_precision_flag,
    default_t_max,
    emit,
    model_kwargs,
    times_list,
)

HELP = "charge a spin-chain battery: P_max, T*, W(t), P(t)"


def add_arguments(parser) -> None:
    add_model_flags(
        parser,
        initial_help=INITIAL_HELP + ", or a file holding a normalised state vector of 2^N amplitudes "
        "(.npy, or text with one complex number per line, QuTiP's basis order, site 0 first)",
    )
    parser.add_argument(
        "--t-max",
        type=float,
        default=None,
        help="window (0, T] for maxima, in units of 1/B (default 2 pi/omega)",
    )
    parser.add_argument(
        "--times", type=times_list, default=None, help="times for W, P, ergotropy, in units of 1/B: t1,t2,..."
    )
    parser.add_argument(
        "--n-grid", type=int, default=None, help="grid points before refinement (default: auto)"
    )
    add_method_flag(parser)
    add_precision_flag(parser)
    add_memory_flag(parser)
    parser.add_argument(
        "--shard",
        nargs="?",
        const="all",
        default=None,
        metavar="D",
        help="split the state over D devices by its leading qubits (a power of two; the flag alone: "
        "every device; chebyshev method; default: only when it would not fit one accelerator)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from ...models.chain import INITIAL_STATES
    from ..report import charge_report

    t_max = default_t_max(args.t_max, args.omega)
    model = model_kwargs(args)
    if model["initial"] not in INITIAL_STATES:
        model["initial"] = read_state(model["initial"])
    report = charge_report(
        model,
        t_max,
        times=args.times,
        n_grid=args.n_grid,
        method=args.method,
        precision=args.precision,
        memory=args.memory,
        shard=_shard(args.shard),
    )
    if not isinstance(report["initial"], str):
        report["initial"] = args.initial  # the file's name
    import jax

    if jax.process_index() == 0:  # under jax.distributed every process ran; one speaks
        emit(report, args.json, _table)
    return 0


def _shard(text: str | None):
    """--shard: None (not given), True (alone: every device) or a device count."""
    from ... import _checks

    if text is None or text == "all":
        return None if text is None else True
    try:
        return int(text)
    except ValueError:
        raise _checks.ArgumentError(
            "shard", f"must be a number of devices (a power of two), got {text!r}"
        ) from None


def read_state(path: str):
    """The state vector in the file `path` (.npy, or text with one amplitude per line)."""
    import numpy as np

    from ... import _checks
    from ...models.chain import INITIAL_STATES

    try:
        if path.endswith(".npy"):
            return np.asarray(np.load(path), dtype=complex).ravel()
        return np.loadtxt(path, dtype=complex, ndmin=1).ravel()
    except FileNotFoundError:
        allowed = ", ".join(INITIAL_STATES)
        raise _checks.ArgumentError(
            "initial", f"must be one of {allowed} or a state-vector file; {path!r} does not exist"
        ) from None
    except (OSError, ValueError) as error:
        raise _checks.ArgumentError("initial", f"cannot read a state vector from {path!r}: {error}") from None


def _table(r: dict) -> str:
    lines = [
        f"spin-chain battery: N = {r['n']}, {r['coupling']} coupling g = {r['g']:g}"
        + (f", p = {r['p']:g}" if r["coupling"] == "lr" else "")
        + f", alpha = {r['alpha']:g}, D = {r['dm']:g}, B = {r['field']:g}, omega = {r['omega']:g}",
        f"protocol {r['protocol']}, DM along {r['dm_axis']}, start {r['initial']}, "
        f"window (0, {r['t_max']:.6g}], method {r['method']}, {r['precision']} precision",
        "",
        f"  maximum power   P_max = {r['max_power']:.10g}   at T* = {r['t_max_power']:.10g}",
        f"  maximum work    W_max = {r['max_work']:.10g}   at t  = {r['t_max_work']:.10g}",
        f"  ergotropy before charging = {r['initial_ergotropy']:.10g}",
    ]
    if "max_power_error" in r:
        lines.append(f"  estimated error of P_max in {r['precision']} precision: {r['max_power_error']:.2g}")
    if "times" in r:
        lines += ["", f"  {'t':>12} {'W(t)':>16} {'P(t)':>16} {'ergotropy':>16}"]
        for row in zip(r["times"], r["work"], r["power"], r["ergotropy"], strict=True):
            lines.append("  " + " ".join(f"{x:>{12 if i == 0 else 16}.10g}" for i, x in enumerate(row)))
    return "\n".join(lines)
