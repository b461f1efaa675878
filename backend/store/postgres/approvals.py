"""Paused runs and the tool calls they wait on, in team mode's Postgres (see
``backend.store.approvals``): a card decided on one replica is decided for all of them, and a
run is claimed by one request on one replica only (the ``UPDATE … WHERE NOT resuming`` of the
second waits for the first's row lock, then finds it claimed)."""

from __future__ import annotations

import json

from backend.store.approvals import (
    APPROVAL_COLUMNS,
    Approval,
    ApprovalStore,
    DecidedRun,
    Decision,
)
from backend.store.postgres.database import PostgresDatabase


class PostgresApprovalStore(ApprovalStore):
    def __init__(self, database: PostgresDatabase) -> None:
        self._db = database

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
        async with self._db.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO paused_runs (id, thread_id, user_id, state, workflow_id, "
                "workflow_tasks, counted_usage, created_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, extract(epoch FROM now())::bigint)",
                run_id,
                thread_id,
                user_id,
                state,
                workflow_id,
                json.dumps(task_of_call),
                json.dumps(counted_usage),
            )
            await connection.executemany(
                "INSERT INTO tool_approvals (id, run_id, user_id, item_id, call_id, server, "
                "tool, arguments) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                [
                    (a.id, run_id, user_id, a.item_id, a.call_id, a.server, a.tool, a.arguments)
                    for a in approvals
                ],
            )

    async def decide(
        self, approval_id: str, user_id: str, thread_id: str, item_id: str, decision: Decision
    ) -> Approval | None:
        row = await self._db.pool.fetchrow(
            "UPDATE tool_approvals SET decision = $1 "
            "WHERE id = $2 AND user_id = $3 AND item_id = $4 AND decision IS NULL "
            "AND run_id IN (SELECT id FROM paused_runs WHERE thread_id = $5) "
            f"RETURNING {APPROVAL_COLUMNS}",
            decision,
            approval_id,
            user_id,
            item_id,
            thread_id,
        )
        return Approval(*row) if row else None

    async def claim(self, run_id: str, user_id: str) -> DecidedRun | None:
        async with self._db.pool.acquire() as connection, connection.transaction():
            decisions = dict(
                await connection.fetch(
                    "SELECT call_id, decision FROM tool_approvals WHERE run_id = $1", run_id
                )
            )
            if None in decisions.values():
                return None
            row = await connection.fetchrow(
                "UPDATE paused_runs SET resuming = true "
                "WHERE id = $1 AND user_id = $2 AND NOT resuming "
                "RETURNING state, workflow_id, workflow_tasks, counted_usage",
                run_id,
                user_id,
            )
        if row is None:
            return None
        return DecidedRun(run_id, row[0], row[1], json.loads(row[2]), decisions, json.loads(row[3]))

    async def finish(self, run_id: str) -> None:
        await self._db.pool.execute("DELETE FROM paused_runs WHERE id = $1", run_id)

    async def is_paused(self, run_id: str) -> bool:
        found = await self._db.pool.fetchval("SELECT 1 FROM paused_runs WHERE id = $1", run_id)
        return found is not None

    async def reopen(self, approval_id: str, run_id: str) -> None:
        async with self._db.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "UPDATE tool_approvals SET decision = NULL WHERE id = $1 AND run_id = $2",
                approval_id,
                run_id,
            )
            await connection.execute(
                "UPDATE paused_runs SET resuming = false WHERE id = $1", run_id
            )

    async def expire_thread(
        self, thread_id: str, user_id: str
    ) -> tuple[list[Approval], list[tuple[str, dict[str, int]]]]:
        async with self._db.pool.acquire() as connection, connection.transaction():
            expired = [
                Approval(*row)
                for row in await connection.fetch(
                    # an update, not a read: a click on another replica at this moment
                    # either comes first (and is not expired) or finds the call decided
                    "UPDATE tool_approvals SET decision = 'expired' WHERE decision IS NULL "
                    "AND run_id IN (SELECT id FROM paused_runs WHERE thread_id = $1 "
                    f"AND user_id = $2) RETURNING {APPROVAL_COLUMNS}",
                    thread_id,
                    user_id,
                )
            ]
            deleted = await connection.fetch(
                "DELETE FROM paused_runs WHERE thread_id = $1 AND user_id = $2 "
                "RETURNING workflow_id, workflow_tasks",
                thread_id,
                user_id,
            )
        workflows = [
            (workflow_id, json.loads(tasks))
            for workflow_id, tasks in deleted
            if workflow_id is not None
        ]
        return expired, workflows
