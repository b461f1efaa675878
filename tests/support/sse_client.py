"""A small client for the desk server as a frontend would use it: JSON calls and SSE streams."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass
class Reply:
    status: int
    events: list[dict[str, Any]]
    body: dict[str, Any] | None = None

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event.get("type") == kind]

    @property
    def text_deltas(self) -> list[str]:
        return [
            e["update"]["delta"]
            for e in self.of_type("thread.item.updated")
            if e["update"]["type"] == "assistant_message.content_part.text_delta"
        ]

    @property
    def assistant_items(self) -> list[dict[str, Any]]:
        return [
            e["item"]
            for e in self.of_type("thread.item.done")
            if e["item"]["type"] == "assistant_message"
        ]

    @property
    def assistant_text(self) -> str:
        return "".join(part["text"] for item in self.assistant_items for part in item["content"])

    @property
    def thread_id(self) -> str:
        return self.of_type("thread.created")[0]["thread"]["id"]

    @property
    def errors(self) -> list[dict[str, Any]]:
        return self.of_type("error")

    @property
    def notices(self) -> list[str]:
        return [event["message"] for event in self.of_type("notice")]

    def done_items(self, kind: str) -> list[dict[str, Any]]:
        """Items of this type as they ended in this stream (done, or replaced whole)."""
        return [
            event["item"]
            for event in self.events
            if event.get("type") in ("thread.item.done", "thread.item.replaced")
            and event["item"]["type"] == kind
        ]


def parse_sse(raw: str) -> list[dict[str, Any]]:
    events = []
    for block in raw.split("\n\n"):
        data = [line[5:].lstrip() for line in block.splitlines() if line.startswith("data:")]
        if data:
            events.append(json.loads("\n".join(data)))
    return events


class DeskClient:
    def __init__(
        self, base_url: str, token: str | None, timeout: float = 30, verify: bool = True
    ) -> None:
        """``verify=False`` for a server whose certificate is self-signed (the tests' HAProxy)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, verify=verify)

    def close(self) -> None:
        self.http.close()

    def chatkit(self, request: dict[str, Any]) -> Reply:
        response = self.http.post("/chatkit", json=request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return Reply(response.status_code, parse_sse(response.text))
        return Reply(response.status_code, [], response.json())

    def simple(self, request: dict[str, Any]) -> Reply:
        response = self.http.post("/api/chat", json=request)
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return Reply(response.status_code, parse_sse(response.text))
        return Reply(response.status_code, [], response.json())

    # The ChatKit requests a frontend sends

    def create_thread(self, text: str) -> Reply:
        return self.chatkit({"type": "threads.create", "params": {"input": user_input(text)}})

    def add_message(self, thread_id: str, text: str) -> Reply:
        return self.chatkit(
            {
                "type": "threads.add_user_message",
                "params": {"thread_id": thread_id, "input": user_input(text)},
            }
        )

    def get_thread(self, thread_id: str) -> Reply:
        return self.chatkit({"type": "threads.get_by_id", "params": {"thread_id": thread_id}})

    def list_threads(self, **params: Any) -> Reply:
        return self.chatkit({"type": "threads.list", "params": params})

    def list_items(self, thread_id: str, **params: Any) -> Reply:
        return self.chatkit({"type": "items.list", "params": {"thread_id": thread_id, **params}})

    def custom_action(self, thread_id: str, item_id: str, action: dict[str, Any]) -> Reply:
        """What ChatKit.js sends when a widget's button is clicked."""
        params = {"thread_id": thread_id, "item_id": item_id, "action": action}
        return self.chatkit({"type": "threads.custom_action", "params": params})


def user_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }
