"""Set up (first time only) and run ChatKit Desk: ``python3 scripts/run.py [chatkit-desk args]``.

With no arguments it opens the tray app, or runs the headless server when there is no display.
"""

import subprocess
import sys

from _bootstrap import ROOT, sync

python = sync("--no-dev", "--inexact")
try:
    sys.exit(subprocess.call([str(python), "-m", "chatkit_desk", *sys.argv[1:]], cwd=ROOT))
except KeyboardInterrupt:
    sys.exit(130)
