"""What an attachment adds to a turn: its upload, and the time to first delta of the message.

A ChatKit Desk server per provider path (``chatkit-desk serve``, this tree) and a fake provider
of its own, so that the fake's CPU per turn can be read from ``/proc`` undisturbed and shown
beside the figures: it parses the whole request and decodes every data URL to say what it got,
and is not allowed to pass for the server's time unnoticed. Each round, on each server, in an
order that rotates every round:

* a text-only message (the baseline: same server, same round, same client);
* a ~1 MB camera-style JPEG: ``attachments.create``, the multipart upload to its descriptor
  (together: "upload"), then a new thread whose message names it;
* a 5 MB PDF, the same way.

Every message starts a new thread, as the main bench's text turn does, and the thread is deleted
after it (untimed) so the rounds do not pile files up. "added over text-only" is, per round,
upload + first delta with the attachment − that round's text-only first delta: what a person
waits more from pressing send on a message with the file (its upload starts when it is picked,
so this is the worst case) until the reply starts. Medians over the rounds; the first round
warms each path up (Pillow's first image, openai's file types) and is not counted.

``python3 scripts/bench.py`` runs it after the tool figures; alone:
``python -m bench.attachment_turn [ROUNDS]`` (default 15).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import jwt

from bench.sse_load import stream
from tests.support.attachments import pdf, photo_jpeg

if TYPE_CHECKING:
    from bench.run import Processes

PROVIDERS = ("openai", "gemini")
TEXT_ONLY = "text only"
MESSAGE = "What is in it? [bench:5:100]"
"""Five words at 100/s: the fake's first word leaves 10 ms after the request, as in the main
bench's text turn, and the turn is short."""


@dataclass(frozen=True)
class File:
    label: str
    name: str
    mime_type: str
    data: bytes


def files() -> list[File]:
    """A 1 MB photo (over the 512 KB the server sends unchanged, so it is re-encoded at upload,
    as a phone's photo would be) and a 5 MB PDF (sent to the model as it is)."""
    photo = photo_jpeg(1550, 1162)
    document = pdf(5_000_000)
    return [
        File(f"JPEG {len(photo) / 1e6:.2f} MB", "photo.jpg", "image/jpeg", photo),
        File(f"PDF {len(document) / 1e6:.2f} MB", "report.pdf", "application/pdf", document),
    ]


@dataclass
class Series:
    upload_ms: list[float] = field(default_factory=list)
    first_delta_ms: list[float] = field(default_factory=list)
    added_ms: list[float] = field(default_factory=list)
    server_cpu_ms: list[float] = field(default_factory=list)
    """The server's CPU over the upload and the whole turn: near the wall time, the work is
    CPU; well under it, waiting (fsync, the provider). Reported as a mean: ``/proc`` counts in
    10 ms ticks, which a median of single turns would round away."""
    provider_cpu_ms: list[float] = field(default_factory=list)
    """The fake provider's CPU over the turn (a mean, as above)."""
    errors: int = 0


@dataclass
class Server:
    provider: str
    port: int
    pid: int
    headers: dict[str, str]


@dataclass
class Measured:
    first_delta_ms: float
    upload_ms: float
    server_cpu_ms: float
    provider_cpu_ms: float


class Turns:
    """One server's turns, timed from the client, with both processes' CPU around them."""

    def __init__(self, server: Server, provider_pid: int) -> None:
        self.server = server
        self.provider_pid = provider_pid
        base_url = f"http://127.0.0.1:{server.port}"
        self.http = httpx.Client(base_url=base_url, headers=server.headers, timeout=60)
        self.uploads = httpx.Client(timeout=60)
        """Only the descriptor's headers, as ChatKit.js sends them; its own kept connection."""

    def close(self) -> None:
        self.http.close()
        self.uploads.close()

    def upload(self, file: File) -> str:
        request = {
            "type": "attachments.create",
            "params": {"name": file.name, "size": len(file.data), "mime_type": file.mime_type},
        }
        created = self.http.post("/chatkit", json=request)
        created.raise_for_status()
        descriptor = created.json()["upload_descriptor"]
        uploaded = self.uploads.request(
            descriptor["method"],
            descriptor["url"],
            headers=descriptor.get("headers") or {},
            files={"file": (file.name, file.data, file.mime_type)},
        )
        uploaded.raise_for_status()
        return uploaded.json()["id"]

    def turn(self, file: File | None) -> Measured:
        from bench.run import cpu_seconds

        server_cpu = cpu_seconds(self.server.pid)
        started = time.perf_counter()
        ids = [self.upload(file)] if file else []
        upload_ms = (time.perf_counter() - started) * 1000
        provider_cpu = cpu_seconds(self.provider_pid)
        body = {
            "type": "threads.create",
            "params": {
                "input": {
                    "content": [{"type": "input_text", "text": MESSAGE}],
                    "attachments": ids,
                    "inference_options": {},
                }
            },
        }
        result = asyncio.run(stream(self.server.port, "/chatkit", body, self.server.headers))
        if result.error or result.time_to_first_delta_ms is None:
            raise RuntimeError(result.error or "no text delta")
        measured = Measured(
            result.time_to_first_delta_ms,
            upload_ms,
            (cpu_seconds(self.server.pid) - server_cpu) * 1000,
            (cpu_seconds(self.provider_pid) - provider_cpu) * 1000,
        )
        if result.thread_id:  # untimed: keeps the data dir from growing by 6 MB a round
            deleted = self.http.post(
                "/chatkit",
                json={"type": "threads.delete", "params": {"thread_id": result.thread_id}},
            )
            deleted.raise_for_status()
        return measured


