"""qbjax: differentiable simulation of quantum batteries in JAX.

Precision follows JAX: call `jax.config.update("jax_enable_x64", True)` for float64
(the `qbjax` command does this). Importing qbjax changes no global JAX setting.

The closed-system core is imported with the package; parts that need diffrax (noisy
charging, open systems, mean-field propagation) or optax (optimisation) load on first use.
"""

import importlib

from ._checks import ArgumentError as ArgumentError
from ._version import __version__ as __version__
from .charge import ChargeResult as ChargeResult
from .charge import charge as charge
from .charge import energy_curve as energy_curve
from .charge import max_power as max_power
from .charge import max_work as max_work
from .charge import power as power
from .charge import work as work
from .charger import resource_series as resource_series
from .devices import use_cpu_cores as use_cpu_cores
from .engines import Chebyshev as Chebyshev
from .engines import Dense as Dense
from .engines import Krylov as Krylov
from .engines import Symmetric as Symmetric
from .models import PARAMETERS as PARAMETERS
from .models import PROTOCOLS as PROTOCOLS
from .models import Battery as Battery
from .models import Couplings as Couplings
from .models import SpinChain as SpinChain
from .models import couplings as couplings
from .models import interaction as interaction
from .models import local_field as local_field
from .models import product_state as product_state
from .models import spin_chain_battery as spin_chain_battery
from .optimize import OptimizeResult as OptimizeResult
from .optimize import optimize as optimize
from .passivity import capacity as capacity
from .passivity import coherent_ergotropy as coherent_ergotropy
from .passivity import ergotropy as ergotropy
from .passivity import incoherent_ergotropy as incoherent_ergotropy
from .passivity import passive_energy as passive_energy
from .passivity import residual_capacity as residual_capacity
from .propagate import evolve as evolve
from .propagate import evolve_expm as evolve_expm
from .propagate import evolve_krylov as evolve_krylov
from .propagate import ground_energy as ground_energy
from .propagate import matfree as matfree
from .propagate import symmetric_applies as symmetric_applies
from .resources import bell as bell
from .resources import bell_normalized as bell_normalized
from .resources import concurrence as concurrence
from .resources import entropy as entropy
from .resources import first_order_coherence as first_order_coherence
from .resources import imaginarity as imaginarity
from .resources import l1_coherence as l1_coherence
from .resources import mutual_information as mutual_information
from .resources import negativity as negativity
from .resources import ptrace as ptrace
from .resources import steering as steering
from .resources import steering_normalized as steering_normalized
from .resources import texture as texture
from .resources import texture_grand_sum as texture_grand_sum
from .sweep import SweepResult as SweepResult
from .sweep import plan_sweep as plan_sweep
from .sweep import run_sweep as run_sweep
from .sweep import sweep as sweep
from .terms import PauliSum as PauliSum
from .terms import dense as dense
from .terms import pauli_sum as pauli_sum

# name -> module, imported on first access (PEP 562): these need diffrax (to_qutip and
# from_qutip import the optional QuTiP only when called)
_LAZY = {
    "Lindblad": ".engines.lindblad",
    "MeanField": ".engines.meanfield",
    "NoisyCharge": ".noisy",
    "noise_sweep": ".noisy",
    "noisy_charge": ".noisy",
    "ThermalPair": ".open.thermal",
    "ness": ".open.thermal",
    "thermal_pair": ".open.thermal",
    "two_stroke_cycle": ".open.thermal",
    "steady_state": ".open.steady",
    "control": ".control",
    "ControlResult": ".control",
    "pulse_work": ".pulses",
    "to_qutip": ".interop",
    "from_qutip": ".interop",
    "QutipBattery": ".interop",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'qbjax' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
