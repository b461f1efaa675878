"""The database schema, as numbered migrations applied in order.

A database records the number of the last migration applied to it (SQLite: ``PRAGMA
user_version``). At start the missing ones are applied, each in its own transaction, so an older
database is upgraded in place and a new one is built by the same steps. A number is never reused
and a migration is never edited once released: a change is a new migration. Team mode (Postgres)
gets its own SQL under the same numbers, so both stores always describe the same version.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Migration:
    version: int
    purpose: str
    sql: str


SQLITE: tuple[Migration, ...] = (
    Migration(
        1,
        "threads, their items and attachments, each owned by a user",
        """
        CREATE TABLE threads (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            user_id TEXT NOT NULL,
            data TEXT NOT NULL
        );
        CREATE INDEX threads_by_user ON threads (user_id, seq);
        CREATE TABLE items (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            data TEXT NOT NULL,
            UNIQUE (thread_id, id)
        );
        CREATE INDEX items_by_thread ON items (thread_id, seq);
        CREATE TABLE attachments (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            thread_id TEXT REFERENCES threads (id) ON DELETE CASCADE,
            data TEXT NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "an answer the provider cut short is marked as such",
        "ALTER TABLE items ADD COLUMN incomplete INTEGER NOT NULL DEFAULT 0;",
    ),
    Migration(
        3,
        "sign-in links already used (each works once)",
        """
        CREATE TABLE IF NOT EXISTS used_login_tokens (
            token_id TEXT PRIMARY KEY,
            expires_at INTEGER NOT NULL
        );
        """,
    ),
    Migration(
        4,
        "tool calls waiting for the user's approval, and the runs they pause",
        """
        CREATE TABLE paused_runs (
            id TEXT PRIMARY KEY,
            thread_id TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            state TEXT NOT NULL,  -- the Agents SDK's RunState, as JSON
            workflow_id TEXT,  -- the turn's tool workflow item, carried on when it resumes
            workflow_tasks TEXT NOT NULL DEFAULT '{}',  -- its tasks' indexes by call id (JSON)
            created_at INTEGER NOT NULL
        );
        CREATE INDEX paused_runs_by_thread ON paused_runs (thread_id);
        CREATE TABLE tool_approvals (
            id TEXT PRIMARY KEY,
            run_id TEXT NOT NULL REFERENCES paused_runs (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            item_id TEXT NOT NULL,  -- the card in the thread that asks
            call_id TEXT NOT NULL,
            server TEXT NOT NULL,
            tool TEXT NOT NULL,
            arguments TEXT NOT NULL,
            decision TEXT  -- NULL while waiting, then 'allow', 'deny' or 'expired'
        );
        CREATE INDEX tool_approvals_by_run ON tool_approvals (run_id);
        """,
    ),
    Migration(
        5,
        "a paused run remembers the tokens already counted (its resumed run reports them again) "
        "and whether a request is resuming it",
        """
        ALTER TABLE paused_runs ADD COLUMN counted_usage TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE paused_runs ADD COLUMN resuming INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    Migration(
        6,
        "attachments remember when they were created (unsent ones are collected after a while) "
        "and how many bytes were uploaded (NULL until the upload is complete)",
        """
        ALTER TABLE attachments ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE attachments ADD COLUMN size INTEGER;
        CREATE INDEX attachments_unsent ON attachments (created_at) WHERE thread_id IS NULL;
        CREATE INDEX attachments_by_thread ON attachments (thread_id);
        """,
    ),
)


POSTGRES: tuple[Migration, ...] = (
    # Rows hold the SDK's pydantic JSON as ``json``, not ``jsonb``: kept as written, and a
    # message may hold a NUL character (``\u0000``), which ``jsonb`` refuses.
    Migration(
        1,
        "threads, their items and attachments, each owned by a user",
        """
        CREATE TABLE threads (
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,  -- the list's order (creation)
            id text PRIMARY KEY,
            user_id text NOT NULL,
            data json NOT NULL,
            last_pos bigint NOT NULL DEFAULT 0  -- the item positions handed out so far
        );
        CREATE INDEX threads_by_user ON threads (user_id, seq);
        CREATE TABLE items (
            thread_id text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            pos bigint NOT NULL,  -- taken under the thread's row lock: commit order
            id text NOT NULL,
            user_id text NOT NULL,
            data json NOT NULL,
            PRIMARY KEY (thread_id, id),
            UNIQUE (thread_id, pos)
        );
        CREATE TABLE attachments (
            id text PRIMARY KEY,
            user_id text NOT NULL,
            thread_id text REFERENCES threads (id) ON DELETE CASCADE,
            data json NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "an answer the provider cut short is marked as such",
        "ALTER TABLE items ADD COLUMN incomplete boolean NOT NULL DEFAULT false;",
    ),
    Migration(
        3,
        "sign-in links already used (each works once on every replica), and the per-user "
        "request rate shared by the replicas",
        """
        CREATE TABLE used_login_tokens (
            token_id text PRIMARY KEY,
            expires_at bigint NOT NULL  -- Unix time
        );
        CREATE INDEX used_login_tokens_by_expiry ON used_login_tokens (expires_at);
        -- a token bucket per user; unlogged: emptied by a crash, which only forgives a burst
        CREATE UNLOGGED TABLE rate_buckets (
            user_id text PRIMARY KEY,
            tokens double precision NOT NULL,
            at timestamptz NOT NULL
        ) WITH (fillfactor = 70);  -- room for updates in place
        """,
    ),
    Migration(
        4,
        "tool calls waiting for the user's approval, and the runs they pause",
        """
        CREATE TABLE paused_runs (
            id text PRIMARY KEY,
            thread_id text NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
            user_id text NOT NULL,
            state text NOT NULL,  -- the Agents SDK's RunState, as JSON
            workflow_id text,
            workflow_tasks text NOT NULL DEFAULT '{}',
            created_at bigint NOT NULL  -- Unix time
        );
        CREATE INDEX paused_runs_by_thread ON paused_runs (thread_id);
        CREATE TABLE tool_approvals (
            id text PRIMARY KEY,
            run_id text NOT NULL REFERENCES paused_runs (id) ON DELETE CASCADE,
            user_id text NOT NULL,
            item_id text NOT NULL,
            call_id text NOT NULL,
            server text NOT NULL,
            tool text NOT NULL,
            arguments text NOT NULL,
            decision text  -- NULL while waiting, then 'allow', 'deny' or 'expired'
        );
        CREATE INDEX tool_approvals_by_run ON tool_approvals (run_id);
        """,
    ),
    Migration(
        5,
        "a paused run remembers the tokens already counted (its resumed run reports them again) "
        "and whether a request is resuming it",
        """
        ALTER TABLE paused_runs ADD COLUMN counted_usage text NOT NULL DEFAULT '{}';
        ALTER TABLE paused_runs ADD COLUMN resuming boolean NOT NULL DEFAULT false;
        """,
    ),
    Migration(
        6,
        "attachments remember when they were created (unsent ones are collected after a while) "
        "and how many bytes were uploaded (NULL until the upload is complete); their bytes live "
        "here too, since the replicas share no disk",
        """
        ALTER TABLE attachments ADD COLUMN created_at bigint NOT NULL DEFAULT 0;  -- Unix time
        ALTER TABLE attachments ADD COLUMN size bigint;
        CREATE INDEX attachments_unsent ON attachments (created_at) WHERE thread_id IS NULL;
        CREATE INDEX attachments_by_thread ON attachments (thread_id);
        -- one row per key: the upload itself, and derived copies (the model's copy of an image)
        CREATE TABLE attachment_blobs (
            key text PRIMARY KEY,
            attachment_id text NOT NULL REFERENCES attachments (id) ON DELETE CASCADE,
            data bytea NOT NULL
        );
        CREATE INDEX attachment_blobs_by_attachment ON attachment_blobs (attachment_id);
        """,
    ),
)


def latest(migrations: tuple[Migration, ...]) -> int:
    return migrations[-1].version


def pending(migrations: tuple[Migration, ...], current: int) -> tuple[Migration, ...]:
    """The migrations a database at version ``current`` still needs, in order."""
    return tuple(migration for migration in migrations if migration.version > current)
