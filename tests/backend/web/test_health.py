"""/health: who this is and whether it can chat, plus the tools a turn is calling (for the
tray's tooltip); never a secret."""

from __future__ import annotations

from pathlib import Path

from backend.secrets import KeyCache
from backend.settings import Settings
from backend.tools.hub import ToolHub
from backend.web.health import health_payload
from tests.support.keyrings import MemoryKeyring


def test_health_names_the_tools_being_called(tmp_path: Path, memory_keyring: MemoryKeyring) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path})
    hub = ToolHub(lambda: tmp_path / "mcp.json", tmp_path)
    keys = KeyCache(tmp_path)
    assert health_payload(settings, keys, True, hub.running())["tools_in_use"] == []
    with hub.in_use("files › read_file"), hub.in_use("files › read_file"):
        payload = health_payload(settings, keys, True, hub.running())
    assert payload["tools_in_use"] == ["files › read_file"]
    assert payload["ready"] is True and payload["app"] == "chatkit-desk"
    assert health_payload(settings, keys, True, hub.running())["tools_in_use"] == []
