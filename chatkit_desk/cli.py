"""``chatkit-desk``: the headless commands of ``backend.cli``, plus ``tray`` and the default.

With no command it is the tray app where there is a display, else the headless server.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from backend import cli as headless


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _tray(args: argparse.Namespace) -> int:
    from desktop.app import run_tray  # Qt is loaded only for the tray

    return run_tray(args.data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    headless.configure_logging()
    parser, commands = headless.build_parser(
        "Run a ChatKit backend on your own computer. Without a command: the tray app, or the "
        "headless server when there is no display."
    )
    tray = commands.add_parser("tray", help="run the tray app (even without a display)")
    tray.add_argument("--data-dir", help="where the database, settings and logs live")
    args = parser.parse_args(argv)
    if args.command is None:
        if has_display():
            args = parser.parse_args(["tray"])
        else:
            print("chatkit-desk: no display found; running the headless server.", file=sys.stderr)
            args = parser.parse_args(["serve"])
    handlers = {**headless.HANDLERS, "tray": _tray}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
