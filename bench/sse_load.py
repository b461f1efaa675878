"""A lean SSE client for benchmarks: raw asyncio HTTP/1.1, so the client costs little CPU.

Each streamed word sent by the fake provider is its send time (``time.time_ns()``); the client
notes when each arrives, which gives the relay latency of every delta.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from dataclasses import dataclass, field

_STAMP = re.compile(rb'"(?:delta|content)": ?"(\d{19}) ?"')
_ERROR = re.compile(rb'"type": ?"(?:error|response\.error|response\.failed)"')
_THREAD_CREATED = re.compile(rb'"type": ?"thread\.created".*?"id": ?"([^"]+)"')
_TRUST_ANY: ssl.SSLContext | None = None


def trust_any() -> ssl.SSLContext:
    """TLS without verification (the bench's load balancer has a self-signed certificate); one
    context for every stream, as building one costs more than a handshake."""
    global _TRUST_ANY
    if _TRUST_ANY is None:
        _TRUST_ANY = ssl.create_default_context()
        _TRUST_ANY.check_hostname = False
        _TRUST_ANY.verify_mode = ssl.CERT_NONE
    return _TRUST_ANY


@dataclass
class StreamResult:
    started_ns: int
    first_delta_ns: int | None = None
    relay_ns: list[int] = field(default_factory=list)
    arrivals: dict[str, int] = field(default_factory=dict)
    """Each word (its send time) → when it arrived (``bench/relay_stages.py``)."""
    error: str | None = None
    thread_id: str | None = None

    @property
    def deltas(self) -> int:
        return len(self.relay_ns)

    @property
    def time_to_first_delta_ms(self) -> float | None:
        if self.first_delta_ns is None:
            return None
        return (self.first_delta_ns - self.started_ns) / 1e6


async def stream(
    port: int, path: str, body: dict, headers: dict[str, str] | None = None, tls: bool = False
) -> StreamResult:
    """One request and its whole event stream; ``tls``: over HTTPS (HTTP/1.1, as no ALPN is
    offered), as through the team mode's load balancer."""
    payload = json.dumps(body).encode()
    head = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        "Accept: text/event-stream",
        f"Content-Length: {len(payload)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in (headers or {}).items()),
    ]
    result = StreamResult(started_ns=time.time_ns())
    try:
        secure = {"ssl": trust_any(), "server_hostname": "localhost"} if tls else {}
        reader, writer = await asyncio.open_connection("127.0.0.1", port, **secure)
    except OSError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status_line = await reader.readline()
        if b" 200 " not in status_line:
            result.error = status_line.decode(errors="replace").strip()
            return result
        chunked = False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"transfer-encoding:") and b"chunked" in line.lower():
                chunked = True
        pending = b""
        while True:
            if chunked:
                size = int((await reader.readline()).strip() or b"0", 16)
                if size == 0:
                    break
                data = await reader.readexactly(size + 2)
                data = data[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    break
            now = time.time_ns()
            pending += data
            *events, pending = pending.split(b"\n\n")
            for event in events:
                stamp = _STAMP.search(event)
                if stamp:
                    if result.first_delta_ns is None:
                        result.first_delta_ns = now
                    result.relay_ns.append(now - int(stamp.group(1)))
                    result.arrivals[stamp.group(1).decode()] = now
                elif _ERROR.search(event):
                    result.error = event.decode(errors="replace")[:200]
                elif result.thread_id is None and (created := _THREAD_CREATED.search(event)):
                    result.thread_id = created.group(1).decode()
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    finally:
        writer.close()
    return result
