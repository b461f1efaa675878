"""What the distribution declares: the pinned SDK pair, and no plaintext keyring at run time."""

from __future__ import annotations

from importlib.metadata import requires

from packaging.requirements import Requirement


def runtime_requirements() -> dict[str, Requirement]:
    parsed = [Requirement(line) for line in requires("chatkit-desk") or []]
    return {r.name.lower(): r for r in parsed if not r.marker}


def test_chatkit_and_agents_are_pinned_exactly() -> None:
    requirements = runtime_requirements()
    for name in ("openai-chatkit", "openai-agents"):
        specifiers = list(requirements[name].specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", name


def test_no_plaintext_keyring_backend_at_run_time() -> None:
    assert "keyrings.alt" not in runtime_requirements()
