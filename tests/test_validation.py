"""Bad input: ValueError naming the argument (API) and exit status 2 with one line (CLI)."""

import math
import subprocess
import sys

import numpy as np
import pytest

import qbjax
from qbjax.app.cli import main


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"n": 0}, "n"),
        ({"n": 2.5}, "n"),
        ({"n": 4, "coupling": "xy"}, "coupling"),
        ({"n": 4, "protocol": "swap"}, "protocol"),
        ({"n": 4, "alpha": math.nan}, "alpha"),
        ({"n": 4, "dm": math.inf}, "dm"),
        ({"n": 4, "g": math.nan}, "g"),
        ({"n": 4, "p": -0.5}, "p"),
        ({"n": 4, "field": math.nan}, "field"),
        ({"n": 4, "omega": -math.inf}, "omega"),
        ({"n": 4, "dm": [1.0, 2.0]}, "dm"),
        ({"n": 4, "field": [1.0, 2.0]}, "field"),
    ],
)
def test_model_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument}: "):
        qbjax.spin_chain_battery(**kwargs)


@pytest.mark.parametrize(
    ("t_max", "times", "argument"),
    [
        (0.0, None, "t_max"),
        (-1.0, None, "t_max"),
        (math.nan, None, "t_max"),
        (1.0, [0.1, -0.2], "times"),
        (1.0, [0.3, 0.1], "times"),
        (1.0, [0.1, math.nan], "times"),
        (1.0, [], "times"),
    ],
)
def test_charge_arguments(t_max, times, argument):
    battery = qbjax.spin_chain_battery(2)
    with pytest.raises(ValueError, match=f"^{argument}: "):
        qbjax.charge(battery, t_max, times=times)


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--n", "0"], "--n"),
        (["--n", "40"], "--n"),
        (["--alpha", "nan"], "--alpha"),
        (["--dm", "inf"], "--dm"),
        (["--t-max", "0"], "--t-max"),
        (["--t-max", "-2"], "--t-max"),
        (["--times", "0.1,-0.1"], "--times"),
        (["--times", "0.3,0.1"], "--times"),
        (["--times", "a,b"], "--times"),
        (["--coupling", "ring"], "--coupling"),
        (["--protocol", "swap"], "--protocol"),
        (["--omega", "0"], "--omega"),
        (["--p", "-1"], "--p"),
        (["--n-grid", "1"], "--n-grid"),
    ],
)
def test_cli_rejects_with_one_line_and_status_2(flags, flag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        code = main(["charge", *flags])
        raise SystemExit(code)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert flag in err and "Traceback" not in err


def test_cli_error_from_a_fresh_process_has_no_traceback():
    run = subprocess.run(
        [sys.executable, "-m", "qbjax", "charge", "--n", "100"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "--n" in run.stderr and "allowed range" in run.stderr
    assert np.all([word not in run.stderr for word in ("Traceback", "File ")])
