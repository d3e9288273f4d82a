"""The Lindblad engine: noisy charging of a battery, on density matrices.

While the charging Hamiltonian acts, every site dephases (jump sqrt(dephasing) sz_k) and
decays (amplitude damping, jump sqrt(damping) s-_k, s- = |down><up|):

    d rho/dt = -i [H_charge, rho] + sum_k dephasing D[sz_k] rho + damping D[s-_k] rho,

from rho(0) = |psi0><psi0|, integrated matrix-free (`open.lindblad.ChainLindbladian`) by
diffrax (Tsit5, PID step control) with dense output, so <H0>_t = Tr(rho(t) H0) is available
at any time of the window. The ergotropy is that of the mixed state rho(t).
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .. import _checks
from ..kernels.ground_state import ground_energy
from ..kernels.lindblad import MAX_CHAIN_SITES, ChainLindbladian, chain_lindbladian, solve, solve_end
from ..measures.passivity import ergotropy
from ..models.chain import as_battery
from ..operators.terms import PauliSum, apply
from .base import AbstractEngine, Curve


def energy_of(h0: PauliSum, rho) -> Array:
    """Tr(rho H0) with H0 applied column by column (matrix-free)."""
    h_rho = jax.vmap(apply, in_axes=(None, 1), out_axes=1)(h0, rho)
    return jnp.real(jnp.trace(h_rho))


# Memory for the solver's dense output: diffrax keeps about 9 states per allowed step (the
# step's end point and Tsit5's stages), preallocated for every one of `max_steps`.
DENSE_OUTPUT_BYTES = 2**31
_STATES_PER_STEP = 9


def step_budget(n_sites: int) -> int:
    """The largest step budget whose dense output fits in DENSE_OUTPUT_BYTES."""
    per_step = _STATES_PER_STEP * 16 * 4**n_sites
    return int(min(100_000, max(64, DENSE_OUTPUT_BYTES // per_step)))


class LindbladCurve(Curve):
    energy_h: PauliSum
    rho0: Array
    interpolation: diffrax.DenseInterpolation

    def states(self, times: Float[Array, " T"]) -> Array:
        """rho(t) at each time, shape (T, d, d)."""
        t0, t1 = self.interpolation.t0, self.interpolation.t1
        times = jnp.where(times > t1, t1, jnp.where(times < t0, t0, times))
        real, imag = jax.vmap(self.interpolation.evaluate)(times)
        return jax.lax.complex(real, imag)

    def energy(self, times):
        return jax.vmap(lambda rho: energy_of(self.energy_h, rho))(self.states(times))

    def initial_energy(self):
        return energy_of(self.energy_h, self.rho0)

    def ground_energy(self):
        return ground_energy(self.energy_h)

    def ergotropy(self, times, energies):
        del energies
        return jax.vmap(lambda rho: ergotropy(rho, self.energy_h))(self.states(times))


class Lindblad(AbstractEngine):
    """Noisy charging: dephasing and amplitude damping on every site (rates may be traced).

    Attributes:
        dephasing, damping: rates >= 0. A concrete zero drops the channel.
        rtol, atol: tolerances of the adaptive solver.
        max_steps: the solver's step budget; default (set by `plan`): as many steps as
            the dense output can keep in DENSE_OUTPUT_BYTES, at most 100000.
    """

    name = "lindblad"
    dephasing: object = 0.0
    damping: object = 0.0
    rtol: float = eqx.field(static=True, default=1e-8)
    atol: float = eqx.field(static=True, default=1e-10)
    max_steps: int | None = eqx.field(static=True, default=None)

    def check(self, model) -> None:
        n = model.n_sites
        if n > MAX_CHAIN_SITES:
            raise _checks.ArgumentError("n", f"must be <= {MAX_CHAIN_SITES} for noisy charging, got {n}")
        _checks.nonnegative("dephasing", self.dephasing)
        _checks.nonnegative("damping", self.damping)
        _checks.positive("rtol", self.rtol)
        _checks.positive("atol", self.atol)

    def plan(self, model, t_end: float, *, spectrum: tuple[float, float] | None = None) -> Lindblad:
        del t_end, spectrum
        if self.max_steps is not None:
            return self
        return Lindblad(self.dephasing, self.damping, self.rtol, self.atol, step_budget(model.n_sites))

    def lindbladian(self, model) -> ChainLindbladian:
        charging = as_battery(model).charging
        return chain_lindbladian(charging, dephasing=self.dephasing, damping=self.damping)

    def prepare(self, model, t_end) -> LindbladCurve:
        battery = as_battery(model)
        rhs = self.lindbladian(battery)
        psi0 = battery.initial_state()
        rho0 = jnp.outer(psi0, psi0.conj())
        t1 = solve_end(jnp.asarray(t_end, jnp.real(rho0).dtype))
        max_steps = self.max_steps or step_budget(battery.n_sites)
        saveat = diffrax.SaveAt(dense=True)
        solution = solve(rhs, rho0, t1, saveat, rtol=self.rtol, atol=self.atol, max_steps=max_steps)
        return LindbladCurve(battery.energy, rho0, solution.interpolation)

    def memory_bytes(self, model) -> int:
        return _STATES_PER_STEP * 16 * 4**model.n_sites * (self.max_steps or step_budget(model.n_sites))
