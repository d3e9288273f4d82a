"""Propagators: one module per method, each mapping (H, psi0, times) to states."""

from .dense import Spectrum as Spectrum
from .dense import check_dense_fits as check_dense_fits
from .dense import dense_memory_bytes as dense_memory_bytes
from .dense import evolve as evolve
from .dense import evolve_expm as evolve_expm
from .dense import spectrum as spectrum
