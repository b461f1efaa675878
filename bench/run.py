"""ChatKit Desk against the baseline and the physical limit, side by side, in one run.

Starts the fake provider, a minimal relay (``bench/minimal_relay.py``: what one hop through a
Python server costs, with no SDKs), the baseline backend (``bench/baseline_server.py``) and
ChatKit Desk for both provider paths (Responses for OpenAI, Chat Completions for Gemini), then
runs interleaved rounds of every scenario against every target and prints medians:

* time to first text delta and per-delta relay latency (one stream at a time);
* time to first text delta once a thread holds a full history window (40 items), and for a
  message sent after a 6 s pause (longer than httpx keeps an idle connection by default);
* server CPU per delta, aggregate deltas/s, relay latency and errors at 50 concurrent streams;
* 200 concurrent streams paced at 50 tokens/s: errors, complete replies, p95 relay latency;
* cold start of ``chatkit-desk serve`` to a 200 on ``/health``, and the time to first delta of
  the first message after start; idle RSS and CPU of tray + server after one conversation,
  beside the RSS of their libraries alone (``bench/idle_floor.py``);
* what a tool call adds over the tool's own time, beside a bare MCP call
  (``bench/tool_round_trip.py``);
* what a 1 MB image and a 5 MB PDF add to the first delta (upload and send), beside a text-only
  turn on the same servers (``bench/attachment_turn.py``);
* team mode: Postgres beside SQLite, and one replica beside two behind HAProxy under the same
  load, with every process's CPU (``bench/team_mode.py``; needs Debian's ``postgresql`` and
  ``haproxy``, as the tests do).

After the table, one verdict line per target of issue 12, against the floor or baseline measured
in the same run (``verdicts``). ``python3 scripts/bench.py [--rounds N] [--also DIR]``: ``--also``
runs ChatKit Desk from another source tree too (e.g. ``git worktree add /tmp/before main``), so a
change is measured before and after in one run (with a verdict: a plain text turn, no tool
servers configured, no slower than in that tree). Figures only: nothing here fails on a timing,
and a missed target does not change the exit code.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import jwt

from bench import attachment_turn, team_mode, tool_round_trip
from bench.sse_load import StreamResult, stream

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-signing-secret-" + "0123456789abcdef" * 4
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DESK_OPENAI = "ChatKit Desk (openai)"
DESK_GEMINI = "ChatKit Desk (gemini)"


def tree_label(tree: Path) -> str:
    """Appended to the names of ChatKit Desk's rows run from another source tree (``--also``)."""
    return "" if tree == ROOT else f" @{tree.name}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, timeout: float = 60) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                if answer.status == 200:
                    return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"nothing healthy on port {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Target:
    name: str
    port: int
    path: str
    body: Callable[[str], dict]
    next_turn: Callable[[str, str | None, int], dict]
    """The request for another message: (text, thread id, earlier turns) → body."""
    headers: dict[str, str] = field(default_factory=dict)
    pid: int | None = None
    keeps_threads: bool = False
    """A ChatKit backend stores the thread; the others are sent the whole history every turn."""


