"""QuTiP, the independent reference of many tests, and what happens where it is missing.

It comes with the test extras (`pip install -e '.[test]'`), so a missing QuTiP is an error
that stops the run: a broken install must not pass by skipping its references. A machine
that cannot install it (the GPU image of `benchmarks/gpu_check.sh`, which reaches no package
registry) sets QBJAX_TESTS_WITHOUT_QUTIP=1; the comparisons with QuTiP are then skipped, each
under its own name, and every other test runs.

    from optional_qutip import needs_qutip, qutip  # a module with some QuTiP tests
    qutip = whole_module_needs_qutip()             # a module that is all QuTiP comparisons
"""

import os

import pytest

ALLOW_MISSING = "QBJAX_TESTS_WITHOUT_QUTIP"
_REASON = f"QuTiP is not installed, and {ALLOW_MISSING}=1 allows that"

try:
    import qutip
except ImportError as missing:
    if os.environ.get(ALLOW_MISSING) != "1":
        raise ImportError(
            "the tests compare with QuTiP, which is not installed: install the test extras "
            f"(pip install -e '.[test]'), or set {ALLOW_MISSING}=1 to skip those comparisons"
        ) from missing
    qutip = None

needs_qutip = pytest.mark.skipif(qutip is None, reason=_REASON)


def whole_module_needs_qutip():
    """QuTiP for a module whose every test compares with it; skips the module where it is
    missing and allowed to be."""
    if qutip is None:
        pytest.skip(_REASON, allow_module_level=True)
    return qutip
