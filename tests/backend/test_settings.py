"""Settings: environment > settings.json > defaults, and one clear line for a bad value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.settings import DEFAULT_OPENAI_MODEL, SettingsError, load_settings


def write_settings(data_dir: Path, values: dict) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "settings.json").write_text(json.dumps(values))


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.provider == "openai"
    assert settings.model == DEFAULT_OPENAI_MODEL
    assert settings.base_url == "https://api.openai.com/v1"
    assert (settings.host, settings.port) == ("127.0.0.1", 8765)
    assert settings.allowed_origins == []
    assert settings.upstream_timeout == 60
    assert settings.domain_key == "domain_pk_localhost_dev"
    assert settings.data_dir == tmp_path
    assert settings.gemini_base_url == "https://generativelanguage.googleapis.com/v1beta/openai/"


def test_file_beats_defaults_and_environment_beats_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_settings(tmp_path, {"provider": "gemini", "gemini_model": "from-file", "port": 9001})
    settings = load_settings(tmp_path)
    assert (settings.provider, settings.model, settings.port) == ("gemini", "from-file", 9001)

    monkeypatch.setenv("CHATKIT_DESK_GEMINI_MODEL", "from-env")
    monkeypatch.setenv("CHATKIT_DESK_PORT", "9002")
    settings = load_settings(tmp_path)
    assert (settings.provider, settings.model, settings.port) == ("gemini", "from-env", 9002)


def test_command_line_beats_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_DESK_PORT", "9002")
    assert load_settings(tmp_path, port=9003, host=None).port == 9003


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_settings(tmp_path / "elsewhere", {"instructions": "Speak like a pirate."})
    monkeypatch.setenv("CHATKIT_DESK_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings()
    assert settings.data_dir == tmp_path / "elsewhere"
    assert settings.instructions == "Speak like a pirate."


def test_allowed_origins_comma_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATKIT_DESK_ALLOWED_ORIGINS", "http://localhost:5173, https://app.test/")
    assert load_settings(tmp_path).allowed_origins == ["http://localhost:5173", "https://app.test"]


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("CHATKIT_DESK_PROVIDER", "claude", "invalid setting provider (CHATKIT_DESK_PROVIDER)"),
        ("CHATKIT_DESK_PORT", "70000", "invalid setting port (CHATKIT_DESK_PORT)"),
        ("CHATKIT_DESK_PORT", "eighty", "invalid setting port (CHATKIT_DESK_PORT)"),
        ("CHATKIT_DESK_OPENAI_BASE_URL", "api.openai.com", "must be an http:// or https:// URL"),
        ("CHATKIT_DESK_GEMINI_BASE_URL", "ftp://x", "invalid setting gemini_base_url"),
        ("CHATKIT_DESK_UPSTREAM_TIMEOUT", "0", "invalid setting upstream_timeout"),
        ("CHATKIT_DESK_ALLOWED_ORIGINS", "localhost:5173", "is not an origin like"),
        ("CHATKIT_DESK_JWT_SECRET", "short", "invalid setting jwt_secret"),
    ],
)
def test_invalid_values_fail_with_one_line_naming_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message
    assert value not in message or variable != "CHATKIT_DESK_JWT_SECRET", "secrets are not echoed"


def test_invalid_value_in_file(tmp_path: Path) -> None:
    write_settings(tmp_path, {"port": 0})
    with pytest.raises(SettingsError, match="invalid setting port"):
        load_settings(tmp_path)


def test_unreadable_settings_file_says_which_file(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text("{not json")
    with pytest.raises(SettingsError, match=r"settings\.json cannot be read"):
        load_settings(tmp_path)
    (tmp_path / "settings.json").write_text("[1, 2]")
    with pytest.raises(SettingsError, match="must hold a JSON object"):
        load_settings(tmp_path)


def test_keys_are_not_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    settings = load_settings(tmp_path)
    assert "sk-secret" not in settings.model_dump_json()


def test_save_merges_validates_and_never_takes_secrets(tmp_path: Path) -> None:
    from backend.settings import LiveSettings, save_settings_file

    live = LiveSettings(tmp_path)
    assert live.current().provider == "openai"

    save_settings_file(tmp_path, {"provider": "gemini"})
    save_settings_file(tmp_path, {"gemini_model": "g-2"})

    assert json.loads((tmp_path / "settings.json").read_text()) == {
        "provider": "gemini",
        "gemini_model": "g-2",
    }
    assert (live.current().provider, live.current().model) == ("gemini", "g-2")
    with pytest.raises(SettingsError, match="invalid setting port"):
        save_settings_file(tmp_path, {"port": 123456})
    with pytest.raises(SettingsError, match="not a setting that can be saved: jwt_secret"):
        save_settings_file(tmp_path, {"jwt_secret": "x" * 40})
    assert json.loads((tmp_path / "settings.json").read_text())["gemini_model"] == "g-2"


def test_team_mode_takes_a_postgres_url_and_needs_a_signing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATKIT_DESK_DATABASE_URL", "mysql://desk@db/desk")
    with pytest.raises(SettingsError, match=r"CHATKIT_DESK_DATABASE_URL.*postgresql://"):
        load_settings(tmp_path)

    monkeypatch.setenv("CHATKIT_DESK_DATABASE_URL", "postgresql://desk:secret@db/desk")
    settings = load_settings(tmp_path)
    assert "secret" not in repr(settings)
    with pytest.raises(SettingsError, match="needs CHATKIT_DESK_JWT_SECRET"):
        settings.check_team_mode()

    monkeypatch.setenv("CHATKIT_DESK_JWT_SECRET", "s" * 40)
    load_settings(tmp_path).check_team_mode()
    monkeypatch.delenv("CHATKIT_DESK_DATABASE_URL")
    monkeypatch.delenv("CHATKIT_DESK_JWT_SECRET")
    load_settings(tmp_path).check_team_mode()  # the desktop app makes its own secret
