"""qbjax reproduce: published figures (Le et al. 2018, figs. 2-6) and the DM-chain study (seed 000),
each as PNG and JSON data."""

from __future__ import annotations

import json

HELP = "reproduce published figures (le2018-fig2 ... le2018-fig6, dm-chain, all): PNG + JSON"


def add_arguments(parser) -> None:
    from ..figures import FIGURES

    parser.add_argument("figure", help=f"one of {', '.join(FIGURES)}, all")
    parser.add_argument("--out", default="qbjax_figures", help="output folder (default ./qbjax_figures)")
    parser.add_argument(
        "--points",
        type=int,
        default=None,
        help="points per curve (figs. 2, 3, 5; dm-chain: D values in [0, 2], default 9)",
    )
    parser.add_argument("--n-max", type=int, default=None, help="largest N (figs. 4, 6, dm-chain; default 8)")
    parser.add_argument(
        "--n-max-symmetric",
        type=int,
        default=None,
        help="largest N of the p = 0 panel of fig. 6 (default 64)",
    )


def run(args) -> int:
    from ... import _checks
    from ..figures import reproduce

    args.out = _checks.output_folder("out", args.out)  # before any work, not after a minute of it
    options = {
        key: value
        for key, value in (
            ("points", args.points),
            ("n_max", args.n_max),
            ("n_max_symmetric", args.n_max_symmetric),
        )
        if value is not None
    }
    print(json.dumps(reproduce(args.figure, args.out, **options), indent=1))
    return 0
