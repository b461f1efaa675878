"""The start-up warm-up leaves nothing for the first turn to import or build, and no more."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

LAZY_MODULES = {
    "openai": ["jwt", "openai.resources.responses.responses"],
    "gemini": ["jwt", "openai.resources.chat.completions.completions"],
}

TURN_AFTER_WARM_UP = """
import asyncio, json, os, sys

import httpx2
import pydantic

from tests.support.fake_upstream import FakeUpstream

def built_models():
    found, pending = set(), [pydantic.BaseModel]
    while pending:
        for model in pending.pop().__subclasses__():
            pending.append(model)
            if model.__dict__.get("__pydantic_complete__"):
                found.add(f"{model.__module__}.{model.__qualname__}")
    return found

upstream = FakeUpstream().start()
os.environ["CHATKIT_DESK_OPENAI_BASE_URL"] = os.environ["CHATKIT_DESK_GEMINI_BASE_URL"] = (
    upstream.base_url
)
from backend.secrets import KeyCache
from backend.serve import load_chat_app
from backend.settings import LiveSettings
from backend.store.database import open_database
from backend.store.storage import SQLiteStorage
from backend.tokens import TokenAuthority

live_settings, tokens = LiveSettings(sys.argv[1]), TokenAuthority("s" * 64)
settings = live_settings.current()
app = load_chat_app(  # builds, warms up and tunes, as serve does
    live_settings,
    tokens,
    KeyCache(settings.data_dir),
    SQLiteStorage(open_database(settings.database_file)),
)
models, modules = built_models(), set(sys.modules)

async def turn():
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        answer = await client.post(
            "/chatkit",
            headers={"Authorization": f"Bearer {tokens.issue('local', 60)}"},
            json={"type": "threads.create", "params": {"input": {
                "content": [{"type": "input_text", "text": "hello"}],
                "attachments": [], "inference_options": {},
            }}},
        )
        return answer.text

reply = asyncio.run(turn())
upstream.stop()
print(json.dumps({
    "answered": "You said: hello" in reply,
    "built_by_the_turn": sorted(built_models() - models),
    "imported_by_the_turn": sorted(set(json.loads(sys.argv[2])) - modules),
    "modules": sorted(modules),
}))
"""


def turn_after_warm_up(tmp_path: Path, provider: str, **env: str) -> dict:
    answer = subprocess.run(
        [
            sys.executable,
            "-c",
            TURN_AFTER_WARM_UP,
            str(tmp_path),
            json.dumps(LAZY_MODULES[provider]),
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
            "PYTHONPATH": str(ROOT),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "CHATKIT_DESK_PROVIDER": provider,
            "CHATKIT_DESK_OPENAI_MODEL": "fake-gpt",
            "CHATKIT_DESK_GEMINI_MODEL": "fake-gemini",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(answer.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    ("provider", "key"), [("openai", "OPENAI_API_KEY"), ("gemini", "GEMINI_API_KEY")]
)
def test_a_turn_after_the_warm_up_builds_and_imports_nothing(
    tmp_path: Path, provider: str, key: str
) -> None:
    """Each case runs in a fresh interpreter: here, other tests have long since built it all.
    A type listed here must be added to ``backend.chat.warm_up``'s lists."""
    result = turn_after_warm_up(tmp_path, provider, **{key: "warm-up-test-key"})

    assert result["answered"]
    assert result["built_by_the_turn"] == []
    assert result["imported_by_the_turn"] == []
    other = LAZY_MODULES["gemini" if provider == "openai" else "openai"][-1]
    assert other not in result["modules"], "only the configured provider's path is warmed up"


def test_the_warm_up_builds_without_a_key(tmp_path: Path) -> None:
    """With no key the turn fails (saying so), but the warm-up still does its part."""
    result = turn_after_warm_up(tmp_path, "openai")

    assert not result["answered"]
    assert set(LAZY_MODULES["openai"]) <= set(result["modules"])


def test_a_failing_warm_up_is_logged_and_the_server_starts_anyway(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.chat.providers import ProviderRegistry
    from backend.chat.warm_up import warm_up
    from backend.secrets import KeyCache
    from backend.settings import load_settings

    class BrokenProviders(ProviderRegistry):
        def build_agent(self, settings: object) -> None:  # type: ignore[override]
            raise RuntimeError("the keyring fell over")

    providers = BrokenProviders(KeyCache(tmp_path))
    warm_up(providers, load_settings(tmp_path))

    assert "warming up for the first turn failed" in caplog.text
    assert "the keyring fell over" in caplog.text
