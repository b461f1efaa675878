"""The session cookie: one name per desktop server, one name for all the replicas of a team."""

from __future__ import annotations

from backend.web.auth import secure_cookies, session_cookie
from tests.support.contexts import settings_with


def test_on_a_desktop_the_port_keeps_two_servers_cookies_apart() -> None:
    assert session_cookie(settings_with(port=8001)) != session_cookie(settings_with(port=8002))
    assert not secure_cookies(settings_with(port=8001))


def test_behind_a_public_url_every_replica_reads_the_same_cookie_whatever_its_port() -> None:
    first = settings_with(port=8001, public_url="https://desk.example.com")
    second = settings_with(port=8002, public_url="https://desk.example.com")
    assert session_cookie(first) == session_cookie(second) == "__Host-chatkit_desk_session"
    assert secure_cookies(first)


def test_an_http_public_url_has_no_secure_prefix_but_an_https_request_is_secure() -> None:
    settings = settings_with(public_url="http://desk.internal:8080")
    assert session_cookie(settings) == "chatkit_desk_session"
    assert not secure_cookies(settings)
    assert secure_cookies(settings, "https")
