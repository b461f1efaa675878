"""Team mode (issue 15): Postgres beside SQLite, and one replica beside two behind HAProxy.

Reuses the tests' throwaway Postgres (``tests/support/postgres.py``) and HAProxy running the
shipped ``deploy/haproxy.cfg`` (``tests/support/load_balancer.py``, TLS as deployed), with a fake
provider of its own.

(a) **Stores**: two ``chatkit-desk serve``, the same settings but one on SQLite and one on
Postgres. Each round: 20 messages one at a time, alternating between them (a new thread each:
the thread and the message are committed before the model is called, so the store is in the
time to first delta); then 50 concurrent streams of 200 words on each: CPU per delta of the
server, and of Postgres (every process of the cluster), which does outside the server what
SQLite does inside it.

(b) **Replicas**: two replicas on Postgres. Sustained load: ``CONCURRENCY`` clients (a user
each), each sending one 200-word stream after another for ``SECONDS``; deltas/s is what arrived
in that window, errors are streams that failed or came short. The same load, in an order that
rotates every round, on: the fake provider alone (the most this client and fake can move), one
replica directly, one replica behind HAProxy, two replicas behind HAProxy. Every process's CPU
over the window is read from ``/proc``, and the machine's from ``/proc/stat``: "other" is what
ran besides (the kernel's share of loopback traffic, and anything else on the machine).

What 2 cores allow: with CPU per delta as in the one-replica run, two replicas can carry at most
(2 − other) / (cores busy in the one-replica run) times its load, however the work is split:
the replica, its provider, HAProxy, Postgres and the client all draw on the same 2 cores.

``python3 scripts/bench.py`` runs it last; alone: ``python -m bench.team_mode [ROUNDS]``.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import jwt

from bench.sse_load import StreamResult, stream

if TYPE_CHECKING:
    from bench.run import Processes

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1
CONCURRENCY = 64
SECONDS = 10.0
WORDS = 200
GOAL = 1.7
"""Issue 15: two replicas carry at least 1.7× one replica's load, with zero errors."""
RESTATED_SHARE = 0.9
"""Where 2 cores cannot give 1.7×: two replicas reach 90% of what they can give (``verdict``)."""
DOWN = re.compile(r"Server desk/\S+ is DOWN")
STORES = ("SQLite", "Postgres")
FAKE_ALONE = "fake provider alone"
ONE_DIRECT = "1 replica, direct"
ONE_LB = "1 replica behind HAProxy"
TWO_LB = "2 replicas behind HAProxy"


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and all its descendants, reaped or alive (Postgres starts a
    process per connection, which may end inside the window)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # ended meanwhile: its parent's reaped time has it
        return 0.0
    own = sum(int(value) for value in fields[11:15]) / CLOCK_TICKS  # utime stime cutime cstime
    return own + sum(tree_cpu(int(child)) for child in children)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, everything but idle and
    waiting on I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) / CLOCK_TICKS


@dataclass
class Server:
    name: str
    port: int
    pids: list[int] = field(default_factory=list)
    """The server's processes, whose CPU per delta (a) reads."""
    tls: bool = False
    path: str = "/chatkit"


@dataclass
class StoreSeries:
    first_delta_ms: list[float] = field(default_factory=list)
    cpu_us_per_delta: list[float] = field(default_factory=list)
    database_us_per_delta: list[float] = field(default_factory=list)
    errors: int = 0


@dataclass
class LoadSeries:
    deltas_per_s: list[float] = field(default_factory=list)
    cores: dict[str, list[float]] = field(default_factory=dict)
    """Process → cores it used over each window (1.0: one core busy throughout)."""
    us_per_delta: dict[str, list[float]] = field(default_factory=dict)
    """Process → its CPU per delta that arrived, each window (µs)."""
    streams: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    """What went wrong → how many streams."""


@dataclass
class Figures:
    stores: dict[str, StoreSeries]
    loads: dict[str, LoadSeries]
    load_average: str = ""
    taken_out: list[str] = field(default_factory=list)
    """HAProxy's log lines for each replica it took out of the rotation (a failed check)."""


def token(user: str) -> dict[str, str]:
    from bench.run import SECRET

    now = int(time.time())
    claims = {"sub": user, "iat": now, "exp": now + 86400}
    return {"Authorization": f"Bearer {jwt.encode(claims, SECRET, 'HS256')}"}


def body(server: Server, text: str) -> dict:
    from bench.run import chatkit_body

    if server.path == "/chatkit":
        return chatkit_body(text)
    return {"model": "fake-gpt", "input": text, "stream": True}


def failed(result: StreamResult, words: int) -> bool:
    return bool(result.error) or result.deltas != words