def chatkit_body(text: str) -> dict:
    return {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": text}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }


def chatkit_next_turn(text: str, thread_id: str | None, _: int) -> dict:
    return {
        "type": "threads.add_user_message",
        "params": {
            "thread_id": thread_id,
            "input": chatkit_body(text)["params"]["input"],
        },
    }


def responses_next_turn(text: str, _: str | None, turns: int) -> dict:
    """What a client keeping the history itself sends straight to the provider."""
    history: list[dict] = []
    for turn in range(turns):
        history.append({"role": "user", "content": [{"type": "input_text", "text": f"q{turn}"}]})
        history.append({"role": "assistant", "content": f"answer {turn}"})
    history.append({"role": "user", "content": [{"type": "input_text", "text": text}]})
    return {"model": "fake-gpt", "input": history, "stream": True}


def chat_next_turn(text: str, _: str | None, turns: int) -> dict:
    history: list[dict] = []
    for turn in range(turns):
        history += [{"role": "user", "content": f"q{turn}"}, {"role": "assistant", "content": "a"}]
    history.append({"role": "user", "content": text})
    return {"model": "fake-gemini", "stream": True, "messages": history}


class Processes:
    def __init__(self) -> None:
        self.children: list[subprocess.Popen[bytes]] = []
        self.tmp = Path(tempfile.mkdtemp(prefix="chatkit-desk-bench-"))

    def start(
        self, args: list[str], env: dict[str, str] | None = None, tree: Path = ROOT
    ) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            args,
            cwd=tree,
            env={**os.environ, "PYTHONPATH": str(tree), **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)
        for child in self.children:
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()


def desk_env(data_dir: Path, upstream: str, provider: str, port: int) -> dict[str, str]:
    return {
        "CHATKIT_DESK_DATA_DIR": str(data_dir),
        "CHATKIT_DESK_PORT": str(port),
        "CHATKIT_DESK_PROVIDER": provider,
        "CHATKIT_DESK_OPENAI_BASE_URL": upstream,
        "CHATKIT_DESK_OPENAI_MODEL": "fake-gpt",
        "CHATKIT_DESK_GEMINI_BASE_URL": upstream,
        "CHATKIT_DESK_GEMINI_MODEL": "fake-gemini",
        "CHATKIT_DESK_JWT_SECRET": SECRET,
        "CHATKIT_DESK_RATE_LIMIT_PER_MINUTE": "1000000",
        "OPENAI_API_KEY": "sk-bench",
        "GEMINI_API_KEY": "bench-gemini",
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }


def start_targets(procs: Processes, trees: list[Path]) -> list[Target]:
    fake_port = free_port()
    procs.start([sys.executable, "-m", "tests.support.fake_upstream", str(fake_port)])
    wait_for_port(fake_port)
    upstream = f"http://127.0.0.1:{fake_port}/v1"
    token = jwt.encode(
        {"sub": "bench", "iat": int(time.time()), "exp": int(time.time()) + 86400},
        SECRET,
        algorithm="HS256",
    )
    targets = [
        Target(
            "direct (Responses)",
            fake_port,
            "/v1/responses",
            lambda t: {"model": "fake-gpt", "input": t, "stream": True},
            responses_next_turn,
        ),
        Target(
            "direct (Chat Completions)",
            fake_port,
            "/v1/chat/completions",
            lambda t: {
                "model": "fake-gemini",
                "stream": True,
                "messages": [{"role": "user", "content": t}],
            },
            chat_next_turn,
        ),
    ]
    relay_port = free_port()
    relay = procs.start(
        [sys.executable, "bench/minimal_relay.py", str(relay_port)], {"RELAY_BASE_URL": upstream}
    )
    targets += [
        replace(
            direct,
            name=direct.name.replace("direct", "minimal relay"),
            port=relay_port,
            pid=relay.pid,
        )
        for direct in targets
    ]
    for api, label in (("responses", "OpenAI"), ("chat", "Gemini")):
        port = free_port()
        child = procs.start(
            [sys.executable, "bench/baseline_server.py", str(port)],
            {"BASELINE_BASE_URL": upstream, "BASELINE_API": api},
        )
        targets.append(
            Target(
                f"baseline ({label} path)",
                port,
                "/chatkit",
                chatkit_body,
                chatkit_next_turn,
                pid=child.pid,
                keeps_threads=True,
            )
        )
    for tree, provider in ((tree, provider) for tree in trees for provider in ("openai", "gemini")):
        port = free_port()
        env = desk_env(procs.tmp / f"{provider}{tree_label(tree)}", upstream, provider, port)
        child = procs.start([sys.executable, "-m", "backend", "serve"], env, tree)
        targets.append(
            Target(
                f"ChatKit Desk ({provider}){tree_label(tree)}",
                port,
                "/chatkit",
                chatkit_body,
                chatkit_next_turn,
                {"Authorization": f"Bearer {token}"},
                pid=child.pid,
                keeps_threads=True,
            )
        )
    for target in targets:
        if target.pid:
            wait_healthy(target.port)
    return targets


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"port {port} never opened")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def run_many(target: Target, text: str, count: int) -> list[StreamResult]:
    return await asyncio.gather(
        *(stream(target.port, target.path, target.body(text), target.headers) for _ in range(count))
    )


