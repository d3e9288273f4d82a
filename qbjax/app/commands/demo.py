"""qbjax demo: the N = 4 chain of Le et al. across alpha, as a table, JSON and a PNG."""

from __future__ import annotations

HELP = "N = 4 chain of Le et al. across alpha: table and PNG"


def add_arguments(parser) -> None:
    parser.add_argument("--out", default="qbjax_demo", help="output folder (default ./qbjax_demo)")


def run(args) -> int:
    from ... import _checks
    from ..demo import run_demo

    print(run_demo(_checks.output_folder("out", args.out)))
    return 0
