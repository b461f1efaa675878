"""A stand-in for ``chatkit-desk serve`` whose readiness the test decides.

``python stub_server.py DATA_DIR`` listens on the port in ``DATA_DIR/settings.json`` and answers
``GET /health`` as the real server does, with ``"ready": false`` until a file ``ready`` appears
in ``DATA_DIR``: the real server is ready a few seconds after it starts, too soon and too
unpredictably for a test of what the tray shows meanwhile. Its ``tools_in_use`` are the lines
of ``DATA_DIR/tools-in-use``, so a test can say a turn is calling a tool without a model. Like
the real one, it says where it listens in its runtime file and stops when its standard input
ends.
"""

from __future__ import annotations

import http.server
import json
import os
import sys
import threading
from pathlib import Path

from backend.supervision import HEALTH_PATH, health_answer, write_runtime_file

data_dir = Path(sys.argv[1])


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != HEALTH_PATH:
            self.send_error(404)
            return
        tools_file = data_dir / "tools-in-use"
        tools = tools_file.read_text().splitlines() if tools_file.exists() else []
        body = json.dumps(health_answer((data_dir / "ready").exists(), tools_in_use=tools)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tray's output log is not what these tests read."""


port = json.loads((data_dir / "settings.json").read_text())["port"]
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
write_runtime_file(data_dir, f"http://127.0.0.1:{port}")


def stop_at_the_end_of_stdin() -> None:
    while os.read(0, 4096):
        pass
    server.shutdown()


threading.Thread(target=stop_at_the_end_of_stdin, daemon=True).start()
server.serve_forever()
