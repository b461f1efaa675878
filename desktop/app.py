"""The tray app's entry point (``chatkit-desk tray``)."""

from __future__ import annotations

import sys


def run_tray(data_dir: str | None = None) -> int:
    print(
        "chatkit-desk: the tray app is being built; run `chatkit-desk serve` meanwhile.",
        file=sys.stderr,
    )
    return 1
