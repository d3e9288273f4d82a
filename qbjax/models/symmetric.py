"""Exact charging in the permutation-symmetric (Dicke) subspace: N + 1 states instead of 2^N.

For uniform all-to-all coupling (g_ij = g: "lr" with p = 0, or any graph that is complete and
uniform, such as N <= 2), D = 0 and uniform fields, every part of the spin-chain battery is a
function of the collective spin S^a = sum_i sigma^a_i (Pauli convention, S = 2 J):

    H_B   = B S^z
    H_int = - g sum_{i<j} [ zz + alpha (xx + yy) ]
          = - (g/2) [ (1 - alpha) (S^z)^2 + 4 alpha J(J+1) - N (1 + 2 alpha) ]
    V     = omega S^x

and |down...down> is |J = N/2, m = -N/2>, so the evolution never leaves the J = N/2
multiplet. Basis: |k>, k = 0..N up spins (m = k - N/2). There H_B and H_int are diagonal and
V = omega (J+ + J-) is tridiagonal with <k+1|S^x|k> = sqrt((N - k)(k + 1)): the charging
Hamiltonian is a real symmetric tridiagonal (N+1) x (N+1) matrix, decomposed once; W(t) then
costs O(N K) per time, K the number of eigenstates the initial state overlaps with.

Derivatives in g, alpha, B and omega reuse the divided-difference (Daleckii-Krein) JVP of
`kernels.dense.spectral_states`, exact at degenerate spectra.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float

from .. import _checks
from .chain import COUPLINGS, PROTOCOLS, SpinChain


def collective_spin(n: int) -> tuple[Array, Array, Array]:
    """(S^x, S^y, S^z) = sum_i sigma^a_i on the J = N/2 multiplet, basis |k>, k = 0..N up spins.

    Returns dense (N+1, N+1) matrices; S^y is complex. (S^x)^2 + (S^y)^2 + (S^z)^2 = N (N + 2).
    """
    n = _checks.integer_at_least("n", n, 1)
    k = np.arange(n + 1)
    raising = np.diag(np.sqrt((n - k[:-1]) * (k[:-1] + 1.0)), -1)  # <k+1| J+ |k>, in Pauli units / 2
    sx = raising + raising.T
    sy = -1j * (raising - raising.T)
    sz = np.diag(2.0 * k - n)
    return jnp.asarray(sx), jnp.asarray(sy), jnp.asarray(sz)


class SymmetricBattery(eqx.Module):
    """A spin-chain battery restricted to the J = N/2 Dicke multiplet.

    Attributes:
        n: number of spins N; the subspace has dimension N + 1.
        charging_diagonal, charging_offdiagonal: the real tridiagonal charging Hamiltonian.
        energy_diagonal: H0 in the same basis (diagonal).
        ground_energy: lowest eigenvalue of H0 on the full 2^N space (all J multiplets).
    """

    n: int = eqx.field(static=True)
    charging_diagonal: Float[Array, " d"]
    charging_offdiagonal: Float[Array, " d-1"]
    energy_diagonal: Float[Array, " d"]
    ground_energy: Float[Array, ""]

    def charging_matrix(self) -> Float[Array, "d d"]:
        off = jnp.diag(self.charging_offdiagonal, -1)
        return jnp.diag(self.charging_diagonal) + off + off.T

    def initial_state(self) -> Array:
        """|down...down> = |k = 0>."""
        return jnp.zeros(self.n + 1, self.charging_diagonal.dtype).at[0].set(1.0)


def _model(model) -> dict:
    """Every argument of the spin-chain model, from a `SpinChain` or a mapping of them."""
    return (model if isinstance(model, SpinChain) else SpinChain.of(model)).kwargs()


def _uniform(name: str, value, n: int):
    """One number for a field that must be the same on every site (else ArgumentError)."""
    _checks.finite(name, value)
    array = jnp.asarray(value)
    if array.ndim == 0:
        return array
    if array.shape != (n,) or _checks.is_traced(value):
        raise _checks.ArgumentError(
            name,
            f"must be one number for the symmetric method (site-dependent values break the "
            f"symmetry), got shape {array.shape}",
        )
    values = np.asarray(value)
    if not np.all(values == values[0]):
        raise _checks.ArgumentError(
            name, "site-dependent values break the permutation symmetry the symmetric method needs"
        )
    return array[0]


def _uniform_coupling(model: dict):
    """g of a complete, uniform coupling graph, or ArgumentError naming what breaks it.

    Decided from the graph's shape, without listing the N (N-1)/2 pairs: "lr" couples every
    pair, uniformly when p = 0 or when all distances are equal (N <= 2, or periodic N = 3);
    "nn" is all-to-all only for N <= 2 or periodic N = 3. Then every g_ij equals g.
    """
    n, coupling, g, p = model["n"], model["coupling"], model["g"], model["p"]
    _checks.one_of("coupling", coupling, COUPLINGS)
    _checks.finite("g", g)
    _checks.nonnegative("p", p)
    one_distance = n <= 2 or (model["periodic"] and n == 3)
    if coupling == "nn" and not one_distance:
        raise _checks.ArgumentError(
            "coupling",
            f"'nn' couples {n if model['periodic'] else n - 1} of the {n * (n - 1) // 2} pairs of {n} "
            "spins; the symmetric method needs uniform all-to-all coupling ('lr' with p = 0)",
        )
    if coupling == "lr" and not one_distance and not _checks.is_concrete_zero(p):
        raise _checks.ArgumentError(
            "p", f"must be 0 for the symmetric method (uniform all-to-all coupling), got {_checks.shown(p)}"
        )
    return jnp.asarray(g) if n >= 2 else jnp.zeros((), jnp.result_type(g, float))


def symmetric_battery(model) -> SymmetricBattery:
    """The battery described by `spin_chain_battery` keyword arguments, in the Dicke subspace.

    Raises:
        ArgumentError naming the argument that breaks permutation symmetry: `coupling` (not
        all-to-all, e.g. "nn" with N > 2), `p` (power law with p != 0), `dm` (D != 0),
        `field` or `omega` (site-dependent).
    """
    model = _model(model)
    n = _checks.integer_at_least("n", model["n"], 1)
    _checks.one_of("protocol", model["protocol"], PROTOCOLS)
    _checks.finite("alpha", model["alpha"])
    _checks.finite("dm", model["dm"])
    if model["initial"] != "down":
        raise _checks.ArgumentError(
            "initial", "the symmetric method starts from |down...down> (the Dicke state with S^z = -N/2)"
        )
    if n >= 2 and not _checks.is_concrete_zero(model["dm"]):
        raise _checks.ArgumentError(
            "dm", "must be 0 for the symmetric method (the DM term is odd under exchanging two spins)"
        )
    g = _uniform_coupling(model)
    field = _uniform("field", model["field"], n)
    omega = _uniform("omega", model["omega"], n)
    alpha = jnp.asarray(model["alpha"])
    dtype = jnp.result_type(g, field, omega, alpha, float)
    g, field, omega, alpha = (jnp.asarray(x, dtype) for x in (g, field, omega, alpha))

    k = np.arange(n + 1, dtype=float)
    s = jnp.asarray(2 * k - n, dtype)  # eigenvalue of S^z
    parts = {
        "field": field * s,
        "interaction": -0.5 * g * ((1 - alpha) * s**2 + alpha * n**2 - n),
    }
    drive = omega * jnp.asarray(np.sqrt((n - k[:-1]) * (k[:-1] + 1)), dtype)
    energy_parts, charging_parts = PROTOCOLS[model["protocol"]]
    if "drive" in energy_parts:
        raise _checks.ArgumentError("protocol", "an energy Hamiltonian with the drive is not diagonal here")
    zeros = jnp.zeros(n + 1, dtype)
    charging_diagonal = sum((parts[p] for p in charging_parts if p != "drive"), zeros)
    energy_diagonal = sum((parts[p] for p in energy_parts), zeros)
    charging_off = drive if "drive" in charging_parts else jnp.zeros(n, dtype)
    return SymmetricBattery(
        n, charging_diagonal, charging_off, energy_diagonal, _ground_energy(n, g, alpha, field, energy_parts)
    )


def _ground_energy(n: int, g, alpha, field, energy_parts) -> Array:
    """min over every multiplet J = N/2, N/2 - 1, ... and m of H0 = B S^z + H_int(J, S^z)."""
    j = np.concatenate([np.full(int(2 * jj) + 1, jj) for jj in np.arange(n / 2, -0.25, -1.0)])
    m = np.concatenate([np.arange(-jj, jj + 0.5) for jj in np.arange(n / 2, -0.25, -1.0)])
    s = jnp.asarray(2 * m, g.dtype)
    energy = jnp.zeros_like(s)
    if "field" in energy_parts:
        energy = energy + field * s
    if "interaction" in energy_parts and n >= 2:
        casimir = jnp.asarray(4 * j * (j + 1), g.dtype)
        energy = energy - 0.5 * g * ((1 - alpha) * s**2 + alpha * casimir - n * (1 + 2 * alpha))
    return jnp.min(energy)


def symmetric_applies(model) -> bool:
    """True when the model is permutation-symmetric, so the symmetric method is exact for it."""
    try:
        symmetric_battery(model)
    except _checks.ArgumentError:
        return False
    return True
