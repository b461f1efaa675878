"""How a local tool server is started: its command found the way a login shell would find it,
and an environment of its own that carries nothing of ChatKit Desk's.

An app started from a desktop menu (or by launchd) gets a minimal ``PATH`` without what the
user's shell profile adds (``npx`` from nvm, ``uvx`` from ``~/.local/bin``, Homebrew), so a
configuration that works in a terminal would fail with "not found". The login shell is asked
for its ``PATH`` once, and a few well-known tool folders are added, the way VS Code resolves its
environment. A tool server is third-party code: it gets that ``PATH``, the few variables a
program needs to run (home, user, locale, temp), and its own ``env`` — never a provider key, the
signing secret or any other variable of ChatKit Desk's.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

INHERITED = (
    # POSIX
    "HOME", "LOGNAME", "USER", "SHELL", "TERM", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ",
    # Windows
    "APPDATA", "LOCALAPPDATA", "HOMEDRIVE", "HOMEPATH", "USERPROFILE", "USERNAME", "SYSTEMROOT",
    "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "PROGRAMFILES",
    "PROGRAMFILES(X86)", "PROGRAMDATA", "PROCESSOR_ARCHITECTURE",
)  # fmt: skip
"""What a program needs to run at all; ``PATH`` is added separately (see ``search_path``)."""

LOGIN_SHELL_TIMEOUT_SECONDS = 10.0
_PATH_MARK = "__CHATKIT_DESK_PATH__"


class CommandNotFound(Exception):
    """The command is nowhere to be found; the message says where it looked and what to do."""


def well_known_folders(home: Path) -> list[Path]:
    """Where installers put tools without always telling a GUI app's ``PATH``."""
    folders = [
        home / ".local" / "bin",
        home / ".cargo" / "bin",
        home / ".volta" / "bin",
        home / ".bun" / "bin",
        home / ".deno" / "bin",
        Path("/opt/homebrew/bin"),
        Path("/usr/local/bin"),
        Path("/opt/local/bin"),
    ]
    nvm = sorted((home / ".nvm" / "versions" / "node").glob("*/bin"), reverse=True)
    return folders + nvm[:1]


@functools.lru_cache(maxsize=1)
def login_shell_path() -> tuple[str, ...]:
    """The ``PATH`` the user's login shell sets up (empty on Windows or when it cannot say)."""
    shell = os.environ.get("SHELL")
    if sys.platform == "win32" or not shell:
        return ()
    try:
        answer = subprocess.run(
            [shell, "-l", "-c", f'printf "{_PATH_MARK}%s{_PATH_MARK}" "$PATH"'],
            capture_output=True,
            text=True,
            timeout=LOGIN_SHELL_TIMEOUT_SECONDS,
            stdin=subprocess.DEVNULL,
            env={name: os.environ[name] for name in INHERITED if name in os.environ},
        )
    except (OSError, subprocess.SubprocessError):
        return ()
    _, _, rest = answer.stdout.partition(_PATH_MARK)
    path, found, _ = rest.partition(_PATH_MARK)
    return tuple(entry for entry in path.split(os.pathsep) if entry) if found else ()


def search_path(environ: Mapping[str, str] | None = None) -> str:
    """This process's ``PATH``, then the login shell's, then well-known tool folders."""
    environ = os.environ if environ is None else environ
    entries: list[str] = []
    for entry in [
        *environ.get("PATH", "").split(os.pathsep),
        *login_shell_path(),
        *(str(folder) for folder in well_known_folders(Path.home())),
    ]:
        if entry and entry not in entries:
            entries.append(entry)
    return os.pathsep.join(entries)


def resolve_command(command: str, path: str, cwd: str | None = None) -> str:
    """The executable ``command`` names: found on ``path`` unless it is a path itself."""
    if os.sep in command or (os.altsep and os.altsep in command):
        candidate = Path(cwd or ".", command).expanduser()
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.absolute())  # not resolved: a venv's python is a symlink
        raise CommandNotFound(f"{candidate} is not an executable file")
    found = shutil.which(command, path=path)
    if found is None:
        raise CommandNotFound(
            f"{command!r} was not found in this app's PATH, your login shell's PATH or the usual "
            f"tool folders; install it, or give its full path in mcp.json (searched: {path})"
        )
    return found


def tool_environment(own: Mapping[str, str], path: str) -> dict[str, str]:
    """What a local tool server runs with: the basics, the search path, then its own ``env``."""
    basics = {name: os.environ[name] for name in INHERITED if name in os.environ}
    return {**basics, "PATH": path, **own}
