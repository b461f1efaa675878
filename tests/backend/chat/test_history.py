"""What the model is shown: the latest items only, with assistant turns as plain text."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from chatkit.types import (
    AssistantMessageContent,
    AssistantMessageItem,
    InferenceOptions,
    ThreadMetadata,
    UserMessageItem,
    UserMessageTextContent,
)

from backend.chat.history import HISTORY_ITEM_LIMIT, recent_history
from backend.store import SQLiteStore
from backend.store.database import open_database
from tests.support.contexts import context_for

USER = context_for("u")


async def test_only_the_latest_items_oldest_first(tmp_path: Path) -> None:
    database = open_database(tmp_path / "db.sqlite3")
    store = SQLiteStore(database)
    thread = ThreadMetadata(id="t", created_at=datetime.now())
    await store.save_thread(thread, USER)
    for turn in range(60):
        await store.add_thread_item(
            "t",
            UserMessageItem(
                id=f"u{turn}",
                thread_id="t",
                created_at=datetime.now(),
                content=[UserMessageTextContent(text=f"question {turn}")],
                inference_options=InferenceOptions(),
            ),
            USER,
        )
        await store.add_thread_item(
            "t",
            AssistantMessageItem(
                id=f"a{turn}",
                thread_id="t",
                created_at=datetime.now(),
                content=[AssistantMessageContent(text=f"answer {turn}")],
            ),
            USER,
        )

    history = await recent_history(store, thread, USER)

    assert len(history) == HISTORY_ITEM_LIMIT
    assert history[-1] == {"role": "assistant", "content": "answer 59"}
    assert history[0]["role"] == "user"
    assert history[0]["content"] == [{"type": "input_text", "text": "question 40"}]
    database.close()