def what_failed(result: StreamResult) -> str:
    """A short name for a failed stream's error: its status line, exception or event type."""
    if not result.error:
        return "answer cut short"
    if result.error.startswith("HTTP/"):
        return result.error
    return result.error.split(":", 1)[0][:40]


async def one_at_a_time(servers: list[Server], series: dict[str, StoreSeries], n: int) -> None:
    headers = token("bench-stores")
    for _ in range(n):
        for server in servers:
            text = body(server, "hi [bench:20:100]")
            result = await stream(server.port, server.path, text, headers)
            if failed(result, 20) or result.time_to_first_delta_ms is None:
                series[server.name].errors += 1
            else:
                series[server.name].first_delta_ms.append(result.time_to_first_delta_ms)


async def burst(server: Server, series: StoreSeries, database_pid: int, streams: int = 50) -> None:
    """50 streams at once, each its own user, as in the main bench's load scenario."""
    text = f"load [bench:{WORDS}:0]"
    requests = [
        stream(server.port, server.path, body(server, text), token(f"u{n}"), server.tls)
        for n in range(streams)
    ]
    server_cpu = sum(tree_cpu(pid) for pid in server.pids)
    database_cpu = tree_cpu(database_pid)
    results = await asyncio.gather(*requests)
    deltas = max(1, sum(r.deltas for r in results))
    server_cpu = sum(tree_cpu(pid) for pid in server.pids) - server_cpu
    series.cpu_us_per_delta.append(server_cpu / deltas * 1e6)
    series.database_us_per_delta.append((tree_cpu(database_pid) - database_cpu) / deltas * 1e6)
    series.errors += sum(failed(r, WORDS) for r in results)


async def sustained(server: Server, watched: dict[str, list[int]], series: LoadSeries) -> None:
    """``CONCURRENCY`` clients streaming back to back for ``SECONDS``: deltas that arrived in
    the window, every process's CPU over it; streams still open at its end finish untimed."""
    from bench.run import cpu_seconds

    results: list[StreamResult] = []
    users = [token(f"team-{n}") for n in range(CONCURRENCY)]
    stop = time.monotonic() + SECONDS

    async def client(headers: dict[str, str]) -> None:
        while time.monotonic() < stop:
            text = f"load [bench:{WORDS}:0]"
            results.append(
                await stream(server.port, server.path, body(server, text), headers, server.tls)
            )

    def sample() -> dict[str, float]:
        cpu = {name: sum(tree_cpu(pid) for pid in pids) for name, pids in watched.items()}
        cpu["load client"] = cpu_seconds(os.getpid())
        return {**cpu, "machine": machine_busy()}

    async def window() -> tuple[dict[str, float], dict[str, float], int, int]:
        before, started = sample(), time.time_ns()
        await asyncio.sleep(SECONDS)
        return before, sample(), started, time.time_ns()

    measuring = asyncio.create_task(window())
    await asyncio.gather(*(client(headers) for headers in users))
    before, after, started, ended = await measuring
    elapsed = (ended - started) / 1e9
    arrived = sum(started <= t <= ended for r in results for t in r.arrivals.values())
    series.deltas_per_s.append(arrived / elapsed)
    series.streams += len(results)
    series.errors.update(what_failed(r) for r in results if failed(r, WORDS))
    cores = {name: (after[name] - before[name]) / elapsed for name in before}
    cores["other"] = cores.pop("machine") - sum(cores.values())
    for name, share in cores.items():
        series.cores.setdefault(name, []).append(share)
        series.us_per_delta.setdefault(name, []).append(share / max(arrived, 1) * elapsed * 1e6)


def start_server(
    procs: Processes, folder: Path, upstream: str, extra: dict[str, str]
) -> tuple[int, subprocess.Popen[bytes]]:
    """A ``chatkit-desk serve`` of this tree, configured as a team replica; its port."""
    from bench.run import desk_env, free_port

    port = free_port()
    env = desk_env(folder, upstream, "openai", port)
    env.update(
        CHATKIT_DESK_LOG_FORMAT="json",
        CHATKIT_DESK_TRUSTED_PROXIES="127.0.0.1",
        CHATKIT_DESK_MAX_STREAMS_PER_USER="1000",
        **extra,
    )
    return port, procs.start([sys.executable, "-m", "backend", "serve"], env)


def stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        child.send_signal(signal.SIGINT)
    for child in children:
        child.wait(30)


def postmaster_pid(directory: Path) -> int:
    return int((directory / "data" / "postmaster.pid").read_text().split()[0])


