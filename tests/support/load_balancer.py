"""A real HAProxy (Debian's) in front of real ``serve`` replicas, with ``deploy/haproxy.cfg``.

The shipped configuration is used as it is, except for its server lines (the replicas run here on
loopback ports instead of being found by Docker's DNS) and an admin socket added for the tests
to read each replica's state from, and to take a replica out of the rotation for a while
(``only``), so that a test knows which replica answers a request sent through the load balancer.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.desk_process import REPO_ROOT, DeskProcess, base_env, free_port
from tests.support.fake_upstream import FakeUpstream
from tests.support.waiting import wait_until

CONFIG = REPO_ROOT / "deploy" / "haproxy.cfg"
SERVERS = re.compile(r"    # servers:begin.*?# servers:end\n", re.DOTALL)


def haproxy_binary() -> str:
    """Debian's haproxy; a missing one fails the run (``.ci/run`` installs it), never skips."""
    found = shutil.which("haproxy") or shutil.which("/usr/sbin/haproxy")
    if found is None:
        raise RuntimeError("HAProxy is not installed: apt-get install haproxy (see .ci/run)")
    return found


def self_signed_pem(folder: Path) -> Path:
    """A certificate for ``localhost`` and its key in one PEM file, as HAProxy's ``crt`` wants."""
    key, cert, pem = folder / "key.pem", folder / "cert.pem", folder / "desk.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    return pem


def environment(http_port: int, https_port: int, pem: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DESK_HTTP_BIND": f"127.0.0.1:{http_port}",
        "DESK_HTTPS_BIND": f"127.0.0.1:{https_port}",
        "DESK_TLS_CERT": str(pem),
    }


def check_config(config: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [haproxy_binary(), "-c", "-f", str(config)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


class LoadBalancer:
    def __init__(
        self, folder: Path, replica_ports: list[int], idle_timeout: str | None = None
    ) -> None:
        """``idle_timeout`` replaces the configuration's client and server timeouts."""
        self.folder = folder
        self.http_port, self.https_port = free_port(), free_port()
        self.admin_socket = folder / "admin.sock"
        self.env = environment(self.http_port, self.https_port, self_signed_pem(folder))
        servers = "".join(
            f"    server desk-{n} 127.0.0.1:{port}\n" for n, port in enumerate(replica_ports, 1)
        )
        text = SERVERS.sub(servers, CONFIG.read_text(encoding="utf-8"), count=1)
        text = text.replace(
            "global\n", f"global\n    stats socket {self.admin_socket} level admin\n", 1
        )
        if idle_timeout is not None:
            text = re.sub(r"timeout (client|server) \S+", rf"timeout \1 {idle_timeout}", text)
        self.config = folder / "haproxy.cfg"
        self.config.write_text(text, encoding="utf-8")
        self.log_file = folder / "haproxy.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def start(self) -> LoadBalancer:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [haproxy_binary(), "-db", "-f", str(self.config)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: self.process.poll() is not None or self.states().get("desk-1") == "UP",
            "HAProxy started and saw its replicas",
        )
        if self.process.poll() is not None:
            raise RuntimeError(f"HAProxy exited:\n{self.log_file.read_text(errors='replace')}")
        wait_until(lambda: set(self.states().values()) == {"UP"}, "HAProxy saw every replica ready")
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)  # soft stop
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def command(self, text: str) -> str:
        """One command on the admin socket, and HAProxy's answer."""
        with socket.socket(socket.AF_UNIX) as admin:
            admin.settimeout(10)
            admin.connect(str(self.admin_socket))
            admin.sendall(text.encode() + b"\n")
            answer = b""
            while chunk := admin.recv(65536):
                answer += chunk
        return answer.decode()

    def stat(self) -> dict[str, dict[str, str]]:
        """``show stat`` of the replicas, by server name."""
        try:
            answer = self.command("show stat")
        except OSError:
            return {}
        rows = csv.DictReader(answer.lstrip("# ").splitlines())
        return {
            row["svname"]: row
            for row in rows
            if row["pxname"] == "desk" and row["svname"] not in ("FRONTEND", "BACKEND")
        }

    def states(self) -> dict[str, str]:
        """``UP``, ``DOWN`` (or a transition such as ``UP 1/2``) of each replica."""
        return {name: row["status"] for name, row in self.stat().items()}

    def streams_on(self) -> dict[str, int]:
        """The requests each replica is answering now."""
        return {name: int(row["scur"] or 0) for name, row in self.stat().items()}

    def served(self) -> dict[str, int]:
        """The requests each replica has been sent so far (health checks not counted)."""
        return {name: int(row["stot"] or 0) for name, row in self.stat().items()}

    @contextmanager
    def only(self, name: str) -> Iterator[None]:
        """Every other replica in maintenance while the block runs: requests sent through the
        load balancer meanwhile go to ``name`` (checked: ``served`` counts them)."""
        others = [other for other in self.states() if other != name]
        for other in others:
            answer = self.command(f"set server desk/{other} state maint").strip()
            assert not answer, answer
        wait_until(
            lambda: all(self.states().get(o, "").startswith("MAINT") for o in others),
            f"HAProxy sends everything to {name}",
        )
        before = self.served()
        try:
            yield
        finally:
            after = self.served()
            for other in others:
                self.command(f"set server desk/{other} state ready")
        assert all(after[o] == before[o] for o in others), (before, after)
        for other in others:  # back in the rotation once their health check passes again
            wait_until(lambda other=other: self.states().get(other) == "UP", f"{other} is back in")


