"""Build the one-folder app bundle from build.spec: ``python packaging/build_bundle.py``.

Run it with the project's Python (``.venv/bin/python``, ``.venv\\Scripts\\python`` on Windows),
where ``uv sync`` has installed the locked dependencies and PyInstaller (dev group). The result
is ``dist/chatkit-desk/`` (plus ``dist/ChatKit Desk.app`` on macOS); its size is printed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
BUNDLE = DIST / "chatkit-desk"


def tree_bytes(path: Path) -> int:
    """Bytes on disk of a tree (allocated blocks where the OS says, else file sizes)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            stat = (Path(dirpath) / name).lstat()
            blocks = getattr(stat, "st_blocks", None)
            total += blocks * 512 if blocks is not None else stat.st_size
    return total


def build(clean: bool = True) -> Path:
    command = [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN"]
    if clean:
        command.append("--clean")
    command += [
        "--distpath",
        str(DIST),
        "--workpath",
        str(ROOT / "build"),
        str(ROOT / "build.spec"),
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True)
    print(
        f"built {BUNDLE.relative_to(ROOT)}/ in {time.monotonic() - started:.0f} s: "
        f"{tree_bytes(BUNDLE) / 1e6:.1f} MB on disk"
    )
    return BUNDLE


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-clean", action="store_true", help="reuse PyInstaller's cache")
    args = parser.parse_args()
    build(clean=not args.no_clean)
    return 0


if __name__ == "__main__":
    sys.exit(main())
