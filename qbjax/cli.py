"""The `qbjax` command; each subcommand lives in `qbjax.commands.<name>`.

    qbjax charge [model flags] [--t-max T] [--times t1,t2,...] [--n-grid K]
                 [--method M] [--json]
    qbjax demo [--out DIR]

Run `qbjax COMMAND --help` for each command's flags. Bad input exits with status 2
and one line naming the flag and the allowed range. Computations run in float64.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import _checks

DESCRIPTION = "Differentiable simulation of quantum batteries (spin chains) in JAX."

# command name -> module in qbjax.commands
COMMANDS = {
    "charge": "charge",
    "reproduce": "reproduce",
    "demo": "demo",
    "thermal": "thermal",
    "sweep": "sweep",
    "optimize": "optimize",
    "resources": "resources",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _command(name: str):
    return importlib.import_module(f"qbjax.commands.{COMMANDS[name]}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qbjax", description=DESCRIPTION)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        module = _command(name)
        module.add_arguments(commands.add_parser(name, help=module.HELP, description=module.__doc__))
    return parser


def main(argv: list[str] | None = None) -> int:
    import jax

    jax.config.update("jax_enable_x64", True)
    args = _build_parser().parse_args(argv)
    try:
        return _command(args.command).run(args)
    except _checks.ArgumentError as error:
        flag = "--" + error.argument.replace("_", "-")
        sys.stderr.write(f"qbjax {args.command}: error: argument {flag}: {error.reason}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