START_SECONDS = 120.0
"""Replicas start together, each importing the whole chat stack: on a busy 2-core machine that
has taken 40 s."""


@dataclass
class Team:
    """Replicas (``desk-1``, ``desk-2``, … in HAProxy's names) behind one load balancer."""

    replicas: list[DeskProcess]
    lb: LoadBalancer
    folder: Path

    def replica(self, name: str) -> DeskProcess:
        """The replica HAProxy calls ``name``."""
        return self.replicas[int(name.removeprefix("desk-")) - 1]


def start_team(
    folder: Path,
    upstream: FakeUpstream,
    count: int = 2,
    database_url: str | None = None,
    **env: str,
) -> Team:
    """``count`` replicas, each with its own data dir, and HAProxy in front; on one Postgres
    (team mode) with ``database_url``, else each on its own SQLite file. The replicas start
    together, as a deployment's do (on an empty database they race to make the schema)."""
    replicas = []
    for n in range(1, count + 1):
        environment = base_env(folder / f"replica-{n}", upstream.base_url, folder / "keyring.json")
        environment.update(
            CHATKIT_DESK_TRUSTED_PROXIES="127.0.0.1",
            CHATKIT_DESK_LOG_FORMAT="json",
            CHATKIT_DESK_DRAIN_SECONDS="60",
        )
        if database_url is not None:
            environment["CHATKIT_DESK_DATABASE_URL"] = database_url
        environment.update(env)
        replicas.append(DeskProcess(environment, folder / f"replica-{n}.log"))
    lb = LoadBalancer(folder, [replica.port for replica in replicas])
    for replica in replicas:
        replica.env["CHATKIT_DESK_PUBLIC_URL"] = lb.url
    team = Team(replicas, lb, folder)
    try:
        with ThreadPoolExecutor(count) as starting:
            list(starting.map(lambda replica: replica.start(START_SECONDS), replicas))
        lb.start()
    except BaseException:
        stop_team(team)
        raise
    return team


def stop_team(team: Team) -> None:
    team.lb.stop()
    for replica in team.replicas:
        replica.kill()


def lb_client(local_address: str | None = None, **options: object) -> httpx.Client:
    """A client of the load balancer's HTTPS (its certificate is self-signed)."""
    transport = httpx.HTTPTransport(verify=False, local_address=local_address)
    return httpx.Client(transport=transport, timeout=60, **options)  # type: ignore[arg-type]
