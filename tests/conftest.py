"""Test configuration: float64 everywhere and strict dtype promotion (no silent casts);
`user_cli`, which runs the `qbjax` command as a user's shell does."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import jax
import pytest

# In this process the CLI's caches stay off: `main(...)` called from a test would otherwise
# point the worker's JAX cache at them and store charge programs for later tests. CLI
# subprocesses get a user's defaults instead (`user_cli`): turning the caches off for them
# hid a sweep that hung (issue 26).
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


@pytest.fixture(scope="session")
def user_env(tmp_path_factory) -> dict:
    """A user's environment: JAX's default devices (no forced device count) and the CLI's
    caches on, in a temporary folder shared by this worker's CLI runs (as one user's runs
    share ~/.cache/qbjax)."""
    env = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    env["QBJAX_CACHE_DIR"] = str(tmp_path_factory.mktemp("qbjax-user-cache"))
    return env


@pytest.fixture
def user_cli(user_env, tmp_path):
    """Run `qbjax ARGS...` in a subprocess with a user's defaults, in `tmp_path`; returns the
    CompletedProcess (text output), after checking the exit status (0 unless `status`)."""

    def run(*args: str, status: int = 0, timeout: float = 300.0) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "qbjax", *args],
            cwd=tmp_path,
            env=user_env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == status, done.stderr[-3000:]
        return done

    return run