@dataclass
class Figures:
    ttfd_ms: list[float] = field(default_factory=list)
    long_thread_ttfd_ms: list[float] = field(default_factory=list)
    long_thread_errors: int = 0
    after_pause_ttfd_ms: list[float] = field(default_factory=list)
    relay_p50_ms: list[float] = field(default_factory=list)
    cpu_us_per_delta: list[float] = field(default_factory=list)
    deltas_per_s: list[float] = field(default_factory=list)
    load_errors: int = 0
    paced_errors: int = 0
    paced_incomplete: int = 0
    paced_p95_ms: list[float] = field(default_factory=list)


async def sequential(target: Target, figures: Figures, streams: int = 15, words: int = 20) -> None:
    """One stream at a time, 100 words/s: latency without queueing behind other work."""
    ttfd, relay = [], []
    for _ in range(streams):
        (result,) = await run_many(target, f"hi [bench:{words}:100]", 1)
        if result.time_to_first_delta_ms is not None:
            ttfd.append(result.time_to_first_delta_ms)
        relay += [r / 1e6 for r in result.relay_ns]
    figures.ttfd_ms.append(statistics.median(ttfd))
    figures.relay_p50_ms.append(statistics.median(relay))


async def long_thread(
    target: Target, figures: Figures, history_turns: int = 20, streams: int = 10
) -> None:
    """Time to first delta on a thread that already holds a full history window (40 items)."""

    async def send(body: dict) -> StreamResult:
        return await stream(target.port, target.path, body, target.headers)

    thread_id = None
    if target.keeps_threads:  # build the thread up first
        thread_id = (await send(target.body("start [bench:3:0]"))).thread_id
        for turn in range(1, history_turns):
            await send(target.next_turn(f"turn {turn} [bench:3:0]", thread_id, turn))
    ttfd = []
    for _ in range(streams):
        result = await send(target.next_turn("hi [bench:20:100]", thread_id, history_turns))
        if result.time_to_first_delta_ms is None:
            figures.long_thread_errors += 1
        else:
            ttfd.append(result.time_to_first_delta_ms)
    figures.long_thread_ttfd_ms.append(statistics.median(ttfd) if ttfd else float("nan"))


async def after_pause(
    targets: list[Target], figures: dict[str, Figures], pause: float = 6.0, samples: int = 2
) -> None:
    """Time to first delta for a message sent after a pause, as people send them.

    The fake provider keeps idle connections for 75 s; a backend that drops its own sooner
    pays a new connection (to a real provider: TCP and TLS handshakes) before the first token.
    """
    for _ in range(samples):
        await asyncio.sleep(pause)
        for target in targets:
            (result,) = await run_many(target, "hi [bench:20:100]", 1)
            if result.time_to_first_delta_ms is not None:
                figures[target.name].after_pause_ttfd_ms.append(result.time_to_first_delta_ms)


async def loaded(
    target: Target, figures: Figures, fake_pid: int, streams: int = 50, words: int = 200
) -> None:
    pid = target.pid or fake_pid
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    results = await run_many(target, f"load [bench:{words}:0]", streams)
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    deltas = sum(r.deltas for r in results)
    figures.load_errors += sum(1 for r in results if r.error or r.deltas != words)
    figures.cpu_us_per_delta.append(cpu / max(deltas, 1) * 1e6)
    figures.deltas_per_s.append(deltas / elapsed)


async def paced(target: Target, figures: Figures, streams: int = 200, words: int = 100) -> None:
    results = await run_many(target, f"paced [bench:{words}:50]", streams)
    figures.paced_errors += sum(1 for r in results if r.error)
    figures.paced_incomplete += sum(1 for r in results if not r.error and r.deltas != words)
    relay = [ns / 1e6 for r in results for ns in r.relay_ns]
    figures.paced_p95_ms.append(percentile(relay, 0.95))


