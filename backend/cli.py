"""The headless commands of ``chatkit-desk``: ``serve``, ``token``, ``open``, ``keys``,
``migrate``, ``tools``.

``python -m backend`` runs them without the tray; the ``chatkit-desk`` entry point
(``chatkit_desk.cli``) adds ``tray`` and the no-argument default on top of this parser.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence

from backend import __version__, secrets
from backend.data_dir import resolve_data_dir
from backend.supervision import ExitCode
from backend.tokens import DEFAULT_SUBJECT, DEFAULT_TTL

# The settings (pydantic) are imported by the commands that use them, not by the tray's.

Handler = Callable[[argparse.Namespace], int]

DATA_DIR_OF_SERVER_HELP = "the data dir of the server that should use the new key right away"


def build_parser(
    description: str = "Run a ChatKit backend on your own computer, headless.",
) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    """The parser of the headless commands, and its subcommands (for the entry point to extend)."""
    parser = argparse.ArgumentParser(prog="chatkit-desk", description=description)
    parser.add_argument("--version", action="version", version=f"chatkit-desk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the headless server")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8765)")
    serve.add_argument("--data-dir", help="where the database, settings and logs live")

    token = commands.add_parser("token", help="print a signed access token for a frontend")
    token.add_argument("--sub", default=DEFAULT_SUBJECT, help="the user whose threads it opens")
    token.add_argument("--ttl", default=DEFAULT_TTL, help="how long it is valid: 30m, 12h, 7d, …")

    open_page = commands.add_parser(
        "open", help="open the built-in chat page in the browser, signed in"
    )
    open_page.add_argument(
        "--print-url", action="store_true", help="print the one-time sign-in link instead"
    )

    keys = commands.add_parser("keys", help="manage provider API keys in the OS keyring")
    key_commands = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    key_set = key_commands.add_parser("set", help="store a key (read from a prompt or stdin)")
    key_set.add_argument("provider", choices=secrets.PROVIDERS)
    key_set.add_argument("--data-dir", help=DATA_DIR_OF_SERVER_HELP)
    key_status = key_commands.add_parser("status", help="which keys are set (never their values)")
    key_status.add_argument("--data-dir", help="the data dir whose signing secret to look for")
    key_delete = key_commands.add_parser("delete", help="remove a stored key")
    key_delete.add_argument("provider", choices=secrets.PROVIDERS)
    key_delete.add_argument("--data-dir", help=DATA_DIR_OF_SERVER_HELP)

    migrate = commands.add_parser(
        "migrate",
        help="bring the database's schema up to date (team mode: once, before the replicas)",
    )
    migrate.add_argument("--data-dir", help="where the database, settings and logs live")

    tools = commands.add_parser(
        "tools", help="connect to the tool servers of mcp.json and list their tools"
    )
    tools.add_argument("names", nargs="*", metavar="NAME", help="only these servers")
    tools.add_argument("--config", help="another mcp.json to check (default: the server's)")
    tools.add_argument("--data-dir", help="where the database, settings and logs live")
    tools.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser, commands


def _fail(message: str, code: int = ExitCode.FAILED) -> int:
    print(f"chatkit-desk: {message}", file=sys.stderr)
    return code


def _serve(args: argparse.Namespace) -> int:
    from backend import logs
    from backend.serve import run
    from backend.settings import LiveSettings, SettingsError
    from backend.store.database import DatabaseUnusable
    from backend.supervision import PortInUse
    from backend.tokens import SigningSecretUnavailable

    try:
        live_settings = LiveSettings(args.data_dir, host=args.host, port=args.port)
        settings = live_settings.current()
        logs.configure(settings.log_file, json_stdout=settings.log_format == "json")
        run(live_settings)
    except (SettingsError, DatabaseUnusable) as exc:
        return _fail(str(exc), ExitCode.USAGE)
    except PortInUse as exc:
        return _fail(str(exc), ExitCode.PORT_IN_USE)
    except SigningSecretUnavailable as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl+C after its graceful shutdown
        pass
    return ExitCode.OK


def _migrate(args: argparse.Namespace) -> int:
    """What ``serve`` does first, as a step of its own: team mode's Postgres (under its
    migration lock, so it may run while replicas start), or the data dir's SQLite file."""
    from backend.settings import SettingsError, load_settings
    from backend.store.database import DatabaseUnusable, open_database, schema_version

    try:
        settings = load_settings(args.data_dir)
        if settings.database_url is None:
            database = open_database(settings.database_file)
            version = schema_version(database)
            database.close()
            where = str(settings.database_file)
        else:
            import asyncio

            from backend.store.postgres.database import migrate, redacted

            version = asyncio.run(migrate(settings.database_url))
            where = redacted(settings.database_url)
    except SettingsError as exc:
        return _fail(str(exc), ExitCode.USAGE)
    except DatabaseUnusable as exc:
        return _fail(str(exc))
    print(f"The database at {where} is at schema version {version}.")
    return ExitCode.OK


def _token(args: argparse.Namespace) -> int:
    from backend.settings import SettingsError, load_settings
    from backend.tokens import (
        SigningSecretUnavailable,
        TokenAuthority,
        check_subject,
        parse_duration,
    )

    try:
        ttl = parse_duration(args.ttl)
        subject = check_subject(args.sub)
        settings = load_settings()
        authority = TokenAuthority.from_configured(settings.jwt_secret, settings.data_dir)
    except ValueError as exc:
        return _fail(str(exc), ExitCode.USAGE)
    except (SettingsError, SigningSecretUnavailable) as exc:
        return _fail(str(exc))
    print(authority.issue(subject, ttl))
    return 0


