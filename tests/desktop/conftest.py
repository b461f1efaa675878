"""Fixtures for the tray app: offscreen Qt, a tray environment, a data dir, a supervised server.

The tray process here is the test process; the server it supervises is a real
``python -m backend serve`` child talking to the fake upstream, with the test keyring in a file.
"""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before Qt is imported, or Qt aborts without a display

import json
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from pytestqt.qtbot import QtBot

from desktop.app import DeskApp
from desktop.autostart import XdgAutostart
from desktop.supervisor import ServerSupervisor
from tests.desktop.helpers import OpenedUrls
from tests.support.desk_process import REPO_ROOT, TEST_JWT_SECRET, free_port
from tests.support.fake_upstream import FakeUpstream
from tests.support.keyrings import BlockingKeyring, MemoryKeyring


@pytest.fixture(autouse=True)
def tray_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, upstream: FakeUpstream
) -> dict[str, str]:
    """What the tray (and so its server child) sees: the fake upstream, test secrets, no keys.

    Models and the port are left to ``settings.json``, so that the settings window can change
    them (the environment would win over the file).
    """
    for name in list(os.environ):
        if name.startswith("CHATKIT_DESK_") or name in ("OPENAI_API_KEY", "GEMINI_API_KEY"):
            monkeypatch.delenv(name)
    values = {
        "PYTHONPATH": str(REPO_ROOT),
        "PYTHON_KEYRING_BACKEND": "tests.support.keyrings.FileKeyring",
        "CHATKIT_DESK_TEST_KEYRING": str(tmp_path / "child-keyring.json"),
        "CHATKIT_DESK_JWT_SECRET": TEST_JWT_SECRET,
        "CHATKIT_DESK_OPENAI_BASE_URL": upstream.base_url,
        "CHATKIT_DESK_GEMINI_BASE_URL": upstream.base_url,
        "CHATKIT_DESK_UPSTREAM_TIMEOUT": "3",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    settings = {"port": free_port(), "openai_model": "fake-gpt", "gemini_model": "fake-gemini"}
    (directory / "settings.json").write_text(json.dumps(settings))
    return directory


@pytest.fixture
def opened() -> OpenedUrls:
    return OpenedUrls()


@pytest.fixture
def supervisor(qtbot: QtBot, data_dir: Path) -> Iterator[ServerSupervisor]:
    watcher = ServerSupervisor(data_dir)
    yield watcher
    watcher.shutdown()


@pytest.fixture
def desk(
    qtbot: QtBot, data_dir: Path, opened: OpenedUrls, memory_keyring: MemoryKeyring
) -> Iterator[DeskApp]:
    """The whole app with a tray (offscreen has none, so it is forced), server not started."""
    app = DeskApp(
        data_dir,
        data_dir_argument=str(data_dir),
        tray_available=True,
        open_url=opened,
        login_item=XdgAutostart(),
    )
    qtbot.addWidget(app.window)
    yield app
    app.shutdown()


@pytest.fixture
def blocking_keyring(memory_keyring: MemoryKeyring) -> Iterator[BlockingKeyring]:
    """A keyring whose calls wait until the test releases them (released after the test)."""
    backend = BlockingKeyring()
    keyring.set_keyring(backend)
    yield backend
    backend.released.set()
    keyring.set_keyring(memory_keyring)
