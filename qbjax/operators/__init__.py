"""Operators: Pauli sums (static structure x traced coefficients), the matrix-free H @ psi,
and rigorous bounds on their spectra. Imports nothing of qbjax but `_checks` and `precision`."""
