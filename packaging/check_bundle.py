"""CI check of the app bundle and the .deb (issue 6): ``python packaging/check_bundle.py``.

Run with the project's Python (``.venv/bin/python``) from a checkout, as root on Debian/Ubuntu
(it installs and removes the package with apt-get). In order:

1. builds the one-folder bundle from the checkout (``packaging/build_bundle.py``);
2. starts the fake OpenAI-compatible upstream (``python -m tests.support.fake_upstream PORT``),
   then the bundled ``serve``; times launch → 200 on ``/health`` over 3 fresh launches; chats
   once (``threads.create`` on ``/chatkit`` with a PyJWT token) and checks the reply text, then
   has the model call a tool of the tests' MCP server (which the bundle launches over stdio),
   then sends a camera-sized photo and checks the model got the downscaled copy (Pillow);
   runs the bundled ``tools --json`` against the same ``mcp.json``; checks that team mode's
   Postgres driver (asyncpg) is not in the bundle and that the bundled ``migrate`` with
   ``CHATKIT_DESK_DATABASE_URL`` set says, in one line, what to install instead;
3. starts the bundled tray (``tray``, ``QT_QPA_PLATFORM=offscreen``) and waits for the server
   child it spawns (the same executable, ``serve``) to answer ``/health``, then stops the tray
   and checks the child went with it;
4. builds the .deb, ``apt-get install -y ./….deb``, runs ``/usr/bin/chatkit-desk --version`` and
   ``keys status``, ``apt-get remove -y chatkit-desk``, checks ``/opt/chatkit-desk`` is gone.

It prints the three budgets as measured: bundle size on disk (≤ 180 MB), .deb size (≤ 80 MB),
bundled ``serve`` launch → 200 on /health (≤ 1.5 s, median of 3). A missed budget is reported,
never a failure; the exit status is non-zero only when something does not work.
Options: ``--skip-build`` (reuse dist/chatkit-desk), ``--skip-install`` (no apt-get).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_bundle import BUNDLE, ROOT, build, tree_bytes

EXE = BUNDLE / "chatkit-desk"
JWT_SECRET = "bundle-check-" + "0123456789abcdef" * 4  # 77 characters
OPENAI_KEY = "sk-bundle-check-1111"
BUDGET_BUNDLE_MB = 180
BUDGET_DEB_MB = 80
BUDGET_START_S = 1.5
START_RUNS = 3


class CheckFailed(Exception):
    pass


def say(message: str) -> None:
    print(f"[check_bundle] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, timeout: float = 1.0) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def wait_for_health(url: str, process: subprocess.Popen, timeout: float, log: Path) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"{process.args} exited with {process.returncode}:\n{tail(log)}")
        try:
            status, body = get_json(f"{url}/health", timeout=0.5)
            if status == 200:
                return body
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    raise CheckFailed(f"{url}/health did not answer within {timeout:g} s:\n{tail(log)}")


def tail(path: Path, lines: int = 30) -> str:
    if not path.exists():
        return "(no output)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop(process: subprocess.Popen, timeout: float = 15) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def desk_env(data_dir: Path, upstream: str, port: int) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CHATKIT_DESK_", "QT_"))
        and key not in ("OPENAI_API_KEY", "GEMINI_API_KEY", "PYTHONPATH")
    }
    env.update(
        CHATKIT_DESK_DATA_DIR=str(data_dir),
        CHATKIT_DESK_JWT_SECRET=JWT_SECRET,
        CHATKIT_DESK_OPENAI_BASE_URL=upstream,
        CHATKIT_DESK_OPENAI_MODEL="fake-gpt",
        CHATKIT_DESK_PORT=str(port),
        OPENAI_API_KEY=OPENAI_KEY,
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


def start_upstream(work: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = work / "fake-upstream.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.fake_upstream", str(port)],
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CheckFailed(f"the fake upstream exited:\n{tail(log)}")
        try:
            get_json(f"{url}/models")
            return process, url
        except (OSError, ValueError):
            time.sleep(0.05)
    raise CheckFailed(f"the fake upstream did not start:\n{tail(log)}")


def measure_serve_start(work: Path, upstream: str) -> list[tuple[float, float]]:
    """Launch → first 200 on /health, for START_RUNS fresh processes (each with a new data dir).

    Each entry is (wall seconds, CPU seconds of the child until it has stopped again): on a
    busy machine the wall time grows with the load, the CPU time much less.
    """
    import resource

    times = []
    for run in range(START_RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        port = free_port()
        env = desk_env(work / f"start-{run}", upstream, port)
        log = work / f"serve-start-{run}.log"
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(EXE), "serve"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
        )
        try:
            wait_for_health(f"http://127.0.0.1:{port}", process, 60, log)
            wall = time.perf_counter() - started
        finally:
            stop(process)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        times.append((wall, cpu))
    return times


def mcp_config(work: Path) -> Path:
    """The tests' MCP server (run by this Python, which has ``mcp``), calls needing no approval."""
    entry = {
        "command": sys.executable,
        "args": [str(ROOT / "tests" / "support" / "mcp_server.py"), "stdio"],
        "env": {"MCP_TEST_DIR": str(work / "mcp")},
        "requireApproval": "never",
    }
    (work / "mcp").mkdir(parents=True, exist_ok=True)
    path = work / "mcp.json"
    path.write_text(json.dumps({"mcpServers": {"t": entry}}))
    return path


