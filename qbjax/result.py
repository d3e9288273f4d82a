"""The result every charging engine returns (dense, Krylov, symmetric, mean-field).

It lives below `merit` and `propagate` so that every engine can build it directly.
"""

from __future__ import annotations

import equinox as eqx
from jaxtyping import Array, Float


class ChargeResult(eqx.Module):
    """Everything `charge` computes. Curves are None unless `times` was given."""

    max_power: Float[Array, ""]
    t_max_power: Float[Array, ""]
    max_work: Float[Array, ""]
    t_max_work: Float[Array, ""]
    initial_energy: Float[Array, ""]
    ground_energy: Float[Array, ""] | None = None
    times: Float[Array, " T"] | None = None
    work: Float[Array, " T"] | None = None
    power: Float[Array, " T"] | None = None
    ergotropy: Float[Array, " T"] | None = None
