"""Tool calls waiting for approval, on both storages: decided once, resumed once, the user's own,
kept."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from chatkit.types import ThreadMetadata

from backend.store.approvals import Approval, ApprovalStore
from tests.support.contexts import context_for
from tests.support.storages import Backend

ALICE = context_for("alice")


@pytest.fixture
async def approvals(backend: Backend) -> ApprovalStore:
    await backend.storage.store.save_thread(
        ThreadMetadata(id="thr_1", created_at=datetime.now()), ALICE
    )
    return backend.storage.approvals


def waiting(approval_id: str, call_id: str, run_id: str = "run_1") -> Approval:
    return Approval(approval_id, run_id, f"tc_{approval_id}", call_id, "files", "read", "{}")


async def pause(store: ApprovalStore, *calls: Approval, run_id: str = "run_1") -> None:
    await store.pause(
        run_id, "thr_1", "alice", '{"state": 1}', "wf_1", {"c1": 0, "c2": 1}, list(calls), {}
    )


async def test_a_call_is_decided_once(approvals: ApprovalStore) -> None:
    await pause(approvals, waiting("a1", "c1"))
    decided = await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow")
    assert decided is not None and decided.decision == "allow"
    assert await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow") is None, (
        "a second click does nothing"
    )
    assert await approvals.decide("a1", "alice", "thr_1", "tc_a1", "deny") is None, (
        "nor does changing one's mind"
    )


async def test_another_users_approval_is_not_found(approvals: ApprovalStore) -> None:
    await pause(approvals, waiting("a1", "c1"))
    assert await approvals.decide("a1", "bob", "thr_1", "tc_a1", "allow") is None
    assert await approvals.claim("run_1", "bob") is None


async def test_the_run_resumes_once_its_last_call_is_decided(approvals: ApprovalStore) -> None:
    await pause(approvals, waiting("a1", "c1"), waiting("a2", "c2"))
    await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow")
    assert await approvals.claim("run_1", "alice") is None, "c2 is still waiting"
    await approvals.decide("a2", "alice", "thr_1", "tc_a2", "deny")

    run = await approvals.claim("run_1", "alice")

    assert run is not None
    assert (run.run_id, run.state, run.workflow_id) == ("run_1", '{"state": 1}', "wf_1")
    assert run.decisions == {"c1": "allow", "c2": "deny"}
    assert run.task_of_call == {"c1": 0, "c2": 1}
    assert await approvals.claim("run_1", "alice") is None, "claimed once"
    await approvals.finish("run_1")
    assert not await approvals.is_paused("run_1")


async def test_a_resume_that_fails_before_it_starts_gives_the_call_back(
    approvals: ApprovalStore,
) -> None:
    await pause(approvals, waiting("a1", "c1"))
    await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow")
    assert await approvals.claim("run_1", "alice") is not None

    await approvals.reopen("a1", "run_1")  # say the provider was busy

    assert await approvals.claim("run_1", "alice") is None, "the call waits for the user again"
    assert await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow") is not None
    assert await approvals.claim("run_1", "alice") is not None


async def test_an_approval_is_decided_only_on_its_own_card_in_its_own_thread(
    approvals: ApprovalStore,
) -> None:
    await pause(approvals, waiting("a1", "c1"))
    assert await approvals.decide("a1", "alice", "thr_2", "tc_a1", "allow") is None
    assert await approvals.decide("a1", "alice", "thr_1", "tc_other", "allow") is None
    assert await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow") is not None


async def test_the_usage_counted_at_the_pause_comes_back_with_the_run(
    approvals: ApprovalStore,
) -> None:
    await approvals.pause(
        "run_2",
        "thr_1",
        "alice",
        "{}",
        None,
        {},
        [waiting("a9", "c9", "run_2")],
        {"input_tokens": 12, "requests": 1},
    )
    await approvals.decide("a9", "alice", "thr_1", "tc_a9", "allow")
    run = await approvals.claim("run_2", "alice")
    assert run is not None and run.counted_usage == {"input_tokens": 12, "requests": 1}


async def test_a_new_message_expires_what_waits(approvals: ApprovalStore) -> None:
    await pause(approvals, waiting("a1", "c1"), waiting("a2", "c2"))
    await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow")

    expired, workflows = await approvals.expire_thread("thr_1", "alice")

    assert [a.id for a in expired] == ["a2"]
    assert workflows == [("wf_1", {"c1": 0, "c2": 1})]
    assert await approvals.decide("a2", "alice", "thr_1", "tc_a2", "allow") is None
    assert await approvals.claim("run_1", "alice") is None


async def test_waiting_calls_survive_a_restart(
    tmp_path: Path, backend: Backend, approvals: ApprovalStore
) -> None:
    await pause(approvals, waiting("a1", "c1"))
    await backend.storage.close()
    reopened = await backend.reopen(tmp_path)
    try:
        again = reopened.storage.approvals
        assert await again.decide("a1", "alice", "thr_1", "tc_a1", "allow") is not None
        assert await again.claim("run_1", "alice") is not None
    finally:
        await reopened.storage.close()


async def test_deleting_the_thread_deletes_its_paused_runs(
    backend: Backend, approvals: ApprovalStore
) -> None:
    await pause(approvals, waiting("a1", "c1"))
    await backend.storage.store.delete_thread("thr_1", ALICE)
    assert await approvals.decide("a1", "alice", "thr_1", "tc_a1", "allow") is None
    assert not await approvals.is_paused("run_1")
