"""Benchmarks stay runnable: each script's --smoke mode, at a tiny size."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# by default the sweep benchmark (the speed goal); the others in the slow run
@pytest.mark.parametrize(
    "script",
    [
        pytest.param("bench_work_curve.py", marks=pytest.mark.slow),
        pytest.param("bench_dense_kernels.py", marks=pytest.mark.slow),
        pytest.param("bench_sweep.py", marks=pytest.mark.slow),  # 18 s: a benchmark, not a check
    ],
)
def test_benchmark_smoke_run(script, tmp_path):
    out = tmp_path / "result.json"
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    written = list(tmp_path.glob("*.json"))
    assert written, run.stdout
    assert json.loads(written[0].read_text())
