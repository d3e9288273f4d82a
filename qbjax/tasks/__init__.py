"""The jobs a user runs on top of the engines: `charge` (and its `maxima` rule), `sweep`
(with `sweep_store`), `optimize`, `control` (piecewise-constant `pulses`), the two-qubit
`charger`, and the double-precision spot check of single-precision runs."""
