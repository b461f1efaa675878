"""hosts: which names and origins address this server, and where a browser reaches it."""

from __future__ import annotations

import pytest

from backend import hosts
from tests.support.contexts import settings_with


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "localhost",
        "LOCALHOST",
        "localhost.localdomain",
    ],
)
def test_loopback_addresses_and_names_are_loopback(host: str) -> None:
    assert hosts.is_loopback(host)


@pytest.mark.parametrize(
    "host",
    ["0.0.0.0", "::", "[::]", "10.0.0.5", "192.168.1.20", "fd00::1", "example.com", "", "local"],
)
def test_wildcards_and_other_addresses_are_not_loopback(host: str) -> None:
    assert not hosts.is_loopback(host)


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8765", "localhost"),
        ("localhost", "localhost"),
        ("LocalHost:8765", "localhost"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("  Desk.Internal:443 ", "desk.internal"),
        ("[::1]:8765", "[::1]"),
        ("[::1]", "[::1]"),
        ("[FD00::1]:8765", "[fd00::1]"),
        ("[::1", ""),
        ("", ""),
    ],
)
def test_host_of_takes_the_name_out_of_a_host_header(header: str, host: str) -> None:
    assert hosts.host_of(header) == host


def test_the_allowed_hosts_are_the_loopback_names_by_default() -> None:
    assert hosts.allowed_hosts(settings_with()) == {"127.0.0.1", "localhost", "[::1]"}


def test_the_bound_host_is_allowed() -> None:
    assert hosts.allowed_hosts(settings_with(host="Desk.Local")) == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "desk.local",
    }


def test_configured_hosts_are_allowed_lower_cased() -> None:
    settings = settings_with(allowed_hosts="Desk.Internal, 10.0.0.5,[FD00::1]")
    assert hosts.allowed_hosts(settings) == {
        "127.0.0.1",
        "localhost",
        "[::1]",
        "desk.internal",
        "10.0.0.5",
        "[fd00::1]",
    }


def test_a_request_addressed_to_the_bound_ipv6_host_is_allowed() -> None:
    settings = settings_with(host="fd00::1")
    assert hosts.host_of("[fd00::1]:8765") in hosts.allowed_hosts(settings)


def test_the_own_origins_are_under_each_loopback_name_and_the_port() -> None:
    assert hosts.own_origins(settings_with(port=9000)) == {
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
    }


def test_the_allowed_origins_are_the_own_ones_and_the_configured_ones_lower_cased() -> None:
    settings = settings_with(
        port=9000, allowed_origins="http://LocalHost:5173/, https://Chat.Example.com"
    )
    assert hosts.allowed_origins(settings) == {
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "http://[::1]:9000",
        "http://localhost:5173",
        "https://chat.example.com",
    }


def test_no_other_port_or_scheme_is_an_own_origin() -> None:
    allowed = hosts.allowed_origins(settings_with(port=8765))
    assert "http://localhost:8766" not in allowed
    assert "https://localhost:8765" not in allowed
    assert "http://localhost" not in allowed


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8765, "http://127.0.0.1:8765"),
        ("localhost", 9000, "http://localhost:9000"),
        ("0.0.0.0", 8765, "http://127.0.0.1:8765"),
        ("::", 8765, "http://127.0.0.1:8765"),
        ("[::]", 8765, "http://127.0.0.1:8765"),
        ("::1", 8765, "http://[::1]:8765"),
        ("[::1]", 8765, "http://[::1]:8765"),
        ("fd00::1", 8765, "http://[fd00::1]:8765"),
        ("10.0.0.5", 8765, "http://10.0.0.5:8765"),
    ],
)
def test_base_url_is_where_a_browser_on_this_machine_reaches_the_server(
    host: str, port: int, url: str
) -> None:
    assert hosts.base_url(settings_with(host=host, port=port)) == url


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "0.0.0.0", "::"])
def test_the_page_at_base_url_may_call_the_server(host: str) -> None:
    settings = settings_with(host=host)
    assert hosts.base_url(settings).lower() in hosts.allowed_origins(settings)


@pytest.mark.parametrize("host", ["10.0.0.5", "localhost.localdomain"])
def test_the_page_at_base_url_may_call_a_server_bound_to_one_address(host: str) -> None:
    settings = settings_with(host=host)
    assert hosts.base_url(settings).lower() in hosts.allowed_origins(settings)


def test_the_sign_in_url_carries_the_one_time_token() -> None:
    assert (
        hosts.sign_in_url(settings_with(port=9000), "abc.def-ghi")
        == "http://127.0.0.1:9000/login?token=abc.def-ghi"
    )


def test_the_sign_in_url_of_a_wildcard_bind_is_on_loopback() -> None:
    assert hosts.sign_in_url(settings_with(host="0.0.0.0"), "t") == (
        "http://127.0.0.1:8765/login?token=t"
    )


def test_a_public_url_adds_its_host_and_origin_and_is_where_sign_in_links_point() -> None:
    settings = settings_with(port=8001, public_url="https://Desk.Example.com/")
    assert settings.public_url == "https://desk.example.com"
    assert "desk.example.com" in hosts.allowed_hosts(settings)
    assert "https://desk.example.com" in hosts.allowed_origins(settings)
    assert hosts.sign_in_url(settings, "t0k") == "https://desk.example.com/login?token=t0k"


def test_without_a_public_url_sign_in_links_point_at_the_server_itself() -> None:
    assert hosts.sign_in_url(settings_with(port=8001), "t") == "http://127.0.0.1:8001/login?token=t"


@pytest.mark.parametrize(
    "url",
    ["desk.example.com", "ftp://desk.example.com", "https://desk.example.com/chat", "https://"],
)
def test_a_public_url_is_an_http_origin_without_a_path(url: str) -> None:
    with pytest.raises(ValueError, match=r"not a URL like https://desk\.example\.com"):
        settings_with(public_url=url)
