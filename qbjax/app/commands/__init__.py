"""Subcommands of the `qbjax` command, one module each.

Each module defines `HELP` (one line), `add_arguments(parser)` and `run(args) -> int`;
`qbjax.app.cli.COMMANDS` lists them.
"""
