"""A stand-in for ``chatkit-desk serve`` whose readiness the test decides.

``python stub_server.py DATA_DIR`` listens on the port in ``DATA_DIR/settings.json`` and answers
``GET /health`` as the real server does, with ``"ready": false`` until a file ``ready`` appears
in ``DATA_DIR``: the real server is ready a few seconds after it starts, too soon and too
unpredictably for a test of what the tray shows meanwhile.
"""

from __future__ import annotations

import http.server
import json
import sys
from pathlib import Path

from backend.supervision import HEALTH_PATH, health_answer

data_dir = Path(sys.argv[1])


class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != HEALTH_PATH:
            self.send_error(404)
            return
        body = json.dumps(health_answer((data_dir / "ready").exists())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the tray's output log is not what these tests read."""


port = json.loads((data_dir / "settings.json").read_text())["port"]
http.server.ThreadingHTTPServer(("127.0.0.1", port), Health).serve_forever()