def unavailable() -> str | None:
    """Why this section cannot run here (Debian's ``postgresql`` or ``haproxy`` missing)."""
    from tests.support.load_balancer import haproxy_binary
    from tests.support.postgres import PostgresMissing, _bin_dir

    try:
        _bin_dir()
        haproxy_binary()
    except (PostgresMissing, RuntimeError) as exc:
        return str(exc)
    return None


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def run(procs: Processes, folder: Path, rounds: int) -> Figures:
    """Start Postgres, a fake provider, the servers and the load balancers; measure (a), (b)."""
    from bench.run import free_port, wait_for_port, wait_healthy
    from tests.support.load_balancer import LoadBalancer
    from tests.support.postgres import start_cluster

    folder.mkdir(parents=True, exist_ok=True)
    fake_port = free_port()
    fake = procs.start([sys.executable, "-m", "tests.support.fake_upstream", str(fake_port)])
    wait_for_port(fake_port)
    upstream = f"http://127.0.0.1:{fake_port}/v1"
    cluster = start_cluster()
    balancers: list[LoadBalancer] = []
    figures = Figures({name: StoreSeries() for name in STORES}, {}, load_average())
    try:
        postgres_pid = postmaster_pid(cluster.directory)
        database = {"CHATKIT_DESK_DATABASE_URL": cluster.url}
        stores, children = [], []
        for name, extra in (("SQLite", {}), ("Postgres", database)):
            port, child = start_server(procs, folder / f"store-{name}", upstream, extra)
            stores.append(Server(name, port, [child.pid]))
            children.append(child)
        for server in stores:
            wait_healthy(server.port)
            asyncio.run(burst(server, StoreSeries(), postgres_pid, 10))  # warm-up
        for number in range(rounds):
            print(f"team mode, stores: round {number + 1}/{rounds}", file=sys.stderr, flush=True)
            order = stores if number % 2 == 0 else stores[::-1]
            asyncio.run(one_at_a_time(order, figures.stores, 20))
            for server in order:
                asyncio.run(burst(server, figures.stores[server.name], postgres_pid))
        stop(children)  # idle servers would still take their share of the cores

        replicas = [
            start_server(procs, folder / f"replica-{n}", upstream, database) for n in (1, 2)
        ]
        for port, _ in replicas:
            wait_healthy(port)
        for ports in ([replicas[0][0]], [port for port, _ in replicas]):
            lb_folder = folder / f"haproxy-{len(ports)}"
            lb_folder.mkdir()
            balancers.append(LoadBalancer(lb_folder, ports).start())
        haproxy = [lb.process.pid for lb in balancers if lb.process]
        watched = {
            "replica 1": [replicas[0][1].pid],
            "replica 2": [replicas[1][1].pid],
            "fake provider": [fake.pid],
            "HAProxy": haproxy,
            "Postgres": [postgres_pid],
        }
        targets = [
            Server(FAKE_ALONE, fake_port, [fake.pid], path="/v1/responses"),
            Server(ONE_DIRECT, replicas[0][0]),
            Server(ONE_LB, balancers[0].https_port, tls=True),
            Server(TWO_LB, balancers[1].https_port, tls=True),
        ]
        figures.loads = {target.name: LoadSeries() for target in targets}
        for target in targets:  # warm-up: every path once, both replicas through the second LB
            asyncio.run(burst(target, StoreSeries(), postgres_pid, 8))
        # Where each log stood when the load began: a replica still loading is out at first.
        logged = {lb.folder.name: lb.log_file.stat().st_size for lb in balancers}
        for number in range(rounds):
            print(f"team mode, replicas: round {number + 1}/{rounds}", file=sys.stderr, flush=True)
            for target in targets[number % 4 :] + targets[: number % 4]:
                asyncio.run(sustained(target, watched, figures.loads[target.name]))
        figures.load_average += f" at the start, {load_average()} at the end"
        figures.taken_out = [
            f"{lb.folder.name}: {line.strip()}"
            for lb in balancers
            for line in lb.log_file.read_bytes()[logged[lb.folder.name] :].decode().splitlines()
            if DOWN.match(line)
        ]
    finally:
        for lb in balancers:
            lb.stop()
        cluster.stop()
    return figures


