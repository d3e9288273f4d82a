"""Test configuration: float64 everywhere and strict dtype promotion (no silent casts)."""

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
