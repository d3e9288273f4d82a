"""The application: the `qbjax` command (`cli`, one module per subcommand in `commands/`),
the charge report, plots, the benchmark harness and the published figures."""
