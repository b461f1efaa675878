"""Set-up shared by ``scripts/run.py`` and ``scripts/test.py``: only ``python3`` is assumed.

Finds uv (or installs the pinned version into ``.tools/uv``), then installs the locked
dependencies into ``.venv`` with ``uv sync --locked``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
UV_VERSION = "0.13.9"
TOOLS = ROOT / ".tools" / "uv"
BIN = "Scripts" if os.name == "nt" else "bin"


def say(message: str) -> None:
    print(f"[chatkit-desk setup] {message}", file=sys.stderr, flush=True)


def find_uv() -> str:
    local = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if local.exists():
        return str(local)
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    say(f"uv not found; installing uv {UV_VERSION} into {TOOLS.relative_to(ROOT)}")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS)], check=True)
    except subprocess.CalledProcessError:
        sys.exit(
            "Could not create a virtual environment: install Python's venv module "
            "(on Debian/Ubuntu: apt install python3-venv) and try again."
        )
    subprocess.run(
        [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet", f"uv=={UV_VERSION}"],
        check=True,
    )
    return str(local)


def sync(*extra: str) -> Path:
    """Install exactly what ``uv.lock`` says; return the project's Python."""
    uv = find_uv()
    # Bytecode is compiled at install: otherwise every start compiles the SDKs anew where
    # PYTHONDONTWRITEBYTECODE is set (CI, containers), seconds per start.
    command = [uv, "sync", "--locked", "--quiet", "--compile-bytecode", *extra]
    subprocess.run(command, cwd=ROOT, check=True)
    return ROOT / ".venv" / BIN / ("python.exe" if os.name == "nt" else "python")
