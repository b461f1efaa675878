"""The layers point one way: what DESIGN.md promises about imports, checked in the source and in a
fresh interpreter (in this test process other tests have long since imported everything)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "backend"


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Every module each source file of ``package`` imports, wherever the import statement is."""
    found: dict[str, set[str]] = {}
    for source in package.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(source.relative_to(ROOT))] = names
    return found


def offenders(package: Path, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    return {
        source: sorted(n for n in names if n.split(".")[0] in forbidden or n in forbidden)
        for source, names in imported_modules(package).items()
        if any(n.split(".")[0] in forbidden or n in forbidden for n in names)
    }


def test_backend_never_imports_qt_or_the_tray() -> None:
    assert offenders(BACKEND, ("desktop", "PySide6", "shiboken6", "chatkit_desk")) == {}


def test_the_store_does_not_import_the_chat_layer() -> None:
    assert offenders(BACKEND / "store", ("backend.chat", "backend.web")) == {}


def test_attachments_do_not_import_the_chat_or_web_layers() -> None:
    assert offenders(BACKEND / "attachments", ("backend.chat", "backend.web")) == {}


def test_the_chat_layer_does_not_import_the_web_layer() -> None:
    assert offenders(BACKEND / "chat", ("backend.web", "backend.serve", "backend.cli")) == {}


PROBE = """
import gc, json, sys, pkgutil, importlib
from openai._utils import _transform
library_transform = _transform.async_transform
threshold = gc.get_threshold()
import backend
for module in pkgutil.walk_packages(backend.__path__, "backend."):
    if module.name != "backend.__main__":
        importlib.import_module(module.name)
from pathlib import Path
from backend.chat.providers import ProviderRegistry
from backend.secrets import KeyCache
from backend.settings import LiveSettings
from backend.store.database import open_database
from backend.store.storage import SQLiteStorage
from backend.tokens import TokenAuthority
from backend.web.app import create_app
live = LiveSettings(sys.argv[1])
keys = KeyCache(Path(sys.argv[1]))
storage = SQLiteStorage(open_database(Path(sys.argv[1]) / "db.sqlite3"))
create_app(live, TokenAuthority("s" * 64), keys, ProviderRegistry(keys), storage)
print(json.dumps({
    "qt_or_tray": sorted(m for m in sys.modules if m.split(".")[0] in (
        "PySide6", "shiboken6", "desktop", "chatkit_desk")),
    "loaded_on_demand": sorted(m for m in ("PIL", "asyncpg") if m in sys.modules),
    "transform_patched": _transform.async_transform is not library_transform,
    "gc_changed": gc.get_threshold() != threshold or gc.get_freeze_count() != 0,
}))
"""


def test_importing_backend_and_building_the_app_change_nothing_process_wide(
    tmp_path: Path,
) -> None:
    """Qt stays out of the server, Pillow and asyncpg wait until they are needed, and the
    process's tuning is serve's alone: importing every backend module and building the app
    neither patches openai nor retunes the collector."""
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(answer.stdout.splitlines()[-1])
    assert result == {
        "qt_or_tray": [],
        "loaded_on_demand": [],  # Pillow by the first image, asyncpg by team mode only
        "transform_patched": False,
        "gc_changed": False,
    }
