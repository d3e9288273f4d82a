"""The `qbjax` command; each subcommand lives in `qbjax.app.commands.<name>`.

    qbjax charge [model flags] [--t-max T] [--times t1,t2,...] [--n-grid K]
                 [--method M] [--json]
    qbjax demo [--out DIR]

Run `qbjax COMMAND --help` for each command's flags. Bad input exits with status 2
and one line naming the flag and the allowed range. Computations run in float64.

Compiled programs are kept in JAX's persistent compilation cache, in
$QBJAX_CACHE_DIR (default: $XDG_CACHE_HOME/qbjax/jax, else ~/.cache/qbjax/jax), so a
repeated command skips XLA compilation; `charge` also keeps its exported programs there
(`program_cache`), so a repeated charge skips tracing. QBJAX_CACHE_DIR= (empty) turns
both off.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path

from .. import _checks

DESCRIPTION = "Differentiable simulation of quantum batteries (spin chains) in JAX."
UNITS = (
    "Units: hbar = 1; energies (g, D, B, omega, work, ergotropy) in units of the static field B, "
    "times in 1/B, power in B^2. Write a negative value with '=': --alpha=-1 (or --alpha=-1:1:21)."
)

# command name -> module in qbjax.app.commands
COMMANDS = {
    "charge": "charge",
    "reproduce": "reproduce",
    "demo": "demo",
    "thermal": "thermal",
    "sweep": "sweep",
    "optimize": "optimize",
    "control": "control",
    "resources": "resources",
    "bench": "bench",
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit status 2."""

    def error(self, message: str):
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def _command(name: str):
    return importlib.import_module(f"qbjax.app.commands.{COMMANDS[name]}")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="qbjax", description=DESCRIPTION, epilog=UNITS)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        module = _command(name)
        module.add_arguments(
            commands.add_parser(
                name,
                help=module.HELP,
                description=module.__doc__,
                epilog=UNITS,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
        )
    return parser


def cache_dir() -> str | None:
    """The folder of the persistent compilation cache, or None when turned off."""
    path = os.environ.get("QBJAX_CACHE_DIR")
    if path is None:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path = str(Path(base) / "qbjax" / "jax")
    return path or None


def _configure_jax() -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    path = cache_dir()
    if path is not None:
        from .. import program_cache

        program_cache.enable(path)
        jax.config.update("jax_compilation_cache_dir", path)
        # every program: most of ours compile in well under JAX's default threshold of 1 s
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


def main(argv: list[str] | None = None) -> int:
    _configure_jax()
    args = _build_parser().parse_args(argv)
    try:
        return _command(args.command).run(args)
    except _checks.ArgumentError as error:
        flag = "--" + error.argument.replace("_", "-")
        sys.stderr.write(f"qbjax {args.command}: error: argument {flag}: {error.reason}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
