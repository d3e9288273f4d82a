"""A sweep sharded over several devices (two CPU devices forced in a fresh process) gives
the numbers of one device; Krylov chunks stay on one CPU device (they call LAPACK)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import qbjax

SCRIPT = """
import json, sys
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np, qbjax
out = {}
for method in ("chebyshev", "krylov"):
    r = qbjax.sweep({"n": 4}, {"alpha": np.linspace(-1, 1, 4)}, method=method, progress=False)
    out[method] = {"device": r.device, "devices": r.devices, "max_power": r.values["max_power"].tolist()}
print(json.dumps(out))
"""


# slow: a fresh process compiles two sharded engines (~25 s); test_sweep.py covers sharded
# sweeps over 4 forced CPU devices and over every core in the default run
@pytest.mark.slow
def test_sweeps_over_two_devices_match_one():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "QBJAX_CACHE_DIR": ""}
    run = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["chebyshev"]["device"] == "cpu: 2 x cpu" and report["chebyshev"]["devices"] == 2
    assert report["krylov"]["device"] == "cpu: 1 x cpu"
    for method in ("chebyshev", "krylov"):
        alone = qbjax.sweep({"n": 4}, {"alpha": np.linspace(-1, 1, 4)}, method=method, progress=False)
        np.testing.assert_allclose(report[method]["max_power"], alone.values["max_power"], rtol=1e-10)