def report(figures: Figures) -> list[str]:
    med = statistics.median
    lines = [
        "team mode (a): one server on each store, same load (time to first delta: messages one "
        "at a time, each a new thread; CPU: 50 concurrent streams of 200 words):",
        "",
        "| store | time to first delta p50 (ms) | p90 (ms) | server CPU per delta (µs) | "
        "Postgres CPU per delta (µs) | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    from bench.run import percentile

    for name, s in figures.stores.items():
        database = f"{med(s.database_us_per_delta):.0f}" if name == "Postgres" else "—"
        lines.append(
            f"| {name} | {med(s.first_delta_ms):.1f} | {percentile(s.first_delta_ms, 0.9):.1f} | "
            f"{med(s.cpu_us_per_delta):.0f} | {database} | {s.errors} |"
        )
    names = ["replica 1", "replica 2", "fake provider", "HAProxy", "Postgres", "load client"]
    lines += [
        "",
        f"team mode (b): {CONCURRENCY} clients streaming {WORDS}-word answers back to back for "
        f"{SECONDS:g} s, replicas on Postgres (medians over rounds; cores: CPU seconds per "
        f"second of each process over the window, of {CORES}):",
        "",
        "| target | deltas/s | × one replica behind HAProxy | streams (errors) | "
        + " | ".join([*names, "other", "all"])
        + " |",
        "| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in names) + " | ---: | ---: |",
    ]
    one = med(figures.loads[ONE_LB].deltas_per_s)
    for name, s in figures.loads.items():
        rate = med(s.deltas_per_s)
        cores = {part: med(shares) for part, shares in s.cores.items()}
        cells = [f"{cores[part]:.2f}" for part in [*names, "other"]]
        lines.append(
            f"| {name} | {rate:.0f} | {rate / one:.2f}× | {s.streams} ({s.errors.total()}) | "
            + " | ".join(cells)
            + f" | {sum(cores.values()):.2f} |"
        )
    lines += ["", *verdict(figures), f"load average (1, 5, 15 min): {figures.load_average}"]
    return lines


def verdict(figures: Figures) -> list[str]:
    """Issue 15's goal, and what 2 cores allow at the CPU per delta measured beside it.

    A replica is one Python process (one event loop): it uses at most one core, so one replica
    carries at most 1/r deltas/s (r: its CPU per delta). Two replicas and everything else here
    (o: the fake provider, HAProxy, Postgres and the load client, per delta) share the cores: at
    most CORES/(r + o). Two replicas can then carry at most CORES·r/(r + o)× one replica's load;
    without the client and the provider (elsewhere in a deployment), CORES·r/(r + h + p)×.
    CPU per delta holds steady when other work shares the machine; deltas/s does not.
    """
    med = statistics.median
    one, two = figures.loads[ONE_LB], figures.loads[TWO_LB]
    ratio = med(two.deltas_per_s) / med(one.deltas_per_s)
    us = {part: med(values) for part, values in one.us_per_delta.items() if part != "other"}
    r = us.pop("replica 1") + us.pop("replica 2")
    server_side = us["HAProxy"] + us["Postgres"]
    bound = CORES * r / (r + sum(us.values()))
    bound_server_side = CORES * r / (r + server_side)
    errors = two.errors
    restated = min(GOAL, RESTATED_SHARE * bound)
    listed = ", ".join(f"{kind} ×{n}" for kind, n in errors.most_common())
    other = {name: med(figures.loads[name].cores["other"]) for name in (ONE_LB, TWO_LB)}

    def met(target: float) -> str:
        return "met" if ratio >= target and not errors else "NOT met"

    lines = [
        f"verdict: two replicas behind HAProxy carry {ratio:.2f}× one replica's deltas/s with "
        f"{errors.total()} failed streams{f' ({listed})' if listed else ''} (target ≥ {GOAL:g}×, "
        f"no errors): {met(GOAL)}; other work on the machine meanwhile: "
        f"{other[ONE_LB]:.2f} / {other[TWO_LB]:.2f} cores",
        f"floor: CPU per delta, one replica behind HAProxy: replica {r:.0f} µs, "
        + ", ".join(f"{part} {value:.0f}" for part, value in us.items())
        + f" µs: {CORES} cores allow two replicas at most {bound:.2f}× one replica's load "
        f"(a replica being at most one core), {bound_server_side:.2f}× with only HAProxy and "
        "Postgres beside them",
        f"verdict (restated for {CORES} cores shared with the provider, HAProxy, Postgres and the "
        f"client: ≥ {RESTATED_SHARE:.0%} of that floor, at most {GOAL:g}×, no errors): "
        f"{ratio:.2f}× vs ≥ {restated:.2f}×: {met(restated)}",
    ]
    if one.errors:
        direct = med(two.deltas_per_s) / med(figures.loads[ONE_DIRECT].deltas_per_s)
        lines.append(
            f"one replica behind HAProxy failed {one.errors.total()} streams "
            f"({', '.join(f'{kind} ×{n}' for kind, n in one.errors.most_common())}), so its "
            f"deltas/s is low by the time it was out of the rotation; two replicas against one "
            f"replica direct: {direct:.2f}×"
        )
    if figures.taken_out:
        lines.append(f"HAProxy took a replica out {len(figures.taken_out)} times:")
        lines += [f"  {line}" for line in figures.taken_out]
    return lines


def main() -> None:
    from bench.run import Processes

    if reason := unavailable():
        sys.exit(f"team mode cannot be measured here: {reason}")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    procs = Processes()
    try:
        figures = run(procs, procs.tmp / "team", rounds)
    finally:
        procs.stop_all()
    print("\n".join(report(figures)))


if __name__ == "__main__":
    main()
