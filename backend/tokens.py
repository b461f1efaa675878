"""Signed tokens: HS256 JWTs whose ``sub`` is the user whose threads a request may touch.

Three kinds share one secret: access tokens (``chatkit-desk token``, no ``purpose``), one-time
sign-in links (``purpose: login``) and browser sessions (``purpose: session``); each is only
accepted where it belongs. PyJWT (with the ``cryptography`` it loads, ~3 MB) is imported when
a token is first made or checked, so an idle tray does not carry it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend import secrets

ALGORITHM = "HS256"
DEFAULT_SUBJECT = "local"
DEFAULT_TTL = "30d"
LOGIN = "login"
SESSION = "session"
UPLOAD = "upload"
PREVIEW = "preview"
LOGIN_TTL_SECONDS = 120
SESSION_TTL_SECONDS = 7 * 86400
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SUBJECT = re.compile(r"[A-Za-z0-9._@+-]{1,128}")


def parse_duration(text: str) -> int:
    """Seconds in ``"3600"``, ``"90s"``, ``"30m"``, ``"12h"``, ``"7d"``, ``"1w"`` or ``"1h30m"``."""
    text = text.strip().lower()
    if text.isdigit():
        seconds = int(text)
    else:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"{text!r} is not a duration like 30m, 12h, 7d or 3600")
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError("the duration must be longer than zero")
    return seconds


def check_subject(subject: str) -> str:
    if not _SUBJECT.fullmatch(subject):
        raise ValueError("a user name is 1–128 letters, digits or . _ @ + -")
    return subject


class SigningSecretUnavailable(Exception):
    """No signing secret can be had; the message says how to provide one."""


class TokenRejected(Exception):
    """A token that is not accepted; ``code`` is machine-readable, the message says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TokenAuthority:
    secret: str

    @classmethod
    def from_configured(cls, configured: str | None, data_dir: Path) -> TokenAuthority:
        """The authority of the configured secret, or of the one kept for this data dir."""
        lookup = secrets.jwt_secret(configured, data_dir)
        if lookup.value is None:
            raise SigningSecretUnavailable(
                f"no token signing secret can be kept: {lookup.problem}. Set "
                "CHATKIT_DESK_JWT_SECRET to a long random string (the same value for the "
                "server and the token command)."
            )
        return cls(lookup.value)

    def issue(self, subject: str, ttl_seconds: int, purpose: str | None = None) -> str:
        """A signed token. Access tokens carry no ``purpose``; login links and sessions do."""
        now = int(time.time())
        claims: dict[str, object] = {
            "sub": check_subject(subject),
            "iat": now,
            "exp": now + ttl_seconds,
        }
        if purpose is not None:
            claims.update(purpose=purpose, jti=secrets.random_token(16))
        import jwt

        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def issue_login(self, subject: str = DEFAULT_SUBJECT) -> str:
        """A one-time, short-lived token for ``/login``, which trades it for a session cookie."""
        return self.issue(subject, LOGIN_TTL_SECONDS, purpose=LOGIN)

    def subject_of(self, token: str, purpose: str | None = None) -> str:
        """The user a valid token of ``purpose`` names, else ``TokenRejected`` saying why."""
        return str(self._decode(token, purpose)["sub"])

    def verify_login(self, token: str) -> LoginGrant:
        claims = self._decode(token, purpose=LOGIN)
        return LoginGrant(claims["sub"], str(claims.get("jti", "")), int(claims["exp"]))

    def issue_capability(self, purpose: str, resource: str, ttl_seconds: int) -> str:
        """A token that allows ``purpose`` on one ``resource`` (an attachment's upload or its
        preview) to whoever holds it, and nothing else: for URLs and headers a browser sends
        where no access token can go (an ``<img>``, a third-party upload)."""
        import jwt

        now = int(time.time())
        claims = {"purpose": purpose, "res": resource, "iat": now, "exp": now + ttl_seconds}
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def allows(self, token: str, purpose: str, resource: str) -> bool:
        """Whether ``token`` is a valid, unexpired capability for ``purpose`` on ``resource``."""
        import jwt

        try:
            claims = jwt.decode(
                token, self.secret, algorithms=[ALGORITHM], options={"require": ["exp", "res"]}
            )
        except jwt.InvalidTokenError:
            return False
        return claims.get("purpose") == purpose and claims.get("res") == resource

    def _decode(self, token: str, purpose: str | None) -> dict[str, Any]:
        import jwt

        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError:
            raise _rejected(
                "token_expired", "The access token has expired; get a new one (chatkit-desk token)."
            ) from None
        except jwt.InvalidAlgorithmError:
            raise _rejected(
                "token_invalid", f"The access token is not signed with {ALGORITHM}; it is refused."
            ) from None
        except jwt.InvalidSignatureError:
            raise _rejected(
                "token_invalid",
                "The access token's signature does not match this server; get a new token.",
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise _rejected(
                "token_invalid", f"The access token lacks the {exc.claim!r} claim."
            ) from None
        except jwt.InvalidTokenError:
            raise _rejected(
                "token_invalid", "The access token is malformed; get a new one."
            ) from None
        if claims.get("purpose") != purpose:
            raise _rejected("token_invalid", "This token cannot be used here.")
        subject = claims["sub"]
        if not isinstance(subject, str) or not _SUBJECT.fullmatch(subject):
            raise _rejected("token_invalid", "The access token's 'sub' is not a valid user name.")
        return claims


@dataclass(frozen=True)
class LoginGrant:
    subject: str
    token_id: str
    expires_at: int


def _rejected(code: str, message: str) -> TokenRejected:
    return TokenRejected(code, message)
