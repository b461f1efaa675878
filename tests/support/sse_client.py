"""A small client for the desk server as a frontend would use it: JSON calls and SSE streams."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.desk_process import make_token


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

    def __enter__(self) -> DeskClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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


class BackgroundStream(threading.Thread):
    """A ChatKit stream (a new thread) read in the background, as a browser reads it while the
    test stops the server, or the load balancer in front of it, meanwhile."""

    def __init__(self, url: str, user: str, text: str) -> None:
        super().__init__(daemon=True)
        self.url, self.user, self.text = url, user, text
        self.raw = ""
        self.first_delta = threading.Event()
        self.failure: Exception | None = None

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError as exc:
            self.failure = exc

    def _read(self) -> None:
        body = {"type": "threads.create", "params": {"input": user_input(self.text)}}
        headers = {"Authorization": f"Bearer {make_token(self.user)}"}
        with (
            httpx.Client(timeout=120, verify=False) as client,
            client.stream("POST", f"{self.url}/chatkit", json=body, headers=headers) as answer,
        ):
            for chunk in answer.iter_text():
                self.raw += chunk
                if "text_delta" in self.raw:
                    self.first_delta.set()

    @property
    def events_so_far(self) -> list[dict[str, Any]]:
        """The events read whole, even from a stream that broke off."""
        return parse_sse(self.raw.rpartition("\n\n")[0])

    @property
    def reply(self) -> Reply:
        assert self.failure is None, f"the stream broke: {self.failure!r}; it read {self.raw!r}"
        return Reply(200, parse_sse(self.raw))


def user_input(text: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }
