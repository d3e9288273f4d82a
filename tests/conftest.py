"""Test configuration: float64 everywhere and strict dtype promotion (no silent casts)."""

import os

import jax

# The CLI's caches (compiled programs in ~/.cache/qbjax) stay off in tests: every test
# traces and compiles what it checks; tests/test_program_cache.py turns them on in a tmp dir.
os.environ.setdefault("QBJAX_CACHE_DIR", "")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")
