"""Open quantum batteries: Lindblad dynamics, steady states, the thermal-gradient pair.
(Noisy charging of spin chains is `qbjax.noisy_charge`, on the Lindblad engine.)"""

from ..kernels.lindblad import ChainLindbladian as ChainLindbladian
from ..kernels.lindblad import chain_lindbladian as chain_lindbladian
from ..kernels.lindblad import dissipator as dissipator
from ..kernels.lindblad import evolve as evolve
from ..kernels.lindblad import evolve_dense as evolve_dense
from ..kernels.lindblad import hamiltonian_superop as hamiltonian_superop
from ..kernels.lindblad import lindblad_rhs as lindblad_rhs
from ..kernels.lindblad import liouvillian as liouvillian
from ..kernels.lindblad import unvec as unvec
from ..kernels.lindblad import vec as vec
from .steady import steady_state as steady_state
from .thermal import NESS as NESS
from .thermal import Cycle as Cycle
from .thermal import ThermalPair as ThermalPair
from .thermal import bath_superops as bath_superops
from .thermal import bose as bose
from .thermal import gibbs_state as gibbs_state
from .thermal import heat_currents as heat_currents
from .thermal import ness as ness
from .thermal import pair_liouvillian as pair_liouvillian
from .thermal import thermal_pair as thermal_pair
from .thermal import two_stroke_cycle as two_stroke_cycle
