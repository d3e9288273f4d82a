"""Hostile but ordinary input to every subcommand: a bad value of one flag exits 2 with one
line naming that flag, at once (before any computation), never a traceback, a hang or NaN
in the JSON (issue 23). Hypothesis draws the command, the flag and the value from the
table below with a fixed seed; every value in it is outside the flag's allowed range."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qbjax.app.cli import main

HUGE = ["1e13", "-1e300", "1e308", "nan", "inf", "-inf"]
TIMES = ["0", "-1", "nan", "inf", "5e-324", "1e300"]
COUNTS = ["0", "-5", "x", "1.5"]

# command, its required arguments, flag -> values outside its range
CASES = {
    "charge": (
        ["--n", "4"],
        {
            "--n": [*COUNTS, "10000"],
            "--g": HUGE,
            "--alpha": HUGE,
            "--dm": HUGE,
            "--field": HUGE,
            "--omega": HUGE,
            "--t-max": TIMES,
            "--times": ["-1", "nan", "1e300", "0.3,0.1"],
            "--n-grid": COUNTS,
            "--memory": ["0", "-1GiB", "lots"],
            "--precision": ["half"],
            "--method": ["magic"],
        },
    ),
    "sweep": (
        ["--n", "3", "--alpha=-1:1:3", "--no-plot"],
        {
            "--dm": ["0:1:1000000000", "0:1:0", "nan", "1e300"],
            "--t-max": ["0", "-1", "5e-324", "1e300"],
            "--chunk": COUNTS,
            "--out": [""],
            "--g": HUGE,
            "--zip --dm": ["0,0.5"],  # zipped with --alpha's 3 values
        },
    ),
    "optimize": (
        ["--n", "3", "--vary", "alpha=-1:1", "--steps", "2"],
        {
            "--starts": [*COUNTS, "1000000000"],
            "--seed": ["-1", "x"],
            "--steps": COUNTS,
            "--g": HUGE,
            "--alpha": ["5"],  # fixed while --vary alpha=-1:1 varies it
        },
    ),
    "control": (
        ["--n", "2", "--t", "0.5", "--omega-max", "4", "--steps", "2"],
        {
            "--segments": [*COUNTS, "100000000"],
            "--starts": [*COUNTS, "1000000000"],
            "--seed": ["-1"],
            "--omega-max": ["0", "-1", "nan"],
            "--plot": [""],
        },
    ),
    "reproduce": (
        ["le2018-fig4"],
        {"--n-max": ["0", "40", "1000000000"], "--points": ["1", "1000000000"], "--out": [""]},
    ),
    "resources": (
        [],
        {
            "--j1": HUGE,
            "--omega-b": HUGE,
            "--t-max": ["0", "-1", "nan", "1e300"],
            "--n-times": ["1", "10000000000"],
        },
    ),
    "thermal": ([], {"--omega-a": ["0", "-1", *HUGE], "--g": HUGE, "--tau": ["0", "-1", "1e300"]}),
    "bench": (
        ["--smoke"],
        {"--n": ["0", "40", "x"], "--engines": ["foo"], "--batch": ["0"], "--repeats": ["0"]},
    ),
    "demo": ([], {"--out": [""]}),
}
DRAWS = [
    (command, flag, value)
    for command, (_, flags) in CASES.items()
    for flag, values in flags.items()
    for value in values
]


def _refused(command: str, flag: str, value: str, tmp_path, capsys) -> None:
    required, _ = CASES.get(command, ([], {}))
    out = ["--out", str(tmp_path / "out")] if command in ("sweep", "reproduce", "bench", "demo") else []
    *switches, flag = flag.split()  # "--zip --dm": a switch, then the flag refused
    argv = [command, *required, *out, *switches, f"{flag}={value}"]  # '=' keeps '-1' a value
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse's own refusals (a value of the wrong type)
        code = exit.code
    assert code == 2, argv
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, (argv, err)
    assert f"argument {flag}" in err[0], (argv, err[0])


@pytest.mark.parametrize(("command", "flag", "value"), DRAWS, ids=[" ".join(draw) for draw in DRAWS])
def test_a_bad_value_exits_2_naming_its_flag(command, flag, value, tmp_path, capsys):
    _refused(command, flag, value, tmp_path, capsys)


OUT_OF_RANGE = st.one_of(
    st.floats(min_value=1.0001e12, allow_infinity=True),
    st.floats(max_value=-1.0001e12, allow_infinity=True),
    st.just(float("nan")),
)
ENERGY_FLAGS = ["--g", "--alpha", "--dm", "--field", "--omega"]


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(flag=st.sampled_from(ENERGY_FLAGS), value=OUT_OF_RANGE)
def test_random_couplings_out_of_range_are_refused(flag, value, tmp_path, capsys):
    _refused("charge", flag, repr(value), tmp_path, capsys)


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    t=st.one_of(st.floats(min_value=5e-324, max_value=1e-9), st.floats(min_value=1e8, allow_infinity=False))
)
def test_random_windows_outside_the_resolvable_phase_are_refused(t, tmp_path, capsys):
    # N = 4 at the defaults: sum |c_k| is about 20, so t_max in about [5e-8, 5e6] is allowed
    _refused("charge", "--t-max", repr(t), tmp_path, capsys)


def test_json_reports_hold_null_and_a_note_where_a_value_is_undefined():
    from qbjax.app.commands._common import finite_report

    nan, inf = float("nan"), float("inf")
    cleaned = finite_report({"qsl_bound": inf, "series": [1.0, nan], "inner": {"x": 2.0}, "notes": ["kept"]})
    assert cleaned["qsl_bound"] is None and cleaned["series"] == [1.0, None]
    assert cleaned["inner"] == {"x": 2.0}
    assert cleaned["notes"][0] == "kept" and len(cleaned["notes"]) == 3
    assert "qsl_bound is undefined here (inf)" in cleaned["notes"][1]
