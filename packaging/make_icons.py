"""Render the app icon (resources/icons/chatkit-desk.svg) for the installers that need bitmaps.

``python packaging/make_icons.py`` writes packaging/windows/chatkit-desk.ico (Windows exe and
installer) and packaging/macos/chatkit-desk.icns (the .app); build.spec uses them when present.
Both are generated files (not committed). Uses Qt's own SVG renderer and ICO/ICNS writers, so it
runs anywhere PySide6 does, headless included.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "resources" / "icons" / "chatkit-desk.svg"
TARGETS = {
    ROOT / "packaging" / "windows" / "chatkit-desk.ico": 256,
    ROOT / "packaging" / "macos" / "chatkit-desk.icns": 1024,
}


def render(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    QSvgRenderer(str(SOURCE)).render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    for target, size in TARGETS.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        if not render(size).save(str(target)):
            print(f"could not write {target} (no Qt image writer for {target.suffix})")
            return 1
        print(f"wrote {target.relative_to(ROOT)} ({size} px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
