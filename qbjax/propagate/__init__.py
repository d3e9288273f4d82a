"""Propagators: one module per method, each mapping (H, psi0, times) to states."""

from .dense import Spectrum as Spectrum
from .dense import check_dense_fits as check_dense_fits
from .dense import dense_memory_bytes as dense_memory_bytes
from .dense import evolve as evolve
from .dense import evolve_expm as evolve_expm
from .dense import spectrum as spectrum
from .meanfield import bloch_vectors as bloch_vectors
from .meanfield import charge_meanfield as charge_meanfield
from .meanfield import classical_energy as classical_energy
from .meanfield import evolve_meanfield as evolve_meanfield
from .symmetric import SymmetricBattery as SymmetricBattery
from .symmetric import charge_symmetric as charge_symmetric
from .symmetric import collective_spin as collective_spin
from .symmetric import symmetric_applies as symmetric_applies
from .symmetric import symmetric_battery as symmetric_battery
