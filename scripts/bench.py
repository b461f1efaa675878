"""Set up (first time only) and run the benchmark: ``python3 scripts/bench.py [--rounds N]``."""

import subprocess
import sys

from _bootstrap import ROOT, sync

python = sync()
sys.exit(subprocess.call([str(python), "-m", "bench.run", *sys.argv[1:]], cwd=ROOT))
