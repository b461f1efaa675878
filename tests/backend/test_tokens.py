"""Tokens: what is accepted, and a clear reason for everything else."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from backend.tokens import TokenAuthority, parse_duration
from backend.web.auth import user_from_header, user_from_token
from backend.web.errors import ApiError

SECRET = "s" * 64
authority = TokenAuthority(SECRET)


def rejected(token: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        user_from_token(authority, token)
    assert caught.value.status == 401
    return caught.value


def test_issued_token_names_its_user() -> None:
    token = authority.issue("alice", 60)
    assert user_from_token(authority, token) == "alice"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 60


def test_expired() -> None:
    now = int(time.time())
    token = jwt.encode({"sub": "a", "iat": now - 100, "exp": now - 10}, SECRET, algorithm="HS256")
    assert rejected(token).code == "token_expired"


def test_wrong_signature() -> None:
    token = TokenAuthority("o" * 48).issue("alice", 60)
    assert "signature" in rejected(token).message


def test_tampered_payload() -> None:
    header, payload, signature = authority.issue("alice", 60).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "bob"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert "signature" in rejected(f"{header}.{forged}.{signature}").message


def test_alg_none_and_other_algorithms_are_refused() -> None:
    now = int(time.time())
    claims = {"sub": "alice", "iat": now, "exp": now + 60}
    unsigned = jwt.encode(claims, None, algorithm="none")
    assert "HS256" in rejected(unsigned).message
    hs512 = jwt.encode(claims, SECRET, algorithm="HS512")
    assert "HS256" in rejected(hs512).message


def test_missing_claims() -> None:
    token = jwt.encode({"sub": "alice", "iat": int(time.time())}, SECRET, algorithm="HS256")
    assert "'exp'" in rejected(token).message


def test_garbage() -> None:
    assert rejected("not.a.token").code == "token_invalid"


def test_header_forms() -> None:
    token = authority.issue("alice", 60)
    assert user_from_header(authority, f"Bearer {token}") == "alice"
    assert user_from_header(authority, f"bearer  {token} ") == "alice"
    for header in (None, "", "Bearer", "Bearer  ", f"Basic {token}"):
        with pytest.raises(ApiError) as caught:
            user_from_header(authority, header)
        assert caught.value.code == "token_missing"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("3600", 3600), ("90s", 90), ("30m", 1800), ("12h", 43200), ("7d", 604800), ("1h30m", 5400)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "abc", "10x", "5m10", "-5m"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)
