"""Charging engines: one interface (`base`), one module per way of computing <H0>_t."""

from .auto import ENGINES as ENGINES
from .auto import METHODS as METHODS
from .auto import choose as choose
from .auto import engine_for as engine_for
from .base import AbstractEngine as AbstractEngine
from .base import Curve as Curve
from .dense import Dense as Dense
from .krylov import Krylov as Krylov
from .lindblad import Lindblad as Lindblad
from .meanfield import MeanField as MeanField
from .symmetric import Symmetric as Symmetric
