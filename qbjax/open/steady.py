"""Steady states of Lindblad dynamics from the null space of a dense Liouvillian.

The steady state solves L vec(rho) = 0 with Tr(rho) = 1. Because L preserves the trace,
the rows of L belonging to the diagonal entries rho_ii sum to zero, so the row of rho_00
is redundant: replacing it by the trace functional gives a square system A x = e_0 that is
non-singular exactly when the steady state is unique.

Gradients are defined by implicit differentiation (custom JVP): differentiating L x = 0,
Tr x = 1 gives A dx = -(dL x) with the trace row set to 0, solved with the same A. Reverse
mode follows by transposing this linear solve.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Complex

from .. import _checks
from ..kernels.lindblad import unvec
from ..operators.terms import complex_dtype

MAX_DIMENSION = 64  # dense solve of a d^2 x d^2 system: 4096^2 complex numbers at most


def _bordered(superop: Array) -> Array:
    d = math.isqrt(superop.shape[0])
    trace_row = jnp.eye(d, dtype=superop.dtype).T.reshape(-1)  # vec(I): Tr(X) = vec(I) . vec(X)
    return superop.at[0].set(trace_row)


@jax.custom_jvp
def _steady_vec(superop: Array) -> Array:
    rhs = jnp.zeros(superop.shape[0], superop.dtype).at[0].set(1.0)
    return jnp.linalg.solve(_bordered(superop), rhs)


@_steady_vec.defjvp
def _steady_vec_jvp(primals, tangents):
    (superop,), (d_superop,) = primals, tangents
    x = _steady_vec(superop)
    rhs = (-(d_superop @ x)).at[0].set(0.0)
    return x, jnp.linalg.solve(_bordered(superop), rhs)


def steady_state(superop: Complex[Array, "d2 d2"]) -> Complex[Array, "d d"]:
    """The unique steady state rho of the Liouvillian `superop` (column stacking).

    Args:
        superop: dense Liouvillian, shape (d^2, d^2), d <= 64, with a unique steady state.

    Returns:
        rho, shape (d, d): Hermitian (symmetrised), trace 1. Differentiable by implicit
        differentiation, forward and reverse mode.
    """
    superop = jnp.asarray(superop)
    d2 = superop.shape[-1]
    d = math.isqrt(d2)
    if superop.ndim != 2 or superop.shape[0] != d2 or d * d != d2:
        raise _checks.ArgumentError("superop", f"must be a (d^2, d^2) matrix, got shape {superop.shape}")
    if d > MAX_DIMENSION:
        raise _checks.ArgumentError("superop", f"Hilbert-space dimension must be <= {MAX_DIMENSION}, got {d}")
    if not jnp.iscomplexobj(superop):
        superop = superop.astype(complex_dtype(superop.dtype))
    rho = unvec(_steady_vec(superop))
    return 0.5 * (rho + rho.conj().T)
