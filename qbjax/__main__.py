"""`python -m qbjax`: the `qbjax` command."""

from .app.cli import main

raise SystemExit(main())
