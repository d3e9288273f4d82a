"""Battery models: the spin chain (`chain`: couplings, XXZ + DM interaction, fields,
protocols, `Battery` and `SpinChain`), the same chain in its permutation-symmetric (Dicke)
subspace (`symmetric`), and the conversion to and from QuTiP (`interop`)."""

from .chain import COUPLINGS as COUPLINGS
from .chain import DM_AXES as DM_AXES
from .chain import INITIAL_STATES as INITIAL_STATES
from .chain import PARAMETERS as PARAMETERS
from .chain import PROTOCOLS as PROTOCOLS
from .chain import STRUCTURE as STRUCTURE
from .chain import Battery as Battery
from .chain import Couplings as Couplings
from .chain import SpinChain as SpinChain
from .chain import all_down as all_down
from .chain import as_battery as as_battery
from .chain import couplings as couplings
from .chain import interaction as interaction
from .chain import local_field as local_field
from .chain import nearest_neighbour as nearest_neighbour
from .chain import power_law as power_law
from .chain import product_state as product_state
from .chain import spin_chain_battery as spin_chain_battery
