"""Memory estimates against what XLA allocates: one point of a vmapped sweep chunk; the
gradient of P_max through each engine's plans (all vectors kept and streamed), as `optimize`
takes it; through a pulse, as `control` takes it; and a Krylov window's evaluation. An
estimate below XLA's figure lets a run that cannot fit start and crash; the checks also hold
it within a few times XLA's figure, so that it refuses nothing that fits.

Before the products were recomputed in reverse mode, an N = 16 Chebyshev gradient held
3.3 GB against an estimate of 0.4 GB, a streamed N = 14 plan 130 times its estimate, and an
N = 12 pulse of 16 Chebyshev segments 6.5 times its estimate. A Krylov sweep's point held
2.4 times the estimate of one charge, which the default chunk took as its size."""

import jax
import jax.numpy as jnp
import pytest

from qbjax import SpinChain
from qbjax.app import bench
from qbjax.engines import engine_class
from qbjax.engines.base import spectrum_over
from qbjax.tasks import pulses
from qbjax.tasks.charge import grid_points

T_MAX = bench.T_MAX  # the bench chain's window (`bench.chain`: alpha = D = 0.5, omega = 4)
SLOW = pytest.mark.slow  # the default run keeps one case of each kind
# XLA:GPU adds scratch of fixed size to programs with matrix products (a cuBLAS workspace: 44 MB
# in all at N = 12 on an H200, tests/test_chebyshev.py), which these small sizes would show
SCRATCH = 0 if jax.default_backend() == "cpu" else 48 * 2**20


def budget(n: int, precision: str, states: int | None) -> int | None:
    """A budget of `states` states in bytes (None: the engine's default)."""
    return None if states is None else states * 2**n * (16 if precision == "double" else 8)


@pytest.mark.parametrize(
    ("name", "n", "precision", "states"),
    [
        ("chebyshev", 10, "double", None),  # every vector kept
        ("chebyshev", 12, "double", 70),  # streamed in one pass: a block of all 48 vectors
        ("chebyshev", 10, "single", 12),  # streamed, a block of 1
        pytest.param("chebyshev", 11, "double", 24, marks=SLOW),  # a block of 13
        ("krylov", 10, "double", None),
        pytest.param("krylov", 10, "single", 20, marks=SLOW),  # a small basis
        ("dense", 6, "double", None),
        pytest.param("chebyshev", 12, "single", None, marks=SLOW),
        pytest.param("chebyshev", 13, "double", 16, marks=SLOW),
        pytest.param("krylov", 13, "double", None, marks=SLOW),
    ],
)
def test_gradient_estimate_covers_what_xla_allocates(name, n, precision, states):
    memory = budget(n, precision, states)
    model = bench.chain(n)
    engine = bench.planned_engine(name, precision, model, traced=True, memory=memory)
    if name == "chebyshev":  # the plan the case asks for
        assert (engine.block is None) == (states is None)
    estimate = engine.gradient_memory_bytes(model)
    (allocated,) = bench.stage_bytes(bench.grad_pipeline(name, n, precision, memory))
    assert allocated <= estimate + SCRATCH and estimate <= 4 * allocated, (estimate / allocated, engine)


def test_gradients_keep_every_vector_where_that_costs_less():
    """At N = 18 the default budget (64 states) streams a segment in one block of all its
    vectors; reverse mode would then keep that block at every order. `optimize` plans its
    gradients with every vector kept instead: less memory, and no rerun passes."""
    model = bench.chain(18)
    engine = engine_class("chebyshev")()
    forward = engine.plan(model, T_MAX, spectrum=spectrum_over([model]))
    gradient = engine.plan_for_gradient(model, T_MAX, spectrum=spectrum_over([model]))
    assert forward.block is not None and gradient.block is None
    assert gradient.gradient_memory_bytes(model) < forward.gradient_memory_bytes(model) / 2
    # an explicit budget stands
    budgeted = engine.with_memory(64 * 16 * 2**18)
    assert budgeted.plan_for_gradient(model, T_MAX, spectrum=spectrum_over([model])).block is not None


@pytest.mark.parametrize(
    ("name", "n"),
    [pytest.param("chebyshev", 12, marks=SLOW), ("krylov", 12), ("dense", 7)],
)
def test_sweep_point_estimate_covers_what_xla_allocates(name, n):
    """Per point of a chunk: the growth of XLA's figure from 4 to 8 points, by stage."""

    def stages(batch):
        return bench.stage_bytes(bench.sweep_pipeline(name, n, "double", batch, "cpu"))

    per_point = max((b - a) / 4 for a, b in zip(stages(4), stages(8), strict=True))
    estimate = bench.sweep_plan(name, n, "double", 8, "cpu").engine.batch_memory_bytes(SpinChain(n))
    assert per_point <= estimate <= 4 * per_point, estimate / per_point


def test_krylov_window_is_evaluated_a_few_times_at_once():
    """The window's maximum gathers each time's m x m block matrices: a batch of times at
    once keeps it to about a megabyte (all 416 of this grid held 31 MB per point, 8 GB in a
    256-point sweep at N = 8)."""
    model = bench.chain(8)
    assert grid_points(bench.planned_engine("krylov", "double", model), model, None, T_MAX, None) >= 400
    _, figures = bench.stage_bytes(bench.pmax_pipeline("krylov", 8, "double"))
    assert figures < 4 * 2**20 + SCRATCH


@pytest.mark.parametrize(
    ("n", "segments", "method"),
    [(6, 4, "dense"), (10, 8, "chebyshev"), pytest.param(9, 32, "chebyshev", marks=SLOW)],
)
def test_pulse_gradient_estimate_covers_what_xla_allocates(n, segments, method):
    """`qbjax control`'s check: reverse mode through a pulse of `segments` segments."""
    battery = pulses.pulsed_battery(SpinChain(n, g=1.5, alpha=0.5), 1)
    prop = pulses.propagator(battery, 1.0, 2.0 / segments, method)

    def power(amplitudes):
        return pulses.work(battery, prop, amplitudes[:, None], 2.0) / 2.0

    allocated = bench.xla_bytes(jax.jit(jax.grad(power)).lower(jnp.full(segments, 0.3)).compile())
    estimate = prop.gradient_bytes(n, segments)
    assert allocated <= estimate + SCRATCH and estimate <= 4 * allocated, estimate / allocated
