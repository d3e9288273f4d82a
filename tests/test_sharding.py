"""A sweep sharded over several devices (two CPU devices forced in a fresh process) gives
the numbers of one device."""

import json
import os
import subprocess
import sys

import numpy as np

import qbjax


def test_chebyshev_sweep_over_two_devices_matches_one(tmp_path):
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "QBJAX_CACHE_DIR": ""}
    argv = ["sweep", "--n", "4", "--alpha=-1:1:4", "--method", "chebyshev", "--json", "--no-plot"]
    code = f"import sys; from qbjax.cli import main; sys.exit(main({[*argv, '--out', str(tmp_path)]!r}))"
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["devices"] == 2 and report["device"] == "cpu: 2 x cpu"
    alone = qbjax.sweep({"n": 4}, {"alpha": np.linspace(-1, 1, 4)}, method="chebyshev", progress=False)
    sharded = [point["max_power"] for point in report["points"]]
    np.testing.assert_allclose(sharded, alone.values["max_power"], rtol=1e-12)
