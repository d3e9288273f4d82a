"""qbjax: differentiable simulation of quantum batteries in JAX.

Precision follows JAX: call `jax.config.update("jax_enable_x64", True)` for float64
(the `qbjax` command does this). Importing qbjax changes no global JAX setting.

The closed-system core is imported with the package; parts that need diffrax (noisy
charging, open systems, mean-field propagation) or optax (optimisation) load on first use.
"""

import importlib

from ._checks import ArgumentError as ArgumentError
from ._version import __version__ as __version__
from .devices import use_cpu_cores as use_cpu_cores
from .engines import Chebyshev as Chebyshev
from .engines import Dense as Dense
from .engines import Krylov as Krylov
from .engines import Symmetric as Symmetric
from .engines.registry import CLASSES as _ENGINE_CLASSES
from .kernels.dense import evolve as evolve
from .kernels.dense import evolve_expm as evolve_expm
from .kernels.ground_state import ground_energy as ground_energy
from .kernels.krylov import evolve_krylov as evolve_krylov
from .measures.passivity import capacity as capacity
from .measures.passivity import coherent_ergotropy as coherent_ergotropy
from .measures.passivity import ergotropy as ergotropy
from .measures.passivity import incoherent_ergotropy as incoherent_ergotropy
from .measures.passivity import passive_energy as passive_energy
from .measures.passivity import residual_capacity as residual_capacity
from .measures.resources import bell as bell
from .measures.resources import bell_normalized as bell_normalized
from .measures.resources import concurrence as concurrence
from .measures.resources import entropy as entropy
from .measures.resources import first_order_coherence as first_order_coherence
from .measures.resources import imaginarity as imaginarity
from .measures.resources import l1_coherence as l1_coherence
from .measures.resources import mutual_information as mutual_information
from .measures.resources import negativity as negativity
from .measures.resources import ptrace as ptrace
from .measures.resources import steering as steering
from .measures.resources import steering_normalized as steering_normalized
from .measures.resources import texture as texture
from .measures.resources import texture_grand_sum as texture_grand_sum
from .models.chain import PARAMETERS as PARAMETERS
from .models.chain import PROTOCOLS as PROTOCOLS
from .models.chain import Battery as Battery
from .models.chain import Couplings as Couplings
from .models.chain import SpinChain as SpinChain
from .models.chain import couplings as couplings
from .models.chain import interaction as interaction
from .models.chain import local_field as local_field
from .models.chain import product_state as product_state
from .models.chain import spin_chain_battery as spin_chain_battery
from .models.symmetric import symmetric_applies as symmetric_applies
from .operators.matfree import matfree as matfree
from .operators.terms import PauliSum as PauliSum
from .operators.terms import dense as dense
from .operators.terms import pauli_sum as pauli_sum
from .tasks import sweep_store as sweep_store
from .tasks.charge import ChargeResult as ChargeResult
from .tasks.charge import charge as charge
from .tasks.charge import energy_curve as energy_curve
from .tasks.charge import max_power as max_power
from .tasks.charge import max_work as max_work
from .tasks.charge import power as power
from .tasks.charge import work as work
from .tasks.charger import resource_series as resource_series
from .tasks.optimize import OptimizeResult as OptimizeResult
from .tasks.optimize import optimize as optimize
from .tasks.sweep import SweepResult as SweepResult
from .tasks.sweep import plan_sweep as plan_sweep
from .tasks.sweep import run_sweep as run_sweep
from .tasks.sweep import sweep as sweep

# name -> module, imported on first access (PEP 562): these need diffrax (to_qutip and
# from_qutip import the optional QuTiP only when called)
_LAZY = {
    "NoisyCharge": ".open.noisy",
    "noise_sweep": ".open.noisy",
    "noisy_charge": ".open.noisy",
    "ThermalPair": ".open.thermal",
    "ness": ".open.thermal",
    "thermal_pair": ".open.thermal",
    "two_stroke_cycle": ".open.thermal",
    "steady_state": ".open.steady",
    "control": ".tasks.control",
    "ControlResult": ".tasks.control",
    "pulse_work": ".tasks.pulses",
    "to_qutip": ".models.interop",
    "from_qutip": ".models.interop",
    "QutipBattery": ".models.interop",
}


# the engine classes, from the one registry (`qbjax.engines.registry`)
_LAZY.update({cls: f".engines.{module}" for cls, module in _ENGINE_CLASSES.items()})


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'qbjax' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
