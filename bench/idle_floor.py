"""What the idle figures start from: the libraries alone, before any of ChatKit Desk's code.

``python bench/idle_floor.py tray`` shows a bare Qt tray icon with a one-item menu;
``python bench/idle_floor.py server`` imports what the server cannot run without (uvicorn, FastAPI,
openai, openai-agents, openai-chatkit) and serves nothing. Both then idle until stopped, so the
benchmark can read their memory beside the real tray and server (it kills them afterwards).
"""

from __future__ import annotations

import importlib
import sys
import time

SERVER_LIBRARIES = ("uvicorn", "fastapi", "openai", "agents", "chatkit.server", "chatkit.agents")


def tray() -> None:
    from PySide6.QtGui import QIcon, QPixmap
    from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon

    app = QApplication([])
    pixmap = QPixmap(32, 32)
    pixmap.fill()
    icon = QSystemTrayIcon(QIcon(pixmap))
    menu = QMenu()
    menu.addAction("Quit", app.quit)
    icon.setContextMenu(menu)
    icon.show()
    app.exec()


def server() -> None:
    for library in SERVER_LIBRARIES:
        importlib.import_module(library)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    {"tray": tray, "server": server}[sys.argv[1]]()
