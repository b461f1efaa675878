"""Build the Debian package from the app bundle: ``python packaging/build_deb.py``.

Needs ``dist/chatkit-desk/`` (``packaging/build_bundle.py``, or ``--build`` here),
``dpkg-deb`` and ``objdump`` (binutils). Writes ``dist/chatkit-desk_<version>_<arch>.deb``:

    /opt/chatkit-desk/                                   the bundle, as built
    /usr/bin/chatkit-desk -> /opt/chatkit-desk/chatkit-desk
    /usr/share/applications/chatkit-desk.desktop         the menu entry (starts the tray)
    /usr/share/icons/hicolor/scalable/apps/chatkit-desk.svg
    /usr/share/doc/chatkit-desk/copyright

No autostart entry is installed: the app writes ``~/.config/autostart/chatkit-desk.desktop`` for
a user who turns "Start at login" on. No maintainer scripts either: the icon cache and the
desktop database are refreshed by the dpkg triggers of the packages that own them.
Install with ``sudo apt install ./dist/chatkit-desk_…deb``; remove with ``sudo apt remove
chatkit-desk`` (users' data dirs are theirs and stay).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_bundle import BUNDLE, DIST, ROOT, build, tree_bytes

PACKAGE = "chatkit-desk"
INSTALL_DIR = Path("opt") / PACKAGE
# What the bundle loads from the system rather than carrying itself (found with ldd over every
# ELF file in the bundle, minus what is in _internal/): glibc (at least the version the build
# machine had, found with objdump), the OpenGL/EGL dispatch libraries
# of the host's graphics driver, libxcb (X11). The Wayland client libraries are only needed by
# the Wayland platform plugin; without them the tray falls back to X11 (XWayland).
DEPENDS = "libc6 (>= {glibc}), libgl1, libegl1, libxcb1"  # glibc: the newest symbol version used
RECOMMENDS = "libwayland-client0, libwayland-cursor0, libwayland-egl1"
# A Secret Service provider to keep the keys in (desktops ship one; a bare system may not).
SUGGESTS = "gnome-keyring | kwalletmanager"
DESCRIPTION = """\
Run a ChatKit backend on your own computer, from the system tray
 ChatKit Desk keeps your OpenAI and Gemini API keys in the system keyring, lets
 you choose the provider, model and instructions, and serves the ChatKit
 protocol on http://127.0.0.1:8765 so any local ChatKit frontend can chat
 through it without holding a provider key. `chatkit-desk serve` runs the same
 server headless."""


def version() -> str:
    output = subprocess.run(
        [str(BUNDLE / PACKAGE), "--version"], capture_output=True, text=True, check=True
    ).stdout
    return output.split()[-1]


def newest_glibc(bundle: Path) -> str:
    """The newest ``GLIBC_x.y`` symbol version any ELF file in the bundle needs (objdump -T)."""
    import re

    found = {(2, 17)}
    for path in bundle.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        with path.open("rb") as head:
            if head.read(4) != b"\x7fELF":
                continue
        symbols = subprocess.run(
            ["objdump", "-T", str(path)], capture_output=True, text=True
        ).stdout
        found.update(tuple(map(int, v)) for v in re.findall(r"GLIBC_(\d+)\.(\d+)", symbols))
    major, minor = max(found)
    return f"{major}.{minor}"


def architecture() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def stage(root: Path, deb_version: str, arch: str) -> None:
    shutil.copytree(BUNDLE, root / INSTALL_DIR, symlinks=True)
    bin_dir = root / "usr" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / PACKAGE).symlink_to(Path("/") / INSTALL_DIR / PACKAGE)

    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    shutil.copy2(ROOT / "packaging" / "linux" / f"{PACKAGE}.desktop", applications)
    icons = root / "usr" / "share" / "icons" / "hicolor" / "scalable" / "apps"
    icons.mkdir(parents=True)
    shutil.copy2(ROOT / "resources" / "icons" / f"{PACKAGE}.svg", icons / f"{PACKAGE}.svg")
    doc = root / "usr" / "share" / "doc" / PACKAGE
    doc.mkdir(parents=True)
    (doc / "copyright").write_text(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
        f"Upstream-Name: {PACKAGE}\n\nFiles: *\nLicense: MIT\n"
        " The bundled third-party components keep their own licenses; see\n"
        f" /{INSTALL_DIR}/_internal/*.dist-info and the Qt for Python (LGPLv3) notice.\n",
        encoding="utf-8",
    )

    for dirpath, dirnames, filenames in os.walk(root):  # 0755 dirs, 0644/0755 files, no setuid
        for name in dirnames:
            os.chmod(Path(dirpath) / name, 0o755)
        for name in filenames:
            path = Path(dirpath) / name
            if not path.is_symlink():
                os.chmod(path, 0o755 if os.access(path, os.X_OK) else 0o644)

    installed_kib = (tree_bytes(root) + 1023) // 1024
    control = root / "DEBIAN"
    control.mkdir()
    (control / "control").write_text(
        f"Package: {PACKAGE}\n"
        f"Version: {deb_version}\n"
        f"Architecture: {arch}\n"
        "Maintainer: ChatKit Desk maintainers <chatkit-desk@users.noreply.github.com>\n"
        f"Installed-Size: {installed_kib}\n"
        f"Depends: {DEPENDS.format(glibc=newest_glibc(root / INSTALL_DIR))}\n"
        f"Recommends: {RECOMMENDS}\n"
        f"Suggests: {SUGGESTS}\n"
        "Section: net\n"
        "Priority: optional\n"
        "Homepage: https://github.com/chatkit-desk/chatkit-desk\n"
        f"Description: {DESCRIPTION}\n",
        encoding="utf-8",
    )


def build_deb(output_dir: Path = DIST) -> Path:
    if not (BUNDLE / PACKAGE).exists():
        raise SystemExit(f"no bundle at {BUNDLE}: run packaging/build_bundle.py first (or --build)")
    deb_version, arch = version(), architecture()
    output = output_dir / f"{PACKAGE}_{deb_version}_{arch}.deb"
    with tempfile.TemporaryDirectory(prefix="chatkit-desk-deb-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        stage(root, deb_version, arch)
        subprocess.run(
            ["dpkg-deb", "--root-owner-group", "-Zxz", "-z9", "--build", str(root), str(output)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    print(f"built {output.relative_to(ROOT)}: {output.stat().st_size / 1e6:.1f} MB")
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build the bundle first")
    args = parser.parse_args()
    if args.build:
        build()
    build_deb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
