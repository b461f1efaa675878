"""PyInstaller runtime hook: give a windowed build somewhere to write.

A windowed (``console=False``) executable on Windows, and an app started from Finder on macOS,
has ``sys.stdout``/``sys.stderr`` set to ``None``: every ``print`` and every logging handler on
them would fail. Route them to ``<data dir>/logs/chatkit-desk-stdio.log`` instead (the data dir
as ``chatkit-desk`` resolves it: ``--data-dir``, then ``CHATKIT_DESK_DATA_DIR``, then the
platform's user data dir). Streams that exist (a terminal, the tray's pipes to its ``serve``
child) are left alone.
"""

import os
import sys


def _data_dir():
    argv = sys.argv[1:]
    for index, argument in enumerate(argv):
        if argument == "--data-dir" and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith("--data-dir="):
            return argument.split("=", 1)[1]
    chosen = os.environ.get("CHATKIT_DESK_DATA_DIR")
    if chosen:
        return chosen
    import platformdirs

    return platformdirs.user_data_dir("chatkit-desk", appauthor=False)


def _route_missing_streams():
    if sys.stdout is not None and sys.stderr is not None:
        return
    try:
        log_dir = os.path.join(os.path.expanduser(_data_dir()), "logs")
        os.makedirs(log_dir, exist_ok=True)
        stream = open(
            os.path.join(log_dir, "chatkit-desk-stdio.log"),
            "a",
            encoding="utf-8",
            errors="backslashreplace",
            buffering=1,
        )
    except OSError:
        stream = open(os.devnull, "w", encoding="utf-8")
    if sys.stdout is None:
        sys.stdout = stream
    if sys.stderr is None:
        sys.stderr = stream


_route_missing_streams()
