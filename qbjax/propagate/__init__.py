"""Propagators: one module per method, each mapping (H, psi0, times) to states.

The mean-field propagator needs diffrax and loads on first use.
"""

import importlib

from .dense import Spectrum as Spectrum
from .dense import check_dense_fits as check_dense_fits
from .dense import dense_memory_bytes as dense_memory_bytes
from .dense import evolve as evolve
from .dense import evolve_expm as evolve_expm
from .dense import ground_energy as ground_energy
from .dense import spectrum as spectrum
from .krylov import KrylovStates as KrylovStates
from .krylov import check_krylov_fits as check_krylov_fits
from .krylov import evolve_krylov as evolve_krylov
from .krylov import krylov_memory_bytes as krylov_memory_bytes
from .krylov import spectral_width as spectral_width
from .matfree import MatFreeH as MatFreeH
from .matfree import matfree as matfree
from .matfree import matvec_bytes as matvec_bytes
from .symmetric import SymmetricBattery as SymmetricBattery
from .symmetric import collective_spin as collective_spin
from .symmetric import symmetric_applies as symmetric_applies
from .symmetric import symmetric_battery as symmetric_battery

_LAZY = {name: ".meanfield" for name in ("bloch_vectors", "classical_energy")}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'qbjax.propagate' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)
