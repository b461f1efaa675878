"""What the distribution declares: the pinned SDKs, no plaintext keyring at run time, and the
Postgres driver in team mode's image."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PINNED = ("openai-chatkit", "openai-agents", "openai")
"""The SDKs whose private parts ChatKit Desk relies on (tests/backend/test_sdk_contract.py)."""


def direct_requirements(distribution: str) -> list[Requirement]:
    try:
        lines = requires(distribution) or []
    except PackageNotFoundError:
        return []
    return [Requirement(line) for line in lines]


def runtime_closure(distribution: str) -> set[str]:
    """Every distribution installed because ``distribution`` needs it at run time (no extras,
    no dev group): what a user's machine gets."""
    seen: set[str] = set()
    pending = [distribution]
    while pending:
        name = canonicalize_name(pending.pop())
        if name in seen:
            continue
        seen.add(name)
        for requirement in direct_requirements(name):
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return seen


def test_the_sdks_are_pinned_exactly() -> None:
    declared = {
        canonicalize_name(r.name): r for r in direct_requirements("chatkit-desk") if not r.marker
    }
    for name in PINNED:
        specifiers = list(declared[name].specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", name


def test_no_plaintext_keyring_backend_at_run_time() -> None:
    closure = runtime_closure("chatkit-desk")
    assert "keyring" in closure and "openai-agents" in closure  # the walk really walks
    assert "keyrings-alt" not in closure


def test_the_team_image_installs_the_postgres_driver() -> None:
    """``deploy/compose.yaml`` builds the one image of its migration and replicas with the
    ``team`` extra, and the Dockerfile passes that on to both of its ``uv sync`` steps: without
    asyncpg every replica would refuse to start."""
    root = Path(__file__).resolve().parents[2]
    compose = (root / "deploy" / "compose.yaml").read_text(encoding="utf-8")
    assert re.search(
        r'^x-desk: &desk\n  build:\n(    .*\n)*      EXTRAS: "--extra team"', compose, re.M
    )
    assert compose.count("<<: *desk") == 2  # migrate and desk
    dockerfile = (root / "Dockerfile").read_text(encoding="utf-8")
    syncs = [line for line in dockerfile.splitlines() if "uv sync" in line]
    assert len(syncs) == 2 and all(line.rstrip().endswith("$EXTRAS") for line in syncs)
    team = next(
        r
        for r in direct_requirements("chatkit-desk")
        if r.marker and r.marker.evaluate({"extra": "team"})
    )
    assert canonicalize_name(team.name) == "asyncpg"
