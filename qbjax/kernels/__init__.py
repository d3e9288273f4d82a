"""Kernels: functions of a Pauli sum, a state and numbers (propagators, ground states,
Lindblad solvers). They know no model, engine or curve; `qbjax.engines` builds on them."""
