"""DM-chain study (seed 000): thin wrapper, the same as `qbjax reproduce dm-chain`.

    python experiments/dm_chain.py [--out experiments/out] [--points K] [--n-max N]

Writes dm_chain/dm_chain.png, dm_chain_resources.png and dm_chain.json under --out.
"""

import sys

from qbjax.app.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", "dm-chain", *(sys.argv[1:] or ["--out", "experiments/out"])]))
