"""Floating-point precision of a computation: "double" (complex128, the default) or "single".

Single precision (complex64 states, float32 coefficients) halves the memory of every
state vector and matrix and, on GPUs, multiplies the arithmetic rate; its rounding error
is about 1e-7 relative per operation instead of 1e-16. An engine that supports it
(dense, Chebyshev, Krylov) runs everything that touches a state in complex64: the
battery's coefficients are cast to float32 once (`Battery.in_precision`), so operators, states,
decompositions and Gram matrices are all single. Its curve is seen through `CastCurve`
(`engines.base`), so the maxima search around it keeps the caller's float64 times.

qbjax itself runs in float64 (`jax_enable_x64`), so single precision is always asked for
explicitly: `precision="single"` or an engine with `dtype=jnp.complex64`.

Every matrix product in qbjax names its precision (`matmul`, `vdot`: the full precision
of its operands): on NVIDIA GPUs JAX's default runs float32 products in TF32, a 10-bit
mantissa, which cost single-precision P_max 1e-4 relative on an H200 against 2e-8 on the
CPU (issue 24). Named at each product, it holds in every context (jit, grad, a custom
rule traced late), where a `jax.default_matmul_precision` scope would not.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks

PRECISIONS = ("double", "single")
_COMPLEX = {"double": np.dtype(np.complex128), "single": np.dtype(np.complex64)}
_REAL = {"double": np.dtype(np.float64), "single": np.dtype(np.float32)}


HIGHEST = jax.lax.Precision.HIGHEST


def real_of(cdtype) -> np.dtype:
    """float64 for complex128, float32 for complex64."""
    return np.dtype(np.float64 if np.dtype(cdtype) == np.complex128 else np.float32)


def scaled(x, s):
    """x * s for complex x and a real s, under strict dtype promotion (s cast to x's dtype)."""
    return x * jnp.asarray(s).astype(x.dtype)


def matmul(a, b):
    """a @ b at the full precision of its operands (TF32 would round float32 to 10 bits)."""
    return jnp.matmul(a, b, precision=HIGHEST)


def vdot(a, b):
    """jnp.vdot(a, b) at the full precision of its operands."""
    return jnp.vdot(a, b, precision=HIGHEST)


def check(precision: str) -> str:
    """A precision name, or ArgumentError("precision")."""
    return _checks.one_of("precision", precision, PRECISIONS)


def complex_dtype(precision: str) -> np.dtype:
    return _COMPLEX[check(precision)]


def real_dtype(precision: str) -> np.dtype:
    return _REAL[check(precision)]


def of_dtype(dtype) -> str:
    """The precision name of a complex (or real) dtype; None (JAX's default) is double."""
    if dtype is None:
        return "double"
    return "single" if np.finfo(np.dtype(dtype)).bits <= 32 else "double"


def epsilon(precision: str) -> float:
    """Machine epsilon of the precision's real dtype (1.2e-7 single, 2.2e-16 double)."""
    return float(np.finfo(real_dtype(precision)).eps)
