"""Flags and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import math

from ... import _checks
from ...models.chain import PARAMETERS, STRUCTURE

# in the order of the JSON reports: n and coupling, the numbers, protocol and boundary
MODEL_KEYS = (*STRUCTURE[:2], *PARAMETERS, *STRUCTURE[2:])


def times_list(text: str) -> list[float]:
    try:
        return [float(item) for item in text.split(",") if item.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


INITIAL_HELP = (
    "initial state: down (|down...down>, default) or ground (the ground state of H0; refused when degenerate)"
)


def add_model_flags(parser: argparse.ArgumentParser, number=float, initial_help: str = INITIAL_HELP) -> None:
    """The spin-chain model flags of `qbjax charge`; `number` parses the numeric ones."""
    from ...models.chain import COUPLINGS, PROTOCOLS

    parser.add_argument("--n", type=int, default=4, help="number of spins N >= 1 (default 4)")
    parser.add_argument("--coupling", default="nn", help=f"one of {', '.join(COUPLINGS)} (default nn)")
    parser.add_argument(
        "--g", type=number, default=1.0, help="coupling strength g, in units of B (default 1)"
    )
    parser.add_argument("--p", type=number, default=1.0, help="power-law exponent for lr, >= 0 (default 1)")
    parser.add_argument(
        "--alpha",
        type=number,
        default=0.0,
        help="XXZ anisotropy, dimensionless; negative as --alpha=-0.5 (default 0)",
    )
    parser.add_argument(
        "--dm", type=number, default=0.0, help="DM strength D along --dm-axis, in units of g (default 0)"
    )
    parser.add_argument(
        "--dm-axis",
        default="z",
        help="axis of the DM vector: x, y or z (default z, parallel to the field B; y is "
        "perpendicular to B and to the drive)",
    )
    parser.add_argument(
        "--field", type=number, default=1.0, help="static field B: the unit of energy (default 1)"
    )
    parser.add_argument(
        "--omega", type=number, default=4.0, help="charging field omega, in units of B (default 4)"
    )
    parser.add_argument(
        "--protocol", default="replace", help=f"one of {', '.join(PROTOCOLS)} (default replace)"
    )
    parser.add_argument(
        "--periodic", action="store_true", help="periodic boundary conditions (closing bond N-1 -> 0)"
    )
    parser.add_argument("--initial", default="down", help=initial_help)


def add_method_flag(parser: argparse.ArgumentParser) -> None:
    from ...engines import METHODS

    parser.add_argument(
        "--method",
        default="auto",
        help=f"one of {', '.join(METHODS)} (default auto: by size, memory and symmetry)",
    )


def memory_size(text: str) -> int:
    """A byte count from '512MiB', '8GiB', '2e9' (argparse type)."""
    from ...memory import parse_size

    try:
        return parse_size(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_memory_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--memory",
        type=memory_size,
        default=None,
        help="memory one run may hold at once, e.g. 512MiB or 8GiB (default: the larger of 16 "
        "state vectors and 256 MiB, at most what is free); chebyshev and krylov plan within it "
        "(a smaller budget: more products with H), other methods are refused above it",
    )


def add_precision_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precision",
        default="double",
        help="double (complex128, default) or single (complex64 on the dense, chebyshev and krylov "
        "methods; the JSON reports max_power_error and a double spot check)",
    )


def model_kwargs(args) -> dict:
    """The keyword arguments of `spin_chain_battery` from parsed model flags."""
    return {key: getattr(args, key) for key in MODEL_KEYS}


def default_t_max(t_max, omega) -> float:
    """The charging window: t_max when given, else one period 2 pi/|omega| of the drive."""
    if t_max is not None:
        return t_max
    _checks.finite("omega", omega)
    if omega == 0:
        raise _checks.ArgumentError(
            "omega", "must be nonzero when --t-max is not given (T_max = 2 pi/|omega|)"
        )
    return 2 * math.pi / abs(omega)


def vary_flag(text: str) -> tuple[str, tuple[float, float] | None]:
    """NAME=lo:hi -> (NAME, (lo, hi)); a bare NAME -> (NAME, None)."""
    name, _, limits = text.partition("=")
    if not limits:
        return name.strip(), None
    try:
        lo, hi = (float(x) for x in limits.split(":"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=lo:hi (or t), got {text!r}") from None
    return name.strip(), (lo, hi)


def finite_report(report: dict) -> dict:
    """The report with every NaN or infinite number as null, each named in `notes` (a
    quantity that is undefined there, such as a speed limit at t = 0): JSON has no NaN."""
    notes = list(report.get("notes", []))

    def clean(value, path: str):
        if isinstance(value, float) and not math.isfinite(value):
            notes.append(f"{path} is undefined here ({value}); reported as null")
            return None
        if isinstance(value, dict):
            return {key: clean(item, f"{path}.{key}" if path else key) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    cleaned = clean(report, "")
    if notes:
        cleaned["notes"] = notes
    return cleaned


def emit(report: dict, as_json: bool, table) -> None:
    """Print the report as one JSON object (no NaN or Infinity: `finite_report`) or as
    `table(report)` followed by its notes."""
    import json

    if as_json:
        print(json.dumps(finite_report(report), allow_nan=False))
        return
    print(table(report))
    for note in finite_report(report).get("notes", []):
        print(f"note: {note}")