def cold_start(
    procs: Processes, upstream: str, headers: dict[str, str], runs: int = 3, settle: float = 5
) -> tuple[list[float], list[float]]:
    """Seconds from launch to a 200 on ``/health``, and the time to first delta (ms) of the
    first message, sent once the server has settled (as a person would, some seconds later)."""
    health, first_message = [], []
    for index in range(runs):
        port = free_port()
        env = desk_env(procs.tmp / f"cold-{index}", upstream, "openai", port)
        child = procs.start([sys.executable, "-m", "backend", "serve"], env)
        health.append(wait_healthy(port))
        time.sleep(settle)
        result = asyncio.run(stream(port, "/chatkit", chatkit_body("hi [bench:5:100]"), headers))
        if result.time_to_first_delta_ms is not None:
            first_message.append(result.time_to_first_delta_ms)
        child.send_signal(signal.SIGINT)
        child.wait(15)
    return health, first_message


def tray_display(procs: Processes) -> tuple[dict[str, str], str]:
    """A real system tray when Xvfb and the ``trayer`` tray host are installed; otherwise Qt's
    offscreen platform, which has no tray, so the app opens its settings window instead."""
    if not (shutil.which("Xvfb") and shutil.which("trayer")):
        return {"QT_QPA_PLATFORM": "offscreen"}, "offscreen: no tray, the settings window open"
    number = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    display = f":{number}"
    procs.start(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"])
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    procs.start(["trayer"], {"DISPLAY": display})
    time.sleep(1)
    return {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}, "in a system tray (Xvfb + trayer)"


FLOORS = ("tray", "server")
"""The libraries alone, idle: a bare Qt tray icon, and the server's imports serving nothing."""


@dataclass
class Idle:
    rss_mb: float
    floor_mb: float
    cpu_share: float
    detail: str


def idle_tray(
    procs: Processes,
    upstream: str,
    headers: dict[str, str],
    tree: Path = ROOT,
    settle: float = 5,
    window: float = 10,
) -> Idle | None:
    """Memory and CPU of tray + server idling after one conversation: the state they spend the
    day in (a server that has never answered has not yet loaded all that a turn needs)."""
    port = free_port()
    env = desk_env(procs.tmp / f"tray{tree_label(tree)}", upstream, "openai", port)
    display, how = tray_display(procs)
    env.update(display)
    entry = "chatkit_desk" if (tree / "chatkit_desk").is_dir() else "backend"  # older trees
    tray = procs.start([sys.executable, "-m", entry, "tray"], env, tree)
    floors = [procs.start([sys.executable, "bench/idle_floor.py", part], env) for part in FLOORS]
    try:
        wait_healthy(port, timeout=60)
    except RuntimeError:
        tray.kill()
        return None
    time.sleep(settle)
    talk = asyncio.run(stream(port, "/chatkit", chatkit_body("hello [bench:20:0]"), headers))
    if talk.error or not talk.deltas:
        how += f" — but its conversation failed: {talk.error or 'no text'}"
    time.sleep(settle)
    pids = [tray.pid, *children_of(tray.pid)]
    before = sum(cpu_seconds(p) for p in pids)
    time.sleep(window)
    cpu_share = (sum(cpu_seconds(p) for p in pids) - before) / window * 100
    rss = [rss_mb(p) for p in pids]
    floor_rss = [rss_mb(floor.pid) for floor in floors]
    for floor in floors:
        floor.kill()
    tray.send_signal(signal.SIGTERM)
    tray.wait(20)
    parts = " + ".join(f"{mb:.0f}" for mb in rss)
    floor_parts = " + ".join(f"{mb:.0f}" for mb in floor_rss)
    return Idle(
        sum(rss),
        sum(floor_rss),
        cpu_share,
        f"{parts} MB (tray + server, after one conversation), {how}; the libraries alone "
        f"(bench/idle_floor.py: {' + '.join(FLOORS)}): {sum(floor_rss):.0f} MB = {floor_parts}",
    )


def children_of(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--also",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="also run ChatKit Desk from this source tree (e.g. a git worktree of main), for "
        "figures before and after a change measured in the same run",
    )
    args = parser.parse_args()
    trees = [ROOT, *(tree.resolve() for tree in args.also)]
    procs = Processes()
    try:
        targets = start_targets(procs, trees)
        fake_pid = procs.children[0].pid
        figures = {t.name: Figures() for t in targets}
        for target in targets:  # warm-up: first requests in a fresh process are slower
            asyncio.run(run_many(target, "warm [bench:5:0]", 3))
        for round_number in range(args.rounds):
            print(f"round {round_number + 1}/{args.rounds}", file=sys.stderr, flush=True)
            for target in targets:
                asyncio.run(sequential(target, figures[target.name]))
            for target in targets:
                asyncio.run(long_thread(target, figures[target.name]))
            asyncio.run(after_pause(targets, figures))
            for target in targets:
                asyncio.run(loaded(target, figures[target.name], fake_pid))
            for target in targets:
                asyncio.run(paced(target, figures[target.name]))
        upstream = f"http://127.0.0.1:{targets[0].port}/v1"  # "direct" is the fake provider
        desk = next(t for t in targets if t.name == DESK_OPENAI)
        cold = cold_start(procs, upstream, desk.headers)
        trays = {tree: idle_tray(procs, upstream, desk.headers, tree) for tree in trees}
        tools = tool_round_trip.run(procs, upstream, procs.tmp / "tools", 10 * args.rounds)
        attachments = attachment_turn.run(procs, procs.tmp / "attachments", 5 * args.rounds)
        team = team_mode.unavailable() or team_mode.run(procs, procs.tmp / "team", args.rounds)
    finally:
        procs.stop_all()
    report(targets, figures, cold, trays)
    print()
    print("\n".join(tool_round_trip.report(tools)))
    print()
    print("\n".join(attachment_turn.report(attachments)))
    print()
    if isinstance(team, str):
        print(f"team mode: not measured ({team})")
    else:
        print("\n".join(team_mode.report(team)))
    for tree in trees[1:]:
        print()
        print("\n".join(against_before(figures, tree_label(tree))))


def long_thread_cell(figures: Figures) -> str:
    answered = [ms for ms in figures.long_thread_ttfd_ms if ms == ms]  # NaN: nothing answered
    cell = f"{statistics.median(answered):.1f}" if answered else "—"
    if figures.long_thread_errors:
        cell += f" ({figures.long_thread_errors} failed)"
    return cell


def report(
    targets: list[Target],
    figures: dict[str, Figures],
    cold: tuple[list[float], list[float]],
    trays: dict[Path, Idle | None],
) -> None:
    med = statistics.median
    print()
    columns = [
        "target",
        "time to first delta p50 (ms)",
        "… on a 40-item thread (ms)",
        "… after a 6 s pause (ms)",
        "relay p50 (ms)",
        "CPU per delta at 50 streams (µs)",
        "deltas/s at 50 streams",
        "errors at 50",
        "200 paced at 50/s: errors / incomplete / relay p95 (ms)",
    ]
    print("| " + " | ".join(columns) + " |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for target in targets:
        f = figures[target.name]
        cpu = f"{med(f.cpu_us_per_delta):.0f}" + ("" if target.pid else " (fake provider's own)")
        print(
            f"| {target.name} | {med(f.ttfd_ms):.1f} | {long_thread_cell(f)} | "
            f"{med(f.after_pause_ttfd_ms):.1f} | "
            f"{med(f.relay_p50_ms):.2f} | {cpu} | "
            f"{med(f.deltas_per_s):.0f} | {f.load_errors} | "
            f"{f.paced_errors} / {f.paced_incomplete} / {med(f.paced_p95_ms):.1f} |"
        )
    print()
    health, first_message = cold
    print(
        f"cold start of `chatkit-desk serve` to 200 on /health: median {med(health) * 1000:.0f} ms "
        f"(runs: {', '.join(f'{c * 1000:.0f}' for c in health)})"
    )
    runs = ", ".join(f"{ms:.1f}" for ms in first_message)
    print(
        f"first message after start (OpenAI path, sent 5 s after launch): time to first delta "
        f"median {med(first_message):.1f} ms (runs: {runs}; every later message: "
        f"{med(figures[DESK_OPENAI].ttfd_ms):.1f})"
    )
    for tree, tray in trays.items():
        if tray:
            print(
                f"idle tray + server{tree_label(tree)}: {tray.rss_mb:.0f} MB RSS, "
                f"{tray.cpu_share:.2f}% CPU over 10 s ({tray.detail})"
            )
        else:
            print(f"idle tray + server{tree_label(tree)}: the tray did not start a healthy server")
    for tree, tray in trays.items():
        print()
        for line in verdicts(figures, tray, tree_label(tree)):
            print(line)


PATHS = {  # provider path: (its minimal relay, its baseline, ChatKit Desk on it)
    "OpenAI": ("minimal relay (Responses)", "baseline (OpenAI path)", DESK_OPENAI),
    "Gemini": ("minimal relay (Chat Completions)", "baseline (Gemini path)", DESK_GEMINI),
}


@dataclass(frozen=True)
class Goal:
    """Issue 12's targets: at most ``floor × times + plus``, the floor measured in the same run."""

    what: str
    unit: str
    digits: int
    plus: float = 0.0
    times: float = 1.0

    def verdict(self, path: str, figure: float, floor: float, floor_name: str) -> str:
        met = figure <= floor * self.times + self.plus
        if self.plus:
            gap = f"{figure - floor:+.{self.digits}f} {self.unit}"
            target = f"+{self.plus:g} {self.unit}"
        else:
            gap, target = f"{figure / floor:.2f}×", f"{self.times:g}×"
        return (
            f"verdict: {self.what} ({path}): {figure:.{self.digits}f} {self.unit} vs "
            f"{floor_name} {floor:.{self.digits}f} {self.unit}: {gap} (target ≤ {target}): "
            f"{'met' if met else 'NOT met'}"
        )


TTFD = Goal("time to first delta", "ms", 1, plus=4.5)
RELAY = Goal("relay p50", "ms", 2, plus=0.3)
CPU = Goal("server CPU per delta at 50 streams", "µs", 0, times=0.6)
IDLE = Goal("idle tray + server after one conversation", "MB", 0, plus=60)


def verdicts(figures: dict[str, Figures], tray: Idle | None, tree: str = "") -> list[str]:
    med = statistics.median
    lines = []
    for path, (relay, baseline, desk) in PATHS.items():
        r, b, d = figures[relay], figures[baseline], figures[desk + tree]
        lines += [
            TTFD.verdict(path, med(d.ttfd_ms), med(r.ttfd_ms), "the minimal relay's"),
            RELAY.verdict(path, med(d.relay_p50_ms), med(r.relay_p50_ms), "the minimal relay's"),
            CPU.verdict(path, med(d.cpu_us_per_delta), med(b.cpu_us_per_delta), "the baseline's"),
        ]
    if tray is None:
        lines.append(f"verdict: {IDLE.what}: not measured (the tray started no server)")
    else:  # measured with the tray on the OpenAI path
        lines.append(IDLE.verdict("OpenAI", tray.rss_mb, tray.floor_mb, "the libraries alone"))
    return [line.replace("verdict:", f"verdict{tree}:", 1) for line in lines]


NO_SLOWER = 1.05
"""Issue 13: a text turn with no tool servers is no slower than before (within 5 %, noise)."""


def against_before(figures: dict[str, Figures], before: str) -> list[str]:
    """This tree beside another (``--also``): a plain text turn, no tool servers configured."""
    med = statistics.median
    lines = []
    for desk in (DESK_OPENAI, DESK_GEMINI):
        now, then = figures[desk], figures[desk + before]
        for what, unit, mine, theirs in (
            ("time to first delta", "ms", med(now.ttfd_ms), med(then.ttfd_ms)),
            ("relay p50", "ms", med(now.relay_p50_ms), med(then.relay_p50_ms)),
            ("CPU per delta", "µs", med(now.cpu_us_per_delta), med(then.cpu_us_per_delta)),
        ):
            met = mine <= theirs * NO_SLOWER
            lines.append(
                f"verdict: text turn, no tool servers, {what} ({desk}): {mine:.2f} {unit} vs "
                f"{theirs:.2f} {unit}{before}: {mine / theirs:.2f}× (target ≤ {NO_SLOWER:g}×): "
                f"{'met' if met else 'NOT met'}"
            )
    return lines


if __name__ == "__main__":
    main()
