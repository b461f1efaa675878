"""Build the portable Linux tarball from the app bundle: ``python packaging/build_tarball.py``.

Writes ``dist/chatkit-desk-<version>-linux-<machine>.tar.gz``: one folder,
``chatkit-desk-<version>/``, holding the bundle as built plus ``README.md`` (how to run it,
put it on the PATH, and remove it). Unpack anywhere and run ``./chatkit-desk``.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_bundle import BUNDLE, DIST, ROOT, build

PACKAGE = "chatkit-desk"


def build_tarball(output_dir: Path = DIST) -> Path:
    if not (BUNDLE / PACKAGE).exists():
        raise SystemExit(f"no bundle at {BUNDLE}: run packaging/build_bundle.py first (or --build)")
    version = subprocess.run(
        [str(BUNDLE / PACKAGE), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    top = f"{PACKAGE}-{version}"
    output = output_dir / f"{top}-linux-{platform.machine()}.tar.gz"
    readme = ROOT / "packaging" / "linux" / "README-portable.md"

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        return info

    with tarfile.open(output, "w:gz", compresslevel=9) as archive:
        archive.add(BUNDLE, arcname=top, filter=normalise)
        archive.add(readme, arcname=f"{top}/README.md", filter=normalise)
    print(f"built {output.relative_to(ROOT)}: {output.stat().st_size / 1e6:.1f} MB")
    return output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="build the bundle first")
    args = parser.parse_args()
    if args.build:
        build()
    build_tarball()
    return 0


if __name__ == "__main__":
    sys.exit(main())
