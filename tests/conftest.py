"""Test configuration: float64 everywhere and strict dtype promotion (no silent casts)."""

import os
import tempfile
from pathlib import Path

import jax

# The CLI's caches (compiled programs in ~/.cache/qbjax) stay off in tests: every test
# traces and compiles what it checks; tests/test_program_cache.py turns them on in a tmp dir.
os.environ.setdefault("QBJAX_CACHE_DIR", "")

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_numpy_dtype_promotion", "strict")

# JAX's compilation cache in the temporary folder, shared by the test workers (and kept for
# later runs): a program compiled by one worker is loaded by the others. Entries are keyed
# by the program and the versions, so none can be stale. QBJAX_TEST_JAX_CACHE= (empty)
# turns it off.
_JAX_CACHE = os.environ.get(
    "QBJAX_TEST_JAX_CACHE", str(Path(tempfile.gettempdir()) / "qbjax-tests-jax-cache")
)
if _JAX_CACHE:
    jax.config.update("jax_compilation_cache_dir", _JAX_CACHE)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
