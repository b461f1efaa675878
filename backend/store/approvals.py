"""Tool calls waiting for the user's approval, and the paused runs they belong to.

A run that reaches a call needing approval stops; its state (the Agents SDK's ``RunState`` as
JSON) is kept here with one row per call waiting, so a pending approval survives a restart. A
click decides a call exactly once (an ``UPDATE … WHERE decision IS NULL``: a second click, or a
second server, finds it decided), and the run is claimed by whoever decides its last call, so it
resumes once. It is deleted once it has really started again (``finish``); a resume that fails
before that (no key, the provider busy) gives the call back to the user (``reopen``), so a
decision is never lost on the way. Rows are the user's, like threads.

``ApprovalStore`` is what the chat server needs; ``SQLiteApprovalStore`` keeps it in the desktop
database, ``backend.store.postgres.approvals`` in team mode's.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Literal, Protocol

Decision = Literal["allow", "deny", "expired"]


@dataclass(frozen=True)
class Approval:
    id: str
    run_id: str
    item_id: str
    call_id: str
    server: str
    tool: str
    arguments: str
    decision: Decision | None = None


@dataclass(frozen=True)
class DecidedRun:
    run_id: str
    state: str
    workflow_id: str | None
    task_of_call: dict[str, int]
    decisions: dict[str, Decision]
    """By call id."""
    counted_usage: dict[str, int]
    """The tokens counted when the run paused: its resumed run reports them again."""


class ApprovalStore(Protocol):
    async def pause(
        self,
        run_id: str,
        thread_id: str,
        user_id: str,
        state: str,
        workflow_id: str | None,
        task_of_call: dict[str, int],
        approvals: list[Approval],
        counted_usage: dict[str, int],
    ) -> None:
        """Keep a paused run and the calls it waits on (one transaction)."""

    async def decide(
        self, approval_id: str, user_id: str, thread_id: str, item_id: str, decision: Decision
    ) -> Approval | None:
        """Record the user's answer; ``None`` when it was decided already, or is not this
        user's, this thread's or this card's."""

    async def claim(self, run_id: str, user_id: str) -> DecidedRun | None:
        """The run to resume, once every call it waits on is decided; ``None`` until then, or
        when another request claimed it first."""

    async def finish(self, run_id: str) -> None:
        """The claimed run has started again: it is no longer paused."""

    async def is_paused(self, run_id: str) -> bool: ...

    async def reopen(self, approval_id: str, run_id: str) -> None:
        """A resume failed before the run started: the call waits for the user again."""

    async def expire_thread(
        self, thread_id: str, user_id: str
    ) -> tuple[list[Approval], list[tuple[str, dict[str, int]]]]:
        """The conversation moved on: the thread's waiting calls will never run. Returns them,
        and the paused runs' workflows (id, task indexes by call), so the thread can say so."""


class SQLiteApprovalStore(ApprovalStore):
    """On the desktop database; each method runs on the event loop without awaiting, so its
    transaction is never interleaved with another."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    async def pause(
        self,
        run_id: str,
        thread_id: str,
        user_id: str,
        state: str,
        workflow_id: str | None,
        task_of_call: dict[str, int],
        approvals: list[Approval],
        counted_usage: dict[str, int],
    ) -> None:
        with _transaction(self._db):
            self._db.execute(
                "INSERT INTO paused_runs (id, thread_id, user_id, state, workflow_id, "
                "workflow_tasks, counted_usage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    thread_id,
                    user_id,
                    state,
                    workflow_id,
                    json.dumps(task_of_call),
                    json.dumps(counted_usage),
                    int(time.time()),
                ),
            )
            self._db.executemany(
                "INSERT INTO tool_approvals (id, run_id, user_id, item_id, call_id, server, "
                "tool, arguments) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (a.id, run_id, user_id, a.item_id, a.call_id, a.server, a.tool, a.arguments)
                    for a in approvals
                ],
            )

    async def decide(
        self, approval_id: str, user_id: str, thread_id: str, item_id: str, decision: Decision
    ) -> Approval | None:
        row = self._db.execute(
            "UPDATE tool_approvals SET decision = ? "
            "WHERE id = ? AND user_id = ? AND item_id = ? AND decision IS NULL "
            "AND run_id IN (SELECT id FROM paused_runs WHERE thread_id = ?) "
            f"RETURNING {APPROVAL_COLUMNS}",
            (decision, approval_id, user_id, item_id, thread_id),
        ).fetchone()
        return Approval(*row) if row else None

    async def claim(self, run_id: str, user_id: str) -> DecidedRun | None:
        with _transaction(self._db):
            waiting = self._db.execute(
                "SELECT count(*) FROM tool_approvals WHERE run_id = ? AND decision IS NULL",
                (run_id,),
            ).fetchone()[0]
            if waiting:
                return None
            decisions = dict(
                self._db.execute(
                    "SELECT call_id, decision FROM tool_approvals WHERE run_id = ?", (run_id,)
                ).fetchall()
            )
            row = self._db.execute(
                "UPDATE paused_runs SET resuming = 1 "
                "WHERE id = ? AND user_id = ? AND resuming = 0 "
                "RETURNING state, workflow_id, workflow_tasks, counted_usage",
                (run_id, user_id),
            ).fetchone()
        if row is None:
            return None
        return DecidedRun(run_id, row[0], row[1], json.loads(row[2]), decisions, json.loads(row[3]))

    async def finish(self, run_id: str) -> None:
        self._db.execute("DELETE FROM paused_runs WHERE id = ?", (run_id,))

    async def is_paused(self, run_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM paused_runs WHERE id = ?", (run_id,)).fetchone()
        return row is not None

    async def reopen(self, approval_id: str, run_id: str) -> None:
        with _transaction(self._db):
            self._db.execute(
                "UPDATE tool_approvals SET decision = NULL WHERE id = ? AND run_id = ?",
                (approval_id, run_id),
            )
            self._db.execute("UPDATE paused_runs SET resuming = 0 WHERE id = ?", (run_id,))

    async def expire_thread(
        self, thread_id: str, user_id: str
    ) -> tuple[list[Approval], list[tuple[str, dict[str, int]]]]:
        with _transaction(self._db):
            expired = [
                Approval(*row)
                for row in self._db.execute(
                    "UPDATE tool_approvals SET decision = 'expired' WHERE decision IS NULL AND "
                    "run_id IN (SELECT id FROM paused_runs WHERE thread_id = ? AND user_id = ?) "
                    f"RETURNING {APPROVAL_COLUMNS}",
                    (thread_id, user_id),
                ).fetchall()
            ]
            workflows = [
                (workflow_id, json.loads(tasks))
                for workflow_id, tasks in self._db.execute(
                    "DELETE FROM paused_runs WHERE thread_id = ? AND user_id = ? "
                    "RETURNING workflow_id, workflow_tasks",
                    (thread_id, user_id),
                ).fetchall()
                if workflow_id is not None
            ]
        return expired, workflows


APPROVAL_COLUMNS = "id, run_id, item_id, call_id, server, tool, arguments, decision"


class _transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK``) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, *_: object) -> None:
        self._db.execute("ROLLBACK" if kind is not None else "COMMIT")
