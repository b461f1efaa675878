"""Loading the chat stack at start-up leaves nothing for the first turn to import or build.

Each case runs in a fresh interpreter: in this test process other tests have long since loaded
and built everything, which would hide a warm-up that does nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

LAZY_MODULES = (
    "jwt",
    "openai.resources.responses.responses",
    "openai.resources.chat.completions.completions",
)

PROBE = """
import json, sys
from backend.chat.warm_up import TYPES_OF_A_TURN, models_in
from backend.secrets import KeyCache
from backend.serve import load_chat_app
from backend.settings import LiveSettings
from backend.store.database import open_database
from backend.tokens import TokenAuthority

def state():
    return {
        "deferred": [m.__name__ for m in models_in(TYPES_OF_A_TURN) if not m.__pydantic_complete__],
        "loaded": [name for name in json.loads(sys.argv[2]) if name in sys.modules],
    }

live_settings = LiveSettings(sys.argv[1])
settings = live_settings.current()
before = state()
load_chat_app(
    live_settings,
    TokenAuthority("s" * 64),
    KeyCache(settings.data_dir),
    open_database(settings.database_file),
)
print(json.dumps({"before": before, "after": state()}))
"""


def run_probe(tmp_path: Path, **env: str) -> dict:
    answer = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path), json.dumps(LAZY_MODULES)],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")},
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "CHATKIT_DESK_PROVIDER": "openai",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(answer.stdout.splitlines()[-1])


@pytest.mark.parametrize("key", [{"OPENAI_API_KEY": "sk-warm-up-test"}, {}], ids=["key", "no key"])
def test_warm_up_builds_and_imports_what_the_first_turn_would(
    tmp_path: Path, key: dict[str, str]
) -> None:
    result = run_probe(tmp_path, **key)  # and without a key it must not fail either

    # Without it, hundreds of validators and the lazy modules are left to the first turn.
    assert len(result["before"]["deferred"]) > 100
    assert result["before"]["loaded"] == []
    assert result["after"]["deferred"] == []
    assert result["after"]["loaded"] == list(LAZY_MODULES)


def test_a_failing_warm_up_is_logged_and_the_server_starts_anyway(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from backend.chat.warm_up import warm_up
    from backend.settings import load_settings

    class BrokenProviders:
        def build_agent(self, settings: object) -> None:
            raise RuntimeError("the keyring fell over")

    warm_up(BrokenProviders(), load_settings(tmp_path))  # type: ignore[arg-type]

    assert "warming up for the first turn failed" in caplog.text
    assert "the keyring fell over" in caplog.text
