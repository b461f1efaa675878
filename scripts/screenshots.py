"""Render the settings window and the tray menu to PNG: ``python3 scripts/screenshots.py [OUT]``.

Runs under Xvfb (started here when there is no display; needs the ``xvfb`` package) so the
pictures use a real X11 platform; the server is not started, its state is shown as running.
Output: ``docs/screenshots/settings-window.png`` and ``tray-menu.png`` (or under OUT).

The window shows the keyring it finds: take them with a real one, not the "no keyring" warning.
On a headless Debian box (packages ``dbus gnome-keyring``)::

    dbus-run-session -- sh -c 'eval "$(printf pw | gnome-keyring-daemon --unlock \
        --components=secrets)"; printf sk-example | .venv/bin/chatkit-desk keys set openai \
        && .venv/bin/python scripts/screenshots.py'
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _under_xvfb() -> int:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        sys.exit("screenshots: no display and no xvfb-run (apt-get install xvfb xauth)")
    command = [xvfb_run, "-a", "-s", "-screen 0 1280x900x24", sys.executable, *sys.argv]
    return subprocess.call(command, env={**os.environ, "QT_QPA_PLATFORM": "xcb"})


def render(out_dir: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from PySide6.QtCore import QPoint
    from PySide6.QtWidgets import QApplication

    from desktop.app import DeskApp
    from desktop.autostart import XdgAutostart
    from desktop.provider_panel import READING
    from desktop.server_state import ServerState, ServerStatus

    app = QApplication([])
    app.setStyle("Fusion")
    data_dir = Path(tempfile.mkdtemp(prefix="chatkit-desk-shots-"))
    (data_dir / "settings.json").write_text(
        json.dumps({"allowed_origins": ["http://localhost:5173"]})
    )
    os.environ["XDG_CONFIG_HOME"] = str(data_dir / "config")
    desk = DeskApp(data_dir, tray_available=True, login_item=XdgAutostart())
    status = ServerStatus(ServerState.RUNNING, "http://127.0.0.1:8765", "OpenAI, model gpt-5-mini")
    desk.window.status_panel.show_status(status)
    desk.window.status_panel.start_stop_button.setText("Stop server")
    assert desk.tray is not None
    desk.tray.show_status(status)
    desk.tray.start_stop_action.setText("Stop server")

    out_dir.mkdir(parents=True, exist_ok=True)
    desk.window.show_and_raise()
    _settle(app, lambda: READING not in _texts(desk.window))  # the keyring answers on a thread
    desk.window.grab().save(str(out_dir / "settings-window.png"))

    desk.tray.menu.popup(QPoint(40, 40))
    for _ in range(20):
        app.processEvents()
    desk.tray.menu.grab().save(str(out_dir / "tray-menu.png"))
    desk.tray.menu.hide()
    print(f"screenshots: wrote {out_dir / 'settings-window.png'} and tray-menu.png")
    desk.dispose()
    shutil.rmtree(data_dir, ignore_errors=True)


def _texts(window: object) -> str:
    from PySide6.QtWidgets import QLabel

    return " ".join(label.text() for label in window.findChildren(QLabel))  # type: ignore[attr-defined]


def _settle(app: object, done: object, seconds: float = 30) -> None:
    import time

    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:  # type: ignore[operator]
        app.processEvents()  # type: ignore[attr-defined]
        time.sleep(0.02)
    for _ in range(20):
        app.processEvents()  # type: ignore[attr-defined]


if __name__ == "__main__":
    if not os.environ.get("DISPLAY") and sys.platform.startswith("linux"):
        sys.exit(_under_xvfb())
    render(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots")
