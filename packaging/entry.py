"""PyInstaller's entry point: the ``chatkit-desk`` command (tray, ``serve``, ``keys``, …).

One executable serves every role: with no arguments (or ``tray``) it is the tray app, and the
tray starts its server child as ``<this executable> serve …`` (see ``desktop.supervisor``).
"""

import sys

from chatkit_desk.cli import main

if __name__ == "__main__":
    sys.exit(main())
