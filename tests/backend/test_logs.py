"""Log lines never carry keys or tokens, whatever a library puts into them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from backend import logs
from backend.tokens import TokenAuthority


def test_known_and_secret_looking_strings_are_scrubbed(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "chatkit-desk.log"
    logs.configure(log_file)
    logs.known_secrets(["gemini-plain-secret-1234"])
    token = TokenAuthority("k" * 64).issue("alice", 60)

    structlog.get_logger("test").info("event", header=f"Bearer {token}", note="sk-abcdef123456789")
    logging.getLogger("some.library").warning("upstream said: bad key gemini-plain-secret-1234")
    try:
        raise RuntimeError(f"failed with Authorization: Bearer {token}")
    except RuntimeError:
        logging.getLogger("some.library").exception("boom")

    text = log_file.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["event"] for line in lines][:2] == ["event", "upstream said: bad key [redacted]"]
    assert lines[0]["header"] == "[redacted]" and lines[0]["note"] == "[redacted]"
    assert "Traceback" in lines[2]["exception"]
    for secret in (token, "sk-abcdef123456789", "gemini-plain-secret-1234"):
        assert secret not in text


def test_json_on_stdout_keeps_scrubbing_and_writes_no_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "logs" / "chatkit-desk.log"
    logs.configure(log_file, json_stdout=True)
    logs.known_secrets(["team-plain-secret-5678"])
    structlog.get_logger("test").info("turn", detail="key team-plain-secret-5678", user="alice")
    logging.getLogger("uvicorn.error").info("Started server process")

    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["event"] for line in lines] == ["turn", "Started server process"]
    assert lines[0]["detail"] == "key [redacted]" and lines[0]["user"] == "alice"
    assert {"timestamp", "level", "logger"} <= set(lines[1])
    assert not log_file.exists()
