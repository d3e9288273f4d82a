"""No compiled program embeds a state-sized constant. A 2^N array built in NumPy (a start
vector, an index or sign table) enters a program as a constant; XLA then folds every
operation on it while compiling, in time and memory that grow with 2^N (39 s at N = 24,
issue 21). States, diagonals and tables are built inside the programs from the index
bits and from small inputs instead. The default run checks the three engines' charges
(the Krylov one holds the Lanczos start: the old 8 KiB constant at N = 9); -m slow adds
sweeps and a ground-state start."""

import re
import subprocess
import sys

import numpy as np
import pytest

# bytes of one element, by HLO and StableHLO element type
_ITEM_BYTES = {"pred": 1, "i1": 1, "s8": 1, "u8": 1, "s16": 2, "f16": 2, "bf16": 2, "s32": 4, "u32": 4}
_ITEM_BYTES |= {"i32": 4, "ui32": 4, "f32": 4, "s64": 8, "u64": 8, "i64": 8, "ui64": 8, "f64": 8}
_ITEM_BYTES |= {"c64": 8, "complex<f32>": 8, "c128": 16, "complex<f64>": 16}
LIMIT = 4096  # bytes: a state at N = 9 is 8 KiB

CHARGES = """
import jax
jax.config.update("jax_enable_x64", True)
from qbjax.app.cli import main  # the CLI's stored programs (program_cache): the caches are on
from qbjax.app.report import charge_report
model = dict(n=9, coupling="nn", g=1.0, p=1.0, alpha=0.3, dm=0.7, field=1.0, omega=4.0,
             protocol="replace", periodic=False, dm_axis="z", initial="down")
for method in ("krylov", "dense"):
    charge_report(model, 0.5, times=[0.1, 0.3], method=method)
main(["charge", "--n", "9", "--alpha", "0.3", "--dm", "0.7", "--method", "chebyshev", "--json"])
"""
SWEEPS_AND_STARTS = """
import jax
jax.config.update("jax_enable_x64", True)
import numpy as np
import pytest
from qbjax.app.report import charge_report
from qbjax.tasks.sweep import sweep
model = dict(n=9, coupling="nn", g=1.0, p=1.0, alpha=0.3, dm=0.7, field=1.0, omega=4.0,
             protocol="replace", periodic=False, dm_axis="z", initial="ground")
charge_report(model, 0.5, times=[0.1, 0.3], method="chebyshev")
for method in ("chebyshev", "dense"):
    sweep({"n": 6, "dm": 0.4}, {"alpha": np.linspace(-1, 1, 4)}, method=method, progress=False)
"""


def constant_sizes(text: str) -> list[int]:
    """Bytes of each constant in HLO text (`%c = f64[4,2]{1,0} constant(...)`) or StableHLO
    text (`stablehlo.constant dense<...> : tensor<4x2xf64>`)."""
    sizes = []
    for line in text.splitlines():
        if "stablehlo.constant" in line:
            match = re.search(r"tensor<((?:\d+x)*)(complex<f\d+>|\w+)>", line)
            dims, kind = match.group(1).rstrip("x"), match.group(2)
            shape = [int(x) for x in dims.split("x") if x]
        elif " constant(" in line:
            match = re.search(r"= (\w+)\[([\d,]*)\]", line)
            if match is None:
                continue
            kind, shape = match.group(1), [int(x) for x in match.group(2).split(",") if x]
        else:
            continue
        sizes.append(int(np.prod(shape, dtype=np.int64)) * _ITEM_BYTES.get(kind, 16))
    return sizes


def test_constant_sizes_are_read_from_both_texts():
    hlo = "  %constant.48 = c128[4,4]{1,0} constant({...})\n  %x = f64[] parameter(0)"
    mlir = "    %cst = stablehlo.constant dense<0.0> : tensor<1024xcomplex<f64>>"
    assert constant_sizes(hlo) == [256] and constant_sizes(mlir) == [16384]


