"""The baseline: a minimal sample-style ChatKit backend, as the openai-chatkit samples wire one.

``ChatKitServer`` + an in-memory store + ``stream_agent_response``; no auth, no persistence,
every turn reloads the thread's items. Run: ``python bench/baseline_server.py PORT``, with
``BASELINE_BASE_URL``, ``BASELINE_MODEL`` and ``BASELINE_API`` (``responses`` or ``chat``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from agents import (
    Agent,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
)
from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.store import NotFoundError, Store
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata, UserMessageItem
from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from openai import AsyncOpenAI


class MemoryStore(Store[dict]):
    def __init__(self) -> None:
        self.threads: dict[str, ThreadMetadata] = {}
        self.items: dict[str, list[ThreadItem]] = {}

    async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata:
        if thread_id not in self.threads:
            raise NotFoundError(thread_id)
        return self.threads[thread_id]

    async def save_thread(self, thread: ThreadMetadata, context: dict) -> None:
        self.threads[thread.id] = ThreadMetadata(**thread.model_dump(exclude={"items"}))
        self.items.setdefault(thread.id, [])

    async def load_thread_items(
        self, thread_id: str, after: str | None, limit: int, order: str, context: dict
    ) -> Page[ThreadItem]:
        items = list(self.items.get(thread_id, []))
        if order == "desc":
            items.reverse()
        start = next((i + 1 for i, item in enumerate(items) if item.id == after), 0)
        page = items[start : start + limit]
        return Page(
            data=page, has_more=start + limit < len(items), after=page[-1].id if page else None
        )

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        self.items.setdefault(thread_id, []).append(item)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        items = self.items.setdefault(thread_id, [])
        for index, existing in enumerate(items):
            if existing.id == item.id:
                items[index] = item
                return
        items.append(item)

    async def load_item(self, thread_id: str, item_id: str, context: dict) -> ThreadItem:
        for item in self.items.get(thread_id, []):
            if item.id == item_id:
                return item
        raise NotFoundError(item_id)

    async def delete_thread(self, thread_id: str, context: dict) -> None:
        self.threads.pop(thread_id, None)
        self.items.pop(thread_id, None)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict) -> None:
        self.items[thread_id] = [i for i in self.items.get(thread_id, []) if i.id != item_id]

    async def load_threads(
        self, limit: int, after: str | None, order: str, context: dict
    ) -> Page[ThreadMetadata]:
        return Page(data=list(self.threads.values())[:limit])

    async def save_attachment(self, attachment: Attachment, context: dict) -> None:
        raise NotImplementedError

    async def load_attachment(self, attachment_id: str, context: dict) -> Attachment:
        raise NotImplementedError

    async def delete_attachment(self, attachment_id: str, context: dict) -> None:
        raise NotImplementedError


def _agent() -> Agent:
    client = AsyncOpenAI(base_url=os.environ["BASELINE_BASE_URL"], api_key="sk-bench")
    model_name = os.environ.get("BASELINE_MODEL", "fake-gpt")
    if os.environ.get("BASELINE_API", "responses") == "chat":
        model: Any = OpenAIChatCompletionsModel(model=model_name, openai_client=client)
    else:
        model = OpenAIResponsesModel(model=model_name, openai_client=client)
    return Agent(name="Assistant", instructions="You are a helpful assistant.", model=model)


class BaselineServer(ChatKitServer[dict]):
    def __init__(self, store: MemoryStore) -> None:
        super().__init__(store)
        self.agent = _agent()

    async def respond(
        self, thread: ThreadMetadata, input_user_message: UserMessageItem | None, context: dict
    ) -> AsyncIterator:
        items = await self.store.load_thread_items(thread.id, None, 1000, "asc", context)
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(
            self.agent,
            await simple_to_agent_input(items.data),
            context=agent_context,
            run_config=RunConfig(tracing_disabled=True),
        )
        async for event in stream_agent_response(agent_context, result):
            yield event


app = FastAPI()
server = BaselineServer(MemoryStore())


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/chatkit")
async def chatkit(request: Request) -> Response:
    result = await server.process(await request.body(), {})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
