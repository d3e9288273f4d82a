"""Le et al. 2018, fig. 2: thin wrapper, the same as `qbjax reproduce le2018-fig2`.

    python experiments/le2018_fig2.py [--out experiments/out] [--points K] [--n-max N]

Writes le2018_fig2/le2018_fig2.png and le2018_fig2.json under --out.
"""

import sys

from qbjax.app.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", "le2018-fig2", *(sys.argv[1:] or ["--out", "experiments/out"])]))
