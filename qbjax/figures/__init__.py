"""Reproductions of published figures: one function per figure, each writing a PNG and its data.

`qbjax reproduce NAME --out DIR` runs them; `experiments/` holds thin runnable wrappers.
"""

from .le2018 import FIGURES as FIGURES