Figures = dict[tuple[str, str], Series]
"""(provider, "text only" or a file's label) → its series."""


def measure(turns: dict[str, Turns], samples: list[File], rounds: int) -> Figures:
    kinds: list[File | None] = [None, *samples]
    figures: Figures = {
        (provider, kind.label if kind else TEXT_ONLY): Series()
        for provider in turns
        for kind in kinds
    }
    for number in range(rounds + 1):  # round 0 warms up
        if number:
            print(f"attachments: round {number}/{rounds}", file=sys.stderr, flush=True)
        for provider, server_turns in turns.items():
            order = kinds[number % len(kinds) :] + kinds[: number % len(kinds)]
            measured: dict[str, Measured] = {}
            for kind in order:
                label = kind.label if kind else TEXT_ONLY
                try:
                    measured[label] = server_turns.turn(kind)
                except (RuntimeError, httpx.HTTPError):
                    figures[provider, label].errors += 1
            if not number or TEXT_ONLY not in measured:
                continue
            text_only = measured[TEXT_ONLY].first_delta_ms
            for label, m in measured.items():
                series = figures[provider, label]
                series.upload_ms.append(m.upload_ms)
                series.first_delta_ms.append(m.first_delta_ms)
                series.added_ms.append(m.upload_ms + m.first_delta_ms - text_only)
                series.server_cpu_ms.append(m.server_cpu_ms)
                series.provider_cpu_ms.append(m.provider_cpu_ms)
    return figures


def report(figures: Figures) -> list[str]:
    med = statistics.median
    lines = [
        "what an attachment adds to a turn (create + upload, then a new thread naming it; "
        "medians over rounds, each against the same round's text-only turn on the same server):",
        "",
        "| path | message | upload (ms) | first delta (ms) | added over text-only: p50 "
        "[p25–p75] (ms) | server CPU, upload + turn, mean (ms) | fake provider CPU, turn, "
        "mean (ms) | rounds (failed) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (provider, label), s in figures.items():
        if not s.first_delta_ms:
            lines.append(f"| {provider} | {label} | — | — | — | — | — | 0 ({s.errors}) |")
            continue
        if label == TEXT_ONLY:
            upload, added = "—", "(the baseline)"
        else:
            low, _, high = statistics.quantiles(s.added_ms, n=4) if len(s.added_ms) > 1 else [0] * 3
            upload = f"{med(s.upload_ms):.1f}"
            added = f"+{med(s.added_ms):.1f} [{low:+.1f} – {high:+.1f}]"
        lines.append(
            f"| {provider} | {label} | {upload} | {med(s.first_delta_ms):.1f} | {added} | "
            f"{statistics.mean(s.server_cpu_ms):.0f} | {statistics.mean(s.provider_cpu_ms):.0f} | "
            f"{len(s.first_delta_ms)} ({s.errors}) |"
        )
    return lines


def run(procs: Processes, folder: Path, rounds: int) -> Figures:
    """Start a fake provider and a server of this tree per provider path, and measure them."""
    from bench.run import SECRET, desk_env, free_port, wait_for_port, wait_healthy

    fake_port = free_port()
    fake = procs.start([sys.executable, "-m", "tests.support.fake_upstream", str(fake_port)])
    wait_for_port(fake_port)
    now = int(time.time())
    token = jwt.encode({"sub": "bench", "iat": now, "exp": now + 86400}, SECRET, "HS256")
    servers = []
    for provider in PROVIDERS:
        port = free_port()
        env = desk_env(folder / provider, f"http://127.0.0.1:{fake_port}/v1", provider, port)
        child = procs.start([sys.executable, "-m", "backend", "serve"], env)
        servers.append(Server(provider, port, child.pid, {"Authorization": f"Bearer {token}"}))
    for server in servers:
        wait_healthy(server.port)
    turns = {server.provider: Turns(server, fake.pid) for server in servers}
    try:
        return measure(turns, files(), rounds)
    finally:
        for server_turns in turns.values():
            server_turns.close()


def main() -> None:
    from bench.run import Processes

    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    procs = Processes()
    try:
        figures = run(procs, procs.tmp, rounds)
    finally:
        procs.stop_all()
    print("\n".join(report(figures)))


if __name__ == "__main__":
    main()
