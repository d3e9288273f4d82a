"""The mean-field engine: the classical chain of Le et al. (2018), eqs. 20-21.

Every Pauli operator of spin m becomes a component of a classical unit vector S_m, and
dS_m/dt = 2 (dH_C/dS_m) x S_m is integrated with diffrax (Dopri8, 1e-12); <H0>_t comes from
the solver's dense output (`propagate.meanfield`). Its ergotropy is measured from the lowest
classical energy, found by a multi-start local search outside JAX.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .. import _checks
from ..kernels.meanfield import (
    ClassicalH,
    bloch_vectors,
    bucket,
    classical_ground_energy,
    classical_hamiltonian,
    precession_rate,
    solve_classical,
    step_budget,
)
from ..models.chain import SpinChain, as_battery
from .base import AbstractEngine, Curve


class MeanFieldCurve(Curve):
    """<H0>_t of the classical chain from Dopri8's dense output (error ~1e-14 at rtol 1e-12)."""

    energy_h: ClassicalH
    spins0: Array
    interpolation: diffrax.DenseInterpolation
    ground: Array | None

    def energy(self, times):
        # The interpolant is garbage past t1, and XLA may round a grid's last point t1 * n/n up.
        # `where` (not clip) keeps d/dt = 1 at t = 0 for the P(0) rule.
        t0, t1 = self.interpolation.t0, self.interpolation.t1
        times = jnp.where(times > t1, t1, jnp.where(times < t0, t0, times))
        spins = jax.vmap(self.interpolation.evaluate)(times)
        return jax.vmap(self.energy_h.energy)(spins)

    def initial_energy(self):
        return self.energy_h.energy(self.spins0)

    def ground_energy(self):
        if self.ground is None:
            raise _checks.ArgumentError(
                "method", "the mean-field ergotropy needs the classical ground energy (computed outside jit)"
            )
        return self.ground


class MeanField(AbstractEngine):
    """The classical (mean-field) chain.

    Attributes:
        max_steps: the solver's step budget (set by `plan` from the fastest precession).
    """

    name = "meanfield"
    compiled_prepare = False  # prepared by NumPy/SciPy stages
    batchable = False  # the classical ground energy comes from SciPy, one point at a time
    max_steps: int = eqx.field(static=True, default=2**16)

    def check(self, model) -> None:
        starts_from_product = model.initial == "down" if isinstance(model, SpinChain) else model.is_product
        if not starts_from_product:
            raise _checks.ArgumentError(
                "initial", "the mean-field method starts from a product state (one Bloch vector per spin)"
            )

    def plan(self, model, t_end: float, *, spectrum: tuple[float, float] | None = None) -> MeanField:
        del spectrum
        if _checks.is_traced(model):
            return self  # the budget needs concrete coefficients; keep the default
        return MeanField(step_budget(as_battery(model).charging, float(t_end)))

    def prepare(self, model, t_end) -> MeanFieldCurve:
        return self._curve(model, t_end, None)

    def prepare_concrete(self, model, t_end, *, ergotropy: bool = True) -> MeanFieldCurve:
        ground = None
        if ergotropy:
            ground = jnp.asarray(classical_ground_energy(as_battery(model).energy), jnp.result_type(float))
        return _curve_jit(self, model, t_end, ground)

    def _curve(self, model, t_end, ground) -> MeanFieldCurve:
        battery = as_battery(model)
        # Padded to power-of-two sizes so that one compilation serves chains of similar size.
        n_padded = bucket(battery.n_sites)
        k_padded = bucket(max(len(battery.energy.terms), len(battery.charging.terms), 1))
        width = max((len(term) for term in battery.energy.terms + battery.charging.terms), default=1)
        energy_h, charging_h = (
            classical_hamiltonian(h, n_padded, k_padded, width) for h in (battery.energy, battery.charging)
        )
        spins0 = jnp.zeros((n_padded, 3), jnp.result_type(float)).at[:, 2].set(-1.0)
        spins0 = spins0.at[: battery.n_sites].set(bloch_vectors(battery.initial).astype(spins0.dtype))
        t_end = jnp.asarray(t_end, spins0.dtype)
        solution = solve_classical(charging_h, spins0, t_end, diffrax.SaveAt(dense=True), self.max_steps)
        return MeanFieldCurve(energy_h, spins0, solution.interpolation, ground)

    def frequency_bound(self, model) -> Array:
        # W(t) holds products of two spins' components: up to twice the precession rate
        return 2.0 * precession_rate(as_battery(model).charging)


@eqx.filter_jit
def _curve_jit(engine: MeanField, model, t_end, ground) -> MeanFieldCurve:
    return engine._curve(model, t_end, ground)