def post_chatkit(url: str, token: str, text: str, attachments: list[str] | None = None) -> str:
    body = {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": text}],
                "attachments": attachments or [],
                "inference_options": {},
            }
        },
    }
    request = urllib.request.Request(
        f"{url}/chatkit",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            stream = response.read().decode()
    except urllib.error.HTTPError as exc:
        raise CheckFailed(f"/chatkit answered {exc.code}: {exc.read()[:500]!r}") from None
    if '"type":"error"' in stream.replace(" ", ""):
        raise CheckFailed(f"the stream carried an error event:\n{stream[-2000:]}")
    return stream


def camera_photo() -> bytes:
    """A 3000 × 2000 JPEG (grain over a gradient: megabytes, like a phone photo)."""
    import io

    from PIL import Image

    size = (3000, 2000)
    gradient = Image.linear_gradient("L").resize(size)
    image = Image.merge("RGB", (Image.effect_noise(size, 40), gradient, gradient))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def upload_attachment(url: str, token: str, name: str, mime_type: str, data: bytes) -> str:
    """``attachments.create``, then the upload to its descriptor: the attachment's id."""
    create = {
        "type": "attachments.create",
        "params": {"name": name, "size": len(data), "mime_type": mime_type},
    }
    request = urllib.request.Request(
        f"{url}/chatkit",
        data=json.dumps(create).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        descriptor = json.loads(response.read())["upload_descriptor"]
    boundary = "bundlecheck"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    upload = urllib.request.Request(
        descriptor["url"],
        data=body,
        headers={
            **descriptor["headers"],
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(upload, timeout=60) as response:
            return json.loads(response.read())["id"]
    except urllib.error.HTTPError as exc:
        raise CheckFailed(f"the upload answered {exc.code}: {exc.read()[:500]!r}") from None


def chat_once(work: Path, upstream: str) -> str:
    """A text turn, a turn that calls a tool of a local MCP server (the bundle starts it), and
    one with a photo attached (the bundle's Pillow makes the model's copy)."""
    import jwt

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = work / "serve-chat.log"
    env = desk_env(work / "chat", upstream, port)
    env["CHATKIT_DESK_MCP_CONFIG"] = str(mcp_config(work))
    process = subprocess.Popen(
        [str(EXE), "serve"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        health = wait_for_health(url, process, 60, log)
        if health.get("app") != "chatkit-desk" or not health.get("key_configured"):
            raise CheckFailed(f"unexpected /health answer: {health}")
        now = int(time.time())
        token = jwt.encode(
            {"sub": "bundle-check", "iat": now, "exp": now + 600}, JWT_SECRET, algorithm="HS256"
        )
        stream = post_chatkit(url, token, "hello from the bundle")
        if "You said: hello from the bundle" not in stream:
            raise CheckFailed(f"no reply text in the stream:\n{stream[-2000:]}\n{tail(log)}")
        tool_stream = post_chatkit(url, token, '[tool:t__echo {"text": "from the bundle"}]')
        if "Tool results: t__echo → from the bundle." not in tool_stream:
            raise CheckFailed(f"the tool was not called:\n{tool_stream[-2000:]}\n{tail(log)}")
        photo = camera_photo()
        attachment_id = upload_attachment(url, token, "photo.jpg", "image/jpeg", photo)
        photo_stream = post_chatkit(url, token, "[received]", [attachment_id])
        sent = re.search(r"Received: image/jpeg (\d+) B", photo_stream)
        if sent is None or int(sent.group(1)) >= len(photo):
            raise CheckFailed(
                f"the photo did not reach the model downscaled (Pillow in the bundle):\n"
                f"{photo_stream[-2000:]}\n{tail(log)}"
            )
        return stream
    finally:
        stop(process)


def tools_command(work: Path) -> dict:
    """``chatkit-desk tools --json`` from the bundle: connects to the server of ``mcp.json``."""
    env = desk_env(work / "tools-check", "http://127.0.0.1:9/v1", free_port())
    result = run([str(EXE), "tools", "--config", str(mcp_config(work)), "--json"], env=env)
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    [server] = answer["servers"]
    if server["status"] != "connected" or not server["tools"]:
        raise CheckFailed(f"the bundled `tools` command could not connect: {answer}")
    return server


def team_mode_left_out(work: Path) -> None:
    """The desktop bundle has no Postgres driver, and says so when team mode is asked for."""
    bundled = sorted(str(path.relative_to(BUNDLE)) for path in BUNDLE.rglob("asyncpg*"))
    if bundled:
        raise CheckFailed(f"team mode's driver is in the bundle: {bundled}")
    env = desk_env(work / "team-check", "http://127.0.0.1:9/v1", free_port())
    env["CHATKIT_DESK_DATABASE_URL"] = "postgresql://desk@127.0.0.1:9/desk"
    result = subprocess.run(
        [str(EXE), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    if result.returncode == 0 or "install chatkit-desk[team]" not in result.stderr:
        raise CheckFailed(f"the bundled migrate in team mode said: {result.stderr.strip()}")


def tray_starts_child(work: Path, upstream: str) -> dict:
    port = free_port()
    data_dir = work / "tray"
    env = desk_env(data_dir, upstream, port)
    env["QT_QPA_PLATFORM"] = "offscreen"
    log = work / "tray.log"
    tray = subprocess.Popen(
        [str(EXE), "tray"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", tray, 60, log)
        if health.get("app") != "chatkit-desk":
            raise CheckFailed(f"unexpected /health answer from the tray's child: {health}")
        output_log = data_dir / "logs" / "server-output.log"
        started = output_log.read_text(errors="replace") if output_log.exists() else ""
        if f"{EXE} serve" not in started:
            raise CheckFailed(
                f"the tray's child was not the bundled executable ({output_log}):\n{started[-800:]}"
            )
    finally:
        stop(tray, timeout=30)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            get_json(f"http://127.0.0.1:{port}/health", timeout=0.5)
        except (OSError, ValueError):
            return health
        time.sleep(0.2)
    raise CheckFailed("the server child still answers /health after the tray stopped")


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    say("$ " + " ".join(command))
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    if result.returncode != 0:
        raise CheckFailed(
            f"{' '.join(command)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        )
    return result


def install_and_remove(deb: Path) -> None:
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise CheckFailed("installing the .deb needs root and apt-get (or pass --skip-install)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    env.pop("CHATKIT_DESK_JWT_SECRET", None)
    run(["apt-get", "install", "-y", "-q", str(deb.resolve())], env=env)
    try:
        version = run(["/usr/bin/chatkit-desk", "--version"], env=env).stdout.strip()
        say(f"installed: {version}")
        if not version.startswith("chatkit-desk "):
            raise CheckFailed(f"unexpected --version output: {version!r}")
        with tempfile.TemporaryDirectory() as home:
            status = run(
                ["/usr/bin/chatkit-desk", "keys", "status"],
                env={**env, "HOME": home, "CHATKIT_DESK_DATA_DIR": home},
            ).stdout
        say("keys status: " + " | ".join(status.splitlines()))
        if "keyring backend:" not in status or "openai:" not in status:
            raise CheckFailed(f"unexpected keys status output:\n{status}")
        for path in (
            "/usr/share/applications/chatkit-desk.desktop",
            "/usr/share/icons/hicolor/scalable/apps/chatkit-desk.svg",
        ):
            if not Path(path).exists():
                raise CheckFailed(f"{path} was not installed")
    finally:
        run(["apt-get", "remove", "-y", "-q", "chatkit-desk"], env=env)
    leftovers = [p for p in ("/opt/chatkit-desk", "/usr/bin/chatkit-desk") if os.path.lexists(p)]
    if leftovers:
        raise CheckFailed(f"still there after apt-get remove: {leftovers}")
    say("removed: /opt/chatkit-desk and /usr/bin/chatkit-desk are gone")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-build", action="store_true", help="reuse dist/chatkit-desk")
    parser.add_argument("--skip-install", action="store_true", help="do not apt-get install")
    args = parser.parse_args()

    if not args.skip_build:
        build()
    if not EXE.exists():
        say(f"no bundle at {BUNDLE}")
        return 1
    bundle_mb = tree_bytes(BUNDLE) / 1e6
    say(f"bundle: {BUNDLE.relative_to(ROOT)}/ is {bundle_mb:.1f} MB on disk")

    failures: list[str] = []
    start_times: list[tuple[float, float]] = []
    deb_mb: float | None = None
    with tempfile.TemporaryDirectory(prefix="chatkit-desk-check-") as tmp:
        work = Path(tmp)
        upstream, upstream_url = start_upstream(work)
        try:
            steps = (
                (
                    "serve start-up",
                    lambda: start_times.extend(measure_serve_start(work, upstream_url)),
                ),
                ("one chat through the bundled serve", lambda: chat_once(work, upstream_url)),
                ("the bundled tools command connects", lambda: tools_command(work)),
                ("team mode is left out of the bundle", lambda: team_mode_left_out(work)),
                ("tray starts its serve child", lambda: tray_starts_child(work, upstream_url)),
            )
            for name, step in steps:
                try:
                    step()
                    say(f"ok: {name}")
                except CheckFailed as exc:
                    failures.append(f"{name}: {exc}")
                    say(f"FAILED: {name}: {exc}")
        finally:
            stop(upstream)

    try:
        from build_deb import build_deb

        deb = build_deb()
        deb_mb = deb.stat().st_size / 1e6
        if args.skip_install:
            say("skipped: installing the .deb (--skip-install)")
        else:
            install_and_remove(deb)
            say("ok: the .deb installs, runs and removes cleanly")
    except (CheckFailed, subprocess.CalledProcessError) as exc:
        failures.append(f".deb: {exc}")
        say(f"FAILED: .deb: {exc}")

    print()
    print("Budgets (measured)")
    missed = []

    def line(name: str, value: str, ok: bool | None) -> None:
        verdict = "n/a" if ok is None else ("within budget" if ok else "OVER BUDGET")
        print(f"  {name:<42} {value:<40} {verdict}")
        if ok is False:
            missed.append(name)

    line(
        f"bundle on disk (≤ {BUDGET_BUNDLE_MB} MB)",
        f"{bundle_mb:.1f} MB",
        bundle_mb <= BUDGET_BUNDLE_MB,
    )
    line(
        f".deb size (≤ {BUDGET_DEB_MB} MB)",
        f"{deb_mb:.1f} MB" if deb_mb is not None else "not built",
        None if deb_mb is None else deb_mb <= BUDGET_DEB_MB,
    )
    if start_times:
        median = statistics.median(wall for wall, _cpu in start_times)
        runs = ", ".join(f"{wall:.2f}" for wall, _cpu in start_times)
        line(
            f"serve launch → 200 /health (≤ {BUDGET_START_S} s)",
            f"median {median:.2f} s (runs: {runs})",
            median <= BUDGET_START_S,
        )
        cpu = ", ".join(f"{cpu:.2f}" for _wall, cpu in start_times)
        print(f"  {'':<42} CPU per launch (start + stop): {cpu} s")
        print(
            f"  {'':<42} load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
        )
    else:
        line(f"serve launch → 200 /health (≤ {BUDGET_START_S} s)", "not measured", None)
    if missed:
        print(f"Missed budgets (reported, not a failure): {', '.join(missed)}")
    if failures:
        print(f"\n{len(failures)} functional failure(s):")
        for failure in failures:
            print(f"  - {failure.splitlines()[0]}")
        return 1
    print("\nAll functional checks passed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
