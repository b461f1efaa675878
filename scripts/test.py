"""Set up (first time only) and run the whole test suite.

``python3 scripts/test.py [pytest args]``; pytest finding no tests counts as a failure. The
end-to-end tests drive real programs the system provides (``.ci/run`` installs them on Debian):
a missing one is named, with the command that installs it, before the run starts.
"""

import glob
import shutil
import subprocess
import sys

from _bootstrap import ROOT, say, sync

NO_TESTS_COLLECTED = 5
SYSTEM_PROGRAMS = {
    "chromium": lambda: shutil.which("chromium"),  # the chat page's tests (Playwright)
    "postgresql": lambda: glob.glob("/usr/lib/postgresql/*/bin/initdb"),  # team mode's store
    "haproxy": lambda: shutil.which("haproxy"),  # team mode behind a load balancer
}

missing = [package for package, found in SYSTEM_PROGRAMS.items() if not found()]
if missing:
    say(
        f"the end-to-end tests need {', '.join(missing)}, which this machine lacks: on "
        f"Debian/Ubuntu, sudo apt-get install {' '.join(missing)} (.ci/run lists all it installs)"
    )
python = sync()
code = subprocess.call([str(python), "-m", "pytest", *sys.argv[1:]], cwd=ROOT)
if code == NO_TESTS_COLLECTED:
    say("pytest collected no tests: that is a failure, not a pass")
    sys.exit(1)
sys.exit(code)
