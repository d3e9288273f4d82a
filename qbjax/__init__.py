"""qbjax: differentiable simulation of quantum batteries in JAX.

Precision follows JAX: call `jax.config.update("jax_enable_x64", True)` for float64
(the `qbjax` command does this). Importing qbjax changes no global JAX setting.
"""

from ._checks import ArgumentError as ArgumentError
from .merit import ChargeResult as ChargeResult
from .merit import charge as charge
from .merit import ground_energy as ground_energy
from .merit import max_power as max_power
from .merit import max_work as max_work
from .merit import power as power
from .merit import work as work
from .models import PROTOCOLS as PROTOCOLS
from .models import Battery as Battery
from .models import Couplings as Couplings
from .models import couplings as couplings
from .models import interaction as interaction
from .models import local_field as local_field
from .models import product_state as product_state
from .models import spin_chain_battery as spin_chain_battery
from .passivity import capacity as capacity
from .passivity import ergotropy as ergotropy
from .passivity import passive_energy as passive_energy
from .propagate import evolve as evolve
from .propagate import evolve_expm as evolve_expm
from .terms import PauliSum as PauliSum
from .terms import dense as dense
from .terms import pauli_sum as pauli_sum

__version__ = "0.1.0"