def _open(args: argparse.Namespace) -> int:
    import webbrowser

    from backend.hosts import sign_in_url
    from backend.settings import SettingsError, load_settings
    from backend.tokens import SigningSecretUnavailable, TokenAuthority

    try:
        settings = load_settings()
        authority = TokenAuthority.from_configured(settings.jwt_secret, settings.data_dir)
    except (SettingsError, SigningSecretUnavailable) as exc:
        return _fail(str(exc))
    url = sign_in_url(settings, authority.issue_login())
    if args.print_url:
        print(url)
        return 0
    if not webbrowser.open(url):
        return _fail("no web browser could be started; use --print-url and open the link yourself")
    return 0


def _read_key(provider: str) -> str:
    label = secrets.PROVIDER_LABELS[provider]  # type: ignore[index]
    if sys.stdin.isatty():
        return getpass.getpass(f"{label} API key (input hidden): ")
    return sys.stdin.readline()


def _keys(args: argparse.Namespace) -> int:
    from backend.settings import SettingsError, load_settings

    if args.keys_command == "status":
        print(f"keyring backend: {secrets.backend_name()}")
        if warning := secrets.backend_warning():
            print(f"warning: {warning}")
        for provider in secrets.PROVIDERS:
            lookup = secrets.provider_key(provider)
            if lookup.source == "environment":
                state = f"set (environment variable {secrets.KEY_ENV_VARS[provider]})"
            elif lookup.found:
                state = "set (keyring)"
            else:
                state = f"not set ({lookup.problem})" if lookup.problem else "not set"
            print(f"{provider}: {state}")
        try:
            settings = load_settings(args.data_dir)
        except SettingsError as exc:
            return _fail(str(exc), ExitCode.USAGE)
        whereabouts = secrets.jwt_secret_whereabouts(settings.jwt_secret, settings.data_dir)
        print(f"token signing secret: {whereabouts}")
        return ExitCode.OK
    try:
        if args.keys_command == "set":
            secrets.set_provider_key(
                args.provider, _read_key(args.provider), data_dir=resolve_data_dir(args.data_dir)
            )
            print(f"{secrets.PROVIDER_LABELS[args.provider]} key stored in the keyring.")
            if os.environ.get(secrets.KEY_ENV_VARS[args.provider]):
                print(f"note: {secrets.KEY_ENV_VARS[args.provider]} is set and wins over it.")
            return 0
        if secrets.delete_provider_key(args.provider, data_dir=resolve_data_dir(args.data_dir)):
            print(f"{secrets.PROVIDER_LABELS[args.provider]} key removed from the keyring.")
        else:
            print(f"No {secrets.PROVIDER_LABELS[args.provider]} key was stored.")
        return 0
    except ValueError as exc:
        return _fail(str(exc), ExitCode.USAGE)
    except secrets.KeyringUnavailable as exc:
        return _fail(str(exc))
    except (KeyboardInterrupt, EOFError):
        return _fail("cancelled; nothing was stored")


def _tools(args: argparse.Namespace) -> int:
    """Connect to each tool server once, as the server would, and say how it went."""
    import asyncio
    import json
    from pathlib import Path

    from backend.settings import SettingsError, load_settings
    from backend.tools.config import McpConfigError, load_mcp_config
    from backend.tools.hub import ServerState, check
    from backend.web.tools_route import server_state

    try:
        settings = load_settings(args.data_dir)
        path = Path(args.config).expanduser() if args.config else settings.mcp_config_file
        config = load_mcp_config(path)
    except (SettingsError, McpConfigError) as exc:
        return _fail(str(exc), ExitCode.USAGE)
    servers = [s for s in config.servers if not args.names or s.name in args.names]
    broken = [(n, error) for n, error in config.broken if not args.names or n in args.names]
    known = {s.name for s in config.servers} | {n for n, _ in config.broken}
    if unknown := sorted(set(args.names) - known):
        return _fail(f"{path} has no server named {', '.join(unknown)}", ExitCode.USAGE)

    async def check_all() -> list[ServerState]:
        return await asyncio.gather(*(check(s, settings.log_dir) for s in servers if s.enabled))

    states = asyncio.run(check_all())
    states += [ServerState(name, "failed", (), error) for name, error in broken]
    if args.json:
        print(json.dumps({"config_file": str(path), "servers": [server_state(s) for s in states]}))
    else:
        print(f"tool servers in {path}:" if states or servers else f"no tool servers in {path}")
        for state in states:
            tools = ", ".join(tool.name for tool in state.tools)
            print(f"{state.name}: {state.describe()}" + (f" ({tools})" if tools else ""))
        for server in servers:
            if not server.enabled:
                print(f"{server.name}: turned off")
    return ExitCode.OK if all(s.status == "connected" for s in states) else ExitCode.FAILED


HANDLERS: dict[str, Handler] = {
    "serve": _serve,
    "token": _token,
    "open": _open,
    "keys": _keys,
    "migrate": _migrate,
    "tools": _tools,
}


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for name in ("httpx", "httpx2", "mcp"):  # a request line each: noise on a terminal
        logging.getLogger(name).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m backend``: the headless commands only (``serve`` when none is given)."""
    configure_logging()
    parser, _ = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["serve"])
    return HANDLERS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
