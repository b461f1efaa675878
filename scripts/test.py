"""Set up (first time only) and run the whole test suite.

``python3 scripts/test.py [pytest args]``; pytest finding no tests counts as a failure.
"""

import subprocess
import sys

from _bootstrap import ROOT, say, sync

NO_TESTS_COLLECTED = 5

python = sync()
code = subprocess.call([str(python), "-m", "pytest", *sys.argv[1:]], cwd=ROOT)
if code == NO_TESTS_COLLECTED:
    say("pytest collected no tests: that is a failure, not a pass")
    sys.exit(1)
sys.exit(code)
