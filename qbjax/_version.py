"""The package version, in a module of its own: the sweep store stamps it into files without
importing the package above it."""

__version__ = "0.1.0"
