"""What the distribution declares: the pinned SDKs, and no plaintext keyring at run time."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, requires

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
