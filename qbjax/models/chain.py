"""Spin-chain battery models (PHYSICS.md sections 1-2), built from Pauli terms.

    H_B   = sum_i B_i sz_i                                             (field)
    H_int = - sum_{i->j} g_ij [ sz sz + alpha (sx sx + sy sy) + D . (s_i x s_j) ]  (interaction)
    V     = sum_i omega_i sx_i                                         (drive)

The Dzyaloshinskii-Moriya (DM) vector D points along one axis (`dm_axis`, default z:
D (sx_i sy_j - sy_i sx_j)) or is a general 3-vector. Each bond i -> j is oriented along
the chain; a ring's closing bond is N-1 -> 0, so the chirality is the same on every bond.
A battery is data: which of these parts form the energy H0 whose expectation is the
stored energy, which form the generator during charging, and the initial state (a product
state, the ground state of H0, or any normalised vector).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Complex

from .. import _checks
from .. import precision as _precision
from ..operators.terms import PauliSum, Term, pauli_sum

COUPLINGS = ("nn", "lr")
DM_AXES = ("x", "y", "z")
INITIAL_STATES = ("down", "ground")

# protocol -> (parts of the energy Hamiltonian, parts of the charging Hamiltonian)
PROTOCOLS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # Le et al. 2018: during charging the field B is replaced by the drive V.
    "replace": (("field", "interaction"), ("interaction", "drive")),
    # the drive is added on top of the battery Hamiltonian.
    "add": (("field", "interaction"), ("field", "interaction", "drive")),
    # DM-paper set-up: energy counted on B sum sz only, interactions act only while charging.
    "collective": (("field",), ("field", "interaction", "drive")),
}


class Couplings(eqx.Module):
    """Pair couplings g_ij: static list of oriented bonds (i, j), i -> j, and traced strengths."""

    n_sites: int = eqx.field(static=True)
    pairs: tuple[tuple[int, int], ...] = eqx.field(static=True)
    strengths: Array

    @property
    def total(self) -> Array:
        """G = sum_{i<j} g_ij."""
        return jnp.sum(self.strengths, axis=-1)


def nearest_neighbour(n: int, g, *, periodic: bool = False) -> Couplings:
    """g_ij = g for |i - j| = 1 (and the closing bond N-1 -> 0 when periodic and N > 2)."""
    n = _checks.integer_at_least("n", n, 1)
    pairs = [(i, i + 1) for i in range(n - 1)]
    if periodic and n > 2:
        pairs.append((n - 1, 0))
    xp = _checks.array_module(g)
    strengths = xp.asarray(g) * xp.ones(len(pairs), dtype=jnp.result_type(g, float))
    return Couplings(n, tuple(pairs), strengths)


def power_law(n: int, g, p, *, periodic: bool = False) -> Couplings:
    """g_ij = g / r_ij^p for all pairs; r = |i - j| (open) or min(|i-j|, N-|i-j|) (periodic).

    p = 0 is uniform all-to-all coupling. A bond is oriented i -> j (i < j), except on a ring
    when the shorter way round crosses the closing bond: then j -> i, as a chain read
    0 -> 1 -> ... -> N-1 -> 0 meets it.
    """
    n = _checks.integer_at_least("n", n, 1)
    _checks.nonnegative("p", p)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    distance = np.array([j - i for i, j in pairs], dtype=float)
    if periodic:
        pairs = [(j, i) if n - (j - i) < j - i else (i, j) for i, j in pairs]
        distance = np.minimum(distance, n - distance)
    dtype = jnp.result_type(g, p, float)
    xp = _checks.array_module(g, p)
    strengths = xp.asarray(g, dtype) * xp.asarray(distance, dtype) ** (-xp.asarray(p, dtype))
    return Couplings(n, tuple(pairs), strengths)


def couplings(n: int, coupling: str, g, p=1.0, *, periodic: bool = False) -> Couplings:
    """Coupling graph by name: "nn" (nearest neighbour) or "lr" (power law g/r^p)."""
    _checks.one_of("coupling", coupling, COUPLINGS)
    _checks.magnitude("g", g)
    _checks.nonnegative("p", p)  # checked for "nn" too: the flag's range does not depend on it
    if coupling == "nn":
        return nearest_neighbour(n, g, periodic=periodic)
    return power_law(n, g, p, periodic=periodic)


def local_field(n: int, strength, axis: str = "z", *, name: str = "field") -> PauliSum:
    """sum_i b_i sigma^axis_i; `strength` is one number or one per site, shape (N,).

    `name` is the argument name used in error messages.
    """
    n = _checks.integer_at_least("n", n, 1)
    _checks.magnitude(name, strength)
    strength = _checks.array_module(strength).asarray(strength)
    if strength.ndim not in (0, 1) or (strength.ndim == 1 and strength.shape[0] != n):
        raise _checks.ArgumentError(name, f"must be a number or {n} site values, got shape {strength.shape}")
    per_site = [strength if strength.ndim == 0 else strength[i] for i in range(n)]
    return pauli_sum(n, [(((i, axis.upper()),), b) for i, b in enumerate(per_site)])


def _scaled(g, x):
    """g * x, or an exact 0 when x is a concrete zero, so the term is dropped even if g is traced."""
    return 0.0 if _checks.is_concrete_zero(x) else g * x


# (s_i x s_j)_k = s^a_i s^b_j - s^b_i s^a_j with (k, a, b) cyclic
_CROSS_PRODUCT = {"x": ("Y", "Z"), "y": ("Z", "X"), "z": ("X", "Y")}


def interaction(c: Couplings, alpha=0.0, dm=0.0, dm_axis: str = "z") -> PauliSum:
    """H_int = - sum_{i->j} g_ij [ zz + alpha (xx + yy) + D . (s_i x s_j) ] over the bonds of `c`.

    Args:
        c: the couplings g_ij on oriented bonds i -> j.
        alpha: XXZ anisotropy (alpha = 1: isotropic XXX, alpha = 0: Ising).
        dm: DM interaction. A number is the strength D along `dm_axis` (along z it is the
            form of PHYSICS.md section 1, D (sx_i sy_j - sy_i sx_j)). A length-3 vector
            (D_x, D_y, D_z) is a general DM vector, D . (s_i x s_j); `dm_axis` is then unused.
        dm_axis: "x", "y" or "z".
    """
    _checks.magnitude("alpha", alpha)
    _checks.magnitude("dm", dm)
    _checks.one_of("dm_axis", dm_axis, DM_AXES)
    dm = _checks.array_module(dm).asarray(dm)
    if dm.shape == ():
        dm_components = [(dm, *_CROSS_PRODUCT[dm_axis])]
    elif dm.shape == (3,):
        dm_components = [(dm[k], *_CROSS_PRODUCT[axis]) for k, axis in enumerate(DM_AXES)]
    else:
        raise _checks.ArgumentError("dm", f"must be a number (D) or a 3-vector, got shape {dm.shape}")
    weighted: list[tuple[Term, object]] = []
    for k, (i, j) in enumerate(c.pairs):
        minus_g = -c.strengths[..., k]
        weighted.append((((i, "Z"), (j, "Z")), minus_g))
        weighted.append((((i, "X"), (j, "X")), _scaled(minus_g, alpha)))
        weighted.append((((i, "Y"), (j, "Y")), _scaled(minus_g, alpha)))
        for d_k, a, b in dm_components:
            weighted.append((((i, a), (j, b)), _scaled(minus_g, d_k)))
            weighted.append((((i, b), (j, a)), _scaled(-minus_g, d_k)))
    return pauli_sum(c.n_sites, weighted)


def product_state(amplitudes: Complex[Array, "N 2"]) -> Complex[Array, " d"]:
    """Tensor product of single-site states; row i holds (amplitude of up, amplitude of down)."""
    psi = amplitudes[0]
    for site in range(1, amplitudes.shape[0]):
        psi = jnp.kron(psi, amplitudes[site])
    return psi


def all_down(n: int) -> Complex[Array, "N 2"]:
    """Product amplitudes of |down...down>, the ground state of H0 for g >= 0, |alpha| <= 1."""
    amplitudes = np.zeros((n, 2), jnp.result_type(complex))
    amplitudes[:, 1] = 1.0
    return amplitudes


class Battery(eqx.Module):
    """A battery as data.

    Attributes:
        energy: H0, the Hamiltonian whose expectation value is the stored energy.
        charging: the generator of the evolution during charging (0 < t < T).
        initial: the state at t = 0: product-state amplitudes, shape (N, 2), row i the
            (up, down) amplitudes of site i; or a state vector of dimension 2**N.
    """

    energy: PauliSum
    charging: PauliSum
    initial: Complex[Array, "N 2"] | Complex[Array, " d"] = eqx.field(converter=lambda x: _as_array(x))

    def __check_init__(self):
        n = self.energy.n_sites
        if self.charging.n_sites != n:
            raise _checks.ArgumentError("charging", f"must act on the same {n} sites as the energy")
        check_initial(self.initial, n)

    @property
    def n_sites(self) -> int:
        return self.energy.n_sites

    @property
    def is_product(self) -> bool:
        """Whether the initial state is given as product amplitudes (N, 2)."""
        return self.initial.ndim >= 2

    def initial_state(self) -> Complex[Array, " d"]:
        """The initial state as a vector of dimension 2**N."""
        return product_state(self.initial) if self.is_product else self.initial

    def in_precision(self, precision: str) -> Battery:
        """This battery with its coefficients and initial state in `precision` ("double" or
        "single"; differentiable: the cast is an identity for gradients)."""
        real, cplx = _precision.real_dtype(precision), _precision.complex_dtype(precision)

        def cast(h: PauliSum) -> PauliSum:
            return PauliSum(h.n_sites, h.terms, h.coeffs.astype(real))

        initial = self.initial
        initial = initial.astype(cplx) if hasattr(initial, "astype") else jnp.asarray(initial, cplx)
        return Battery(energy=cast(self.energy), charging=cast(self.charging), initial=initial)


def _as_array(state):
    """Arrays (JAX, NumPy, tracers) as they are; a list becomes a complex NumPy array."""
    return state if hasattr(state, "ndim") else np.asarray(state, dtype=jnp.result_type(complex))


def check_initial(initial, n: int) -> None:
    """Refuse an initial state of the wrong shape, or (when concrete) not normalised."""
    shape = np.shape(initial)
    is_product = len(shape) >= 2 and shape[-2:] == (n, 2)
    if not is_product and shape[-1:] != (2**n,):
        raise _checks.ArgumentError(
            "initial",
            f"must be product amplitudes of shape ({n}, 2) or a state vector of dimension "
            f"2^{n} = {2**n}, got shape {shape}",
        )
    if _checks.is_traced(initial):
        return
    _checks.finite("initial", initial)
    norms = np.sum(np.abs(np.asarray(initial)) ** 2, axis=-1)
    if not np.allclose(norms, 1.0, atol=1e-6):
        what = "every site state" if is_product else "the state vector"
        squared_norm = norms.ravel()[0]
        raise _checks.ArgumentError(
            "initial", f"{what} must be normalised, got squared norm {squared_norm:.6g}"
        )


# The spin-chain model's arguments, written once: the structure (static: it fixes the Pauli
# terms) and the numeric parameters (traced: swept, vmapped, differentiated).
STRUCTURE = ("n", "coupling", "protocol", "periodic", "dm_axis", "initial")
PARAMETERS = ("g", "p", "alpha", "dm", "field", "omega")


class SpinChain(eqx.Module):
    """The arguments of `spin_chain_battery` as one immutable value.

    Every engine accepts it; `battery()` builds the Pauli-term `Battery`. The symmetric
    engine reads the parameters directly, so N in the thousands never lists N^2 terms.
    Numeric parameters may be JAX tracers (batched with `vmap`, differentiated).
    """

    n: int = eqx.field(static=True)
    coupling: str = eqx.field(static=True, default="nn")
    protocol: str = eqx.field(static=True, default="replace")
    periodic: bool = eqx.field(static=True, default=False)
    dm_axis: str = eqx.field(static=True, default="z")
    initial: str = eqx.field(static=True, default="down")
    g: object = 1.0
    p: object = 1.0
    alpha: object = 0.0
    dm: object = 0.0
    field: object = 1.0
    omega: object = 4.0

    def __check_init__(self):
        _checks.integer_at_least("n", self.n, 1)
        _checks.one_of("coupling", self.coupling, COUPLINGS)
        _checks.one_of("protocol", self.protocol, PROTOCOLS)
        _checks.one_of("dm_axis", self.dm_axis, DM_AXES)
        if not isinstance(self.initial, str):
            raise _checks.ArgumentError(
                "initial",
                "a SpinChain starts from 'down' or 'ground'; for a state vector use spin_chain_battery",
            )
        _checks.one_of("initial", self.initial, INITIAL_STATES)
        for name in PARAMETERS:
            _checks.magnitude(name, getattr(self, name))
        _checks.nonnegative("p", self.p)
        for name in ("field", "omega"):
            shape = np.shape(getattr(self, name))
            if shape not in ((), (self.n,)):
                raise _checks.ArgumentError(
                    name, f"must be a number or {self.n} site values, got shape {shape}"
                )
        if np.shape(self.dm) not in ((), (3,)):
            raise _checks.ArgumentError(
                "dm", f"must be a number (D) or a 3-vector, got shape {np.shape(self.dm)}"
            )

    @staticmethod
    def of(model) -> SpinChain:
        """A SpinChain from a mapping of `spin_chain_battery` keyword arguments (`n` required)."""
        model = dict(model)
        for key in model:
            if key not in STRUCTURE + PARAMETERS:
                raise _checks.ArgumentError(key, "is not a parameter of the spin-chain battery")
        if "n" not in model:
            raise _checks.ArgumentError("n", "is required")
        return SpinChain(**model)

    @property
    def n_sites(self) -> int:
        return self.n

    def kwargs(self) -> dict:
        """The keyword arguments of `spin_chain_battery`."""
        return {name: getattr(self, name) for name in STRUCTURE + PARAMETERS}

    def replace(self, **values) -> SpinChain:
        return SpinChain(**{**self.kwargs(), **values})

    def battery(self) -> Battery:
        return spin_chain_battery(**self.kwargs())

    def values_as_arrays(self) -> SpinChain:
        """This chain with its nonzero numbers held as NumPy arrays, for a compiled call.

        `jit` treats Python numbers as static (one compilation per value) and arrays as
        traced (one compilation for all values). Exact zeros stay Python numbers, so the
        terms they switch off stay dropped (a chain with D = 0 stays real). Site values and
        DM 3-vectors stay as given (a vector's zero components decide which terms exist).
        """
        dtype = jnp.result_type(float)

        def as_array(name):
            value = getattr(self, name)
            if _checks.is_traced(value) or _checks.is_concrete_zero(value) or np.ndim(value) > 0:
                return value
            return np.asarray(value, dtype)

        return self.replace(**{name: as_array(name) for name in PARAMETERS})


def as_battery(model) -> Battery:
    """The Pauli-term battery of a `Battery` or a `SpinChain`."""
    return model.battery() if isinstance(model, SpinChain) else model


def spin_chain_battery(
    n: int,
    *,
    coupling: str = "nn",
    g=1.0,
    p=1.0,
    alpha=0.0,
    dm=0.0,
    field=1.0,
    omega=4.0,
    protocol: str = "replace",
    periodic: bool = False,
    dm_axis: str = "z",
    initial="down",
) -> Battery:
    """The Heisenberg XXZ + DM spin-chain battery charged by a uniform transverse field.

    Args:
        n: number of spins N >= 1.
        coupling: "nn" (g_ij = g on neighbours) or "lr" (g_ij = g / |i - j|^p).
        g: coupling strength. p: power-law exponent, p >= 0 (0 = all-to-all).
        alpha: XXZ anisotropy.
        dm: DM strength D along `dm_axis`, or a DM 3-vector. dm_axis: "x", "y" or "z".
        field: B, the static field along z (a number or N site values).
        omega: strength of the charging field along x (a number or N site values).
        protocol: "replace" (Le et al.: H_charge = H_int + V), "add" (H0 + V), or
            "collective" (energy B sum sz only; H_charge = H_B + H_int + V).
        periodic: close the chain (the closing bond is N-1 -> 0).
        initial: "down" (|down...down>), "ground" (the ground state of H0; refused when
            degenerate), product amplitudes of shape (N, 2) or a state vector of size 2**N.

    Every number may be a JAX tracer, so the battery can be built inside `jit`,
    `vmap` and `grad`.
    """
    n = _checks.integer_at_least("n", n, 1)
    _checks.one_of("protocol", protocol, PROTOCOLS)
    parts = {
        "field": local_field(n, field, "z", name="field"),
        "interaction": interaction(couplings(n, coupling, g, p, periodic=periodic), alpha, dm, dm_axis),
        "drive": local_field(n, omega, "x", name="omega"),
    }
    energy_parts, charging_parts = PROTOCOLS[protocol]
    energy = _total(n, [parts[name] for name in energy_parts])
    return Battery(
        energy=energy,
        charging=_total(n, [parts[name] for name in charging_parts]),
        initial=_initial_state(initial, energy),
    )


def _initial_state(initial, energy: PauliSum):
    """The amplitudes or vector a Battery starts from, for `spin_chain_battery(initial=...)`."""
    if isinstance(initial, str):
        _checks.one_of("initial", initial, INITIAL_STATES)
        if initial == "down":
            return all_down(energy.n_sites)
        from ..kernels.ground_state import ground_state

        return ground_state(energy)
    return initial


def _total(n: int, parts: list[PauliSum]) -> PauliSum:
    total = pauli_sum(n, [])
    for part in parts:
        total = total + part
    return total