@pytest.mark.parametrize(
    "script", [CHARGES, pytest.param(SWEEPS_AND_STARTS, marks=pytest.mark.slow)], ids=["charges", "sweeps"]
)
def test_no_compiled_program_embeds_a_state_sized_constant(script, tmp_path, user_env):
    dump = tmp_path / "xla"
    env = {**user_env, "XLA_FLAGS": f"--xla_dump_to={dump} --xla_dump_hlo_as_text"}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    programs = sorted(dump.glob("*after_optimizations.txt"))
    assert len(programs) > 5
    largest = {path.name: max(constant_sizes(path.read_text()), default=0) for path in programs}
    too_large = {name: size for name, size in largest.items() if size > LIMIT}
    assert not too_large, too_large


SINGLE = """
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
from qbjax import Chebyshev, Dense, Krylov, SpinChain, charge
from qbjax.app.cli import main
from qbjax.tasks.sweep import sweep
chain = SpinChain(6, alpha=0.3, dm=0.7, omega=4.0)
for engine in (Dense(), Chebyshev(bounds=(-30.0, 30.0)), Krylov(spectral_width=60.0)):
    engine = engine.with_precision("single")
    charge(chain, 0.5, times=[0.1, 0.3], method=engine)
    jax.grad(lambda dm: charge(chain.replace(dm=dm), 0.5, method=engine).max_power)(0.7)
axes = {"alpha": np.linspace(-1, 1, 4)}
sweep({"n": 6, "dm": 0.4}, axes, method="chebyshev", precision="single", progress=False)
main(["charge", "--n", "6", "--precision", "single", "--method", "chebyshev", "--json"])
"""


def low_precision_products(text: str) -> list[str]:
    """The dots in HLO text on float32 or complex64 operands that do not ask for the highest
    precision (`operand_precision={highest,highest}`)."""
    single_dot = re.compile(r"= (f32|c64)\[[\d,]*\](\{[\d,]*\})? dot\(")
    dots = [line for line in text.splitlines() if single_dot.search(line)]
    return [line.strip()[:160] for line in dots if "operand_precision={highest,highest}" not in line]


def test_low_precision_products_are_found_in_hlo_text():
    dims = "lhs_contracting_dims={1}, rhs_contracting_dims={0}"
    highest = "operand_precision={highest,highest}"
    text = (
        f"  %dot.3 = c64[4]{{0}} dot(c64[4,4]{{1,0}} %a, c64[4]{{0}} %b), {dims}\n"
        f"  %dot.4 = f32[4]{{0}} dot(f32[4,4]{{1,0}} %a, f32[4]{{0}} %b), {dims}, {highest}\n"
        f"  %dot.5 = f64[4]{{0}} dot(f64[4,4]{{1,0}} %a, f64[4]{{0}} %b), {dims}"
    )
    assert [line.split()[0] for line in low_precision_products(text)] == ["%dot.3"]


def test_single_precision_products_run_at_full_precision(tmp_path, user_env):
    """On NVIDIA GPUs a float32 product at JAX's default precision runs in TF32 (10-bit
    mantissa): single-precision P_max lost 1e-4 relative on an H200 (issue 24). Every dot
    of a single-precision program, the CLI's stored ones included, asks for the highest."""
    dump = tmp_path / "xla"
    env = {**user_env, "XLA_FLAGS": f"--xla_dump_to={dump} --xla_dump_hlo_as_text"}
    run = subprocess.run([sys.executable, "-c", SINGLE], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    programs = sorted(dump.glob("*before_optimizations.txt"))
    single = {path.name: path.read_text() for path in programs}
    single = {name: text for name, text in single.items() if re.search(r"(f32|c64)\[[\d,]*\]", text)}
    assert len(single) > 5
    checked = sum(text.count(" dot(") for text in single.values())
    assert checked > 10
    low = {name: found for name, text in single.items() if (found := low_precision_products(text))}
    assert not low, low
