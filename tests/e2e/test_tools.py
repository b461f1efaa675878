"""Tool calls end to end, on both providers: a real server, a real MCP server, over ``/chatkit``.

The fake provider is scripted by the user's message (``tests/support/fake_turns.py``): it calls
the tools the message names and then answers by quoting what came back, so each test checks
what the model was really given. The MCP test server logs every call it runs.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import client_for
from tests.support.desk_process import DeskProcess, start_with_tools
from tests.support.fake_upstream import FakeUpstream
from tests.support.mcp_servers import McpHttpServer, calls, release, stdio_entry, write_mcp_json
from tests.support.sse_client import DeskClient, Reply, user_input
from tests.support.waiting import wait_until

MAX_STEPS = 4


@pytest.fixture(scope="module")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``mcp.json`` with a local server that runs freely (``t``, 8 s per call: generous on a busy
    machine), one that asks first (``ask``), a remote one over Streamable HTTP (``web``) and one
    over SSE (``old``)."""
    folder = tmp_path_factory.mktemp("tools")
    with McpHttpServer(folder / "web") as web, McpHttpServer(folder / "old", "sse") as old:
        write_mcp_json(
            folder / "mcp.json",
            {
                "t": stdio_entry(folder / "t", requireApproval="never", timeout=8),
                "ask": stdio_entry(folder / "ask"),
                "web": web.entry(requireApproval="never"),
                "old": old.entry(requireApproval="never"),
            },
        )
        yield folder


def start_desk(folder: Path, upstream: FakeUpstream, provider: str, **env: str) -> DeskProcess:
    return start_with_tools(
        folder, upstream.base_url, provider, CHATKIT_DESK_MAX_TOOL_STEPS=str(MAX_STEPS), **env
    )


@pytest.fixture(scope="module", params=["openai", "gemini"])
def tool_desk(
    request: pytest.FixtureRequest, tools_dir: Path, upstream: FakeUpstream
) -> Iterator[DeskProcess]:
    desk = start_desk(tools_dir, upstream, request.param)
    yield desk
    desk.stop()


@pytest.fixture
def client(tool_desk: DeskProcess, user: str) -> Iterator[DeskClient]:
    desk_client = client_for(tool_desk, user)
    yield desk_client
    desk_client.close()


def call(tool: str, **arguments: Any) -> str:
    return f"[tool:{tool} {json.dumps(arguments)}]"


def tasks_of(reply: Reply) -> list[dict[str, Any]]:
    workflows = [w for w in reply.done_items("workflow") if w["workflow"]["type"] == "custom"]
    assert len(workflows) == 1, reply.events
    return workflows[0]["workflow"]["tasks"]


def runs_of(folder: Path, tool: str, marker: str) -> list[dict[str, Any]]:
    return [c for c in calls(folder) if c["tool"] == tool and marker in json.dumps(c)]


def test_one_call_is_a_task_and_its_result_reaches_the_model(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    reply = client.create_thread(f"Echo this {call('t__echo', text=marker)}")

    assert reply.errors == []
    [task] = tasks_of(reply)
    assert task["title"] == "t › echo"
    assert task["status_indicator"] == "complete"
    assert task["content"] == f'{{"text":"{marker}"}}\n→ {marker}'
    assert reply.assistant_text == f"Tool results: t__echo → {marker}."
    assert len(runs_of(tools_dir / "t", "echo", marker)) == 1


def test_a_reload_shows_the_calls_and_later_turns_are_told_of_them(client: DeskClient) -> None:
    marker = uuid.uuid4().hex[:8]
    thread_id = client.create_thread(call("t__add", a=2, b=40) + f" {marker}").thread_id

    items = client.list_items(thread_id, order="asc").body["data"]
    assert [i["type"] for i in items] == ["user_message", "workflow", "assistant_message"]
    [task] = items[1]["workflow"]["tasks"]
    assert (task["title"], task["content"]) == ("t › add", '{"a":2,"b":40}\n→ 42')

    later = client.add_message(thread_id, "What did you find?")
    assert "I was told of earlier tool calls: - t › add: " in later.assistant_text
    assert "→ 42" in later.assistant_text


def test_two_calls_in_one_turn_are_two_tasks_of_one_workflow(
    client: DeskClient, tools_dir: Path, upstream: FakeUpstream
) -> None:
    """Gemini sends parallel calls in one chunk without an index: both must still run."""
    marker = uuid.uuid4().hex[:8]
    reply = client.create_thread(call("t__echo", text=f"a-{marker}") + call("web__add", a=1, b=2))

    titles = [(t["title"], t["content"].split("\n→ ")[1]) for t in tasks_of(reply)]
    assert titles == [("t › echo", f"a-{marker}"), ("web › add", "3")]
    assert reply.assistant_text == f"Tool results: t__echo → a-{marker}; web__add → 3."
    assert len(runs_of(tools_dir / "t", "echo", marker)) == 1


def test_a_server_on_the_older_sse_transport_is_called_too(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    reply = client.create_thread(call("old__echo", text=marker))

    assert [t["title"] for t in tasks_of(reply)] == ["old › echo"]
    assert reply.assistant_text == f"Tool results: old__echo → {marker}."
    assert len(runs_of(tools_dir / "old", "echo", marker)) == 1


def test_a_chain_of_calls_reaches_an_answer(client: DeskClient, upstream: FakeUpstream) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = len(upstream.state.requests)
    reply = client.create_thread(
        f"{call('t__add', a=2, b=3)} [then] {call('t__echo', text=marker)} [then] "
        f"{call('web__multiline', lines=2)}"
    )

    assert [t["title"] for t in tasks_of(reply)] == ["t › add", "t › echo", "web › multiline"]
    assert reply.assistant_text.startswith(f"Tool results: t__add → 5; t__echo → {marker}; ")
    assert len(upstream.state.requests) - asked == 4  # three steps of calls, then the answer


def test_a_model_that_never_stops_calling_is_stopped_at_the_step_bound(
    client: DeskClient,
) -> None:
    reply = client.create_thread(call("t__echo", text="again").replace("[tool:", "[loop:"))

    assert len(tasks_of(reply)) == MAX_STEPS
    [error] = reply.errors
    assert "step limit" in error["message"]
    assert reply.assistant_items == []


def test_a_failing_tool_gives_the_model_its_error(client: DeskClient) -> None:
    reply = client.create_thread(call("t__fail", message="disk on fire"))

    [task] = tasks_of(reply)
    assert task["status_indicator"] == "complete"
    assert "\n✗ " in task["content"] and "disk on fire" in task["content"]
    assert reply.assistant_text.startswith("Tool results: t__fail → ")
    assert "disk on fire" in reply.assistant_text


def test_a_tool_past_its_timeout_gives_the_model_the_timeout(client: DeskClient) -> None:
    reply = client.create_thread(call("t__slow", seconds=120))

    [task] = tasks_of(reply)
    assert "✗ t › slow did not answer within 8 seconds" in task["content"]
    assert reply.assistant_text == (
        "Tool results: t__slow → t › slow did not answer within 8 seconds.."
    )


def test_long_multiline_output_is_shortened_on_screen_but_whole_for_the_model(
    client: DeskClient, upstream: FakeUpstream
) -> None:
    reply = client.create_thread(call("t__multiline", lines=60))

    [task] = tasks_of(reply)
    assert task["content"].endswith("…")
    assert "line 60" not in task["content"]
    sent = json.dumps(upstream.state.requests[-1].body)
    assert "line 60: lorem ipsum" in sent
    assert reply.assistant_text.startswith("Tool results: t__multiline → line 1: lorem")


def test_a_local_tool_server_gets_no_secret_from_the_app(client: DeskClient) -> None:
    reply = client.create_thread(call("t__environment"))

    names = reply.assistant_text.removeprefix("Tool results: t__environment → ").split()
    assert "MCP_TEST_DIR" in names and "PATH" in names
    leaked = [n for n in names if n.startswith("CHATKIT_DESK") or n.endswith("_API_KEY")]
    assert leaked == []


def test_usage_adds_up_across_turns(
    client: DeskClient, upstream: FakeUpstream, tool_desk: DeskProcess
) -> None:
    before = len(upstream.state.usages)
    thread_id = client.create_thread(call("t__add", a=1, b=1)).thread_id
    first_answer = upstream.state.usages[before:]
    client.add_message(thread_id, "and now in words please")
    billed = upstream.state.usages[before:]

    usage = client.http.get(f"/api/threads/{thread_id}/usage").json()
    total = usage["total"]
    assert len(first_answer) == 2 and len(billed) == 3
    assert total["requests"] == 3
    assert total["input_tokens"] == sum(u.input for u in billed)
    assert total["cached_tokens"] == sum(u.cached for u in billed) > 0
    assert total["output_tokens"] == sum(u.output for u in billed)
    answer_ids = [
        i["id"]
        for i in client.list_items(thread_id, order="asc").body["data"]
        if i["type"] == "assistant_message"
    ]
    answers = [usage["answers"][answer] for answer in answer_ids]
    assert [a["requests"] for a in answers] == [2, 1]
    assert answers[0]["input_tokens"] == sum(u.input for u in first_answer)


def test_usage_of_another_users_thread_is_not_found(
    client: DeskClient, tool_desk: DeskProcess, user: str
) -> None:
    thread_id = client.create_thread("mine").thread_id
    stranger = client_for(tool_desk, user + "-other")
    answer = stranger.http.get(f"/api/threads/{thread_id}/usage")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "thread_not_found"


def test_turn_log_and_metrics_count_tools_and_tokens(
    client: DeskClient, tool_desk: DeskProcess
) -> None:
    client.create_thread(call("t__echo", text="counted"))

    log_file = Path(tool_desk.env["CHATKIT_DESK_DATA_DIR"]) / "logs" / "chatkit-desk.log"
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    turn = [line for line in lines if line["event"] == "turn"][-1]
    assert turn["tool_calls"] == 1 and turn["input_tokens"] > 0 and "cached_tokens" in turn
    metrics = client.http.get("/metrics").text
    assert "chatkit_desk_tool_calls_total{" in metrics
    for kind in ("in", "cached", "out", "reasoning"):
        assert f'direction="{kind}"' in metrics


# Approvals


def card_of(reply: Reply) -> tuple[dict[str, Any], dict[str, Any]]:
    """The approval card in a reply, and its Allow and Deny actions by decision."""
    [card] = reply.done_items("widget")
    return card, actions_of(card)


def actions_of(card: dict[str, Any]) -> dict[str, Any]:
    buttons = card["widget"]["children"][-1]["children"]
    return {b["onClickAction"]["payload"]["decision"]: b["onClickAction"] for b in buttons}


def click(client: DeskClient, thread_id: str, card: dict[str, Any], action: dict) -> Reply:
    return client.custom_action(thread_id, card["id"], action)


def test_a_call_that_needs_approval_waits_for_allow_then_runs_once(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(f"Please {call('ask__echo', text=marker)}")
    thread_id = asked.thread_id

    [task] = tasks_of(asked)
    assert task["status_indicator"] == "none" and "Waiting for your approval" in task["content"]
    card, actions = card_of(asked)
    assert "Run ask › echo?" in json.dumps(card["widget"], ensure_ascii=False)
    assert marker in json.dumps(card["widget"])
    assert asked.assistant_items == []
    assert runs_of(tools_dir / "ask", "echo", marker) == []

    allowed = click(client, thread_id, card, actions["allow"])
    assert allowed.errors == []
    [decided] = allowed.done_items("widget")
    assert "Allowed" in json.dumps(decided["widget"]) and "onClickAction" not in json.dumps(
        decided["widget"]
    )
    assert allowed.assistant_text == f"Tool results: ask__echo → {marker}."
    assert len(runs_of(tools_dir / "ask", "echo", marker)) == 1

    again = click(client, thread_id, card, actions["allow"])  # a double click
    assert again.errors == [] and again.assistant_items == []
    assert len(runs_of(tools_dir / "ask", "echo", marker)) == 1

    items = client.list_items(thread_id, order="asc").body["data"]
    assert [i["type"] for i in items] == [
        "user_message",
        "workflow",
        "widget",
        "assistant_message",
    ]
    [stored_task] = items[1]["workflow"]["tasks"]
    assert stored_task["content"] == f'{{"text":"{marker}"}}\n→ {marker}'
    assert "Allowed" in json.dumps(items[2]["widget"])


def test_deny_tells_the_model_the_user_refused(client: DeskClient, tools_dir: Path) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(call("ask__echo", text=marker))
    card, actions = card_of(asked)

    denied = click(client, asked.thread_id, card, actions["deny"])

    assert "Denied" in json.dumps(denied.done_items("widget")[0]["widget"])
    assert denied.assistant_text.startswith("Tool results: ask__echo → The user refused")
    assert runs_of(tools_dir / "ask", "echo", marker) == []


def test_an_approval_in_another_users_thread_is_not_found(
    client: DeskClient, tool_desk: DeskProcess, user: str, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(call("ask__echo", text=marker))
    card, actions = card_of(asked)

    stranger = client_for(tool_desk, user + "-mallory")
    answer = click(stranger, asked.thread_id, card, actions["allow"])

    assert answer.status == 404 and answer.events == []
    assert runs_of(tools_dir / "ask", "echo", marker) == []
    allowed = click(client, asked.thread_id, card, actions["allow"])  # still the owner's to decide
    assert allowed.assistant_text == f"Tool results: ask__echo → {marker}."


def test_a_new_message_instead_of_a_choice_leaves_the_call_not_run(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(call("ask__echo", text=marker))
    card, actions = card_of(asked)

    moved_on = client.add_message(asked.thread_id, "never mind")
    assert "Not run" in json.dumps(moved_on.done_items("widget")[0]["widget"])
    [task] = moved_on.done_items("workflow")[0]["workflow"]["tasks"]
    assert "Not run" in task["content"]
    late = click(client, asked.thread_id, card, actions["allow"])
    assert late.assistant_items == []
    assert runs_of(tools_dir / "ask", "echo", marker) == []


def test_parallel_calls_each_get_a_card_and_the_run_goes_on_after_the_last(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(
        call("ask__echo", text=f"one-{marker}") + call("ask__echo", text=f"two-{marker}")
    )
    cards = asked.done_items("widget")
    assert len(cards) == 2
    first = click(client, asked.thread_id, cards[0], actions_of(cards[0])["allow"])
    assert first.assistant_items == []  # the other call is still waiting
    second = click(client, asked.thread_id, cards[1], actions_of(cards[1])["deny"])
    assert second.assistant_text.startswith(f"Tool results: ask__echo → one-{marker}; ")
    assert "The user refused" in second.assistant_text
    assert [c["arguments"]["text"] for c in runs_of(tools_dir / "ask", "echo", marker)] == [
        f"one-{marker}"
    ]


def test_a_pending_approval_survives_a_restart(
    tools_dir: Path, upstream: FakeUpstream, user: str
) -> None:
    desk = start_desk(tools_dir, upstream, "gemini")  # Gemini: the thought signature must survive
    marker = uuid.uuid4().hex[:8]
    try:
        asked = client_for(desk, user).create_thread(call("ask__echo", text=marker))
        card, actions = card_of(asked)
    finally:
        desk.kill()  # kill -9: nothing is saved on the way out
    desk.start()
    try:
        allowed = click(client_for(desk, user), asked.thread_id, card, actions["allow"])
        assert allowed.errors == []
        assert allowed.assistant_text == f"Tool results: ask__echo → {marker}."
        assert len(runs_of(tools_dir / "ask", "echo", marker)) == 1
    finally:
        desk.stop()


# Gemini's wire quirks


def test_gemini_calls_without_an_id_still_run(
    tools_dir: Path, upstream: FakeUpstream, user: str, request: pytest.FixtureRequest
) -> None:
    desk = request.getfixturevalue("gemini_tool_desk")
    marker = uuid.uuid4().hex[:8]
    reply = client_for(desk, user).create_thread(
        f"[noid] {call('t__echo', text=marker)}{call('t__add', a=1, b=1)}"
    )
    assert reply.errors == []
    assert reply.assistant_text == f"Tool results: t__echo → {marker}; t__add → 2."


def test_the_fake_gemini_refuses_a_replayed_call_without_its_signature(
    upstream: FakeUpstream,
) -> None:
    """The check the Gemini tests rely on is real: a lost signature is a 400 (a JSON array)."""
    call_without_signature = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "t__echo", "arguments": "{}"},
    }
    body = {
        "model": "fake-gemini",
        "stream": True,
        "messages": [
            {"role": "user", "content": call("t__echo")},
            {"role": "assistant", "content": None, "tool_calls": [call_without_signature]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{}"},
        ],
    }
    answer = httpx.post(f"{upstream.base_url}/chat/completions", json=body, timeout=30)
    assert answer.status_code == 400
    assert "thought_signature" in answer.json()[0]["error"]["message"]


@pytest.fixture(scope="module")
def gemini_tool_desk(tools_dir: Path, upstream: FakeUpstream) -> Iterator[DeskProcess]:
    desk = start_desk(tools_dir, upstream, "gemini", CHATKIT_DESK_REASONING_SUMMARY="auto")
    yield desk
    desk.stop()


@pytest.fixture(scope="module")
def openai_reasoning_desk(tools_dir: Path, upstream: FakeUpstream) -> Iterator[DeskProcess]:
    desk = start_desk(
        tools_dir,
        upstream,
        "openai",
        CHATKIT_DESK_REASONING_SUMMARY="auto",
        CHATKIT_DESK_REASONING_EFFORT="low",
    )
    yield desk
    desk.stop()


# Reasoning


@pytest.mark.parametrize("desk_name", ["openai_reasoning_desk", "gemini_tool_desk"])
def test_thoughts_stream_into_a_reasoning_workflow_before_the_answer(
    desk_name: str, user: str, upstream: FakeUpstream, request: pytest.FixtureRequest
) -> None:
    client = client_for(request.getfixturevalue(desk_name), user)
    reply = client.create_thread("[reason] what is two plus two")

    [thoughts] = [w for w in reply.done_items("workflow") if w["workflow"]["type"] == "reasoning"]
    said = " ".join(task["content"] for task in thoughts["workflow"]["tasks"])
    assert "Weighing what was asked first." in said
    assert "<thought>" not in reply.assistant_text and "Weighing" not in reply.assistant_text
    assert reply.assistant_text.startswith("You said: [reason] what is two plus two.")
    kinds = [e["item"]["type"] for e in reply.of_type("thread.item.added")]
    assert kinds.index("workflow") < kinds.index("assistant_message")

    items = client.list_items(reply.thread_id, order="asc").body["data"]
    assert [i["type"] for i in items] == ["user_message", "workflow", "assistant_message"]
    usage = client.http.get(f"/api/threads/{reply.thread_id}/usage").json()["total"]
    assert usage["reasoning_tokens"] == upstream.state.usages[-1].reasoning == 7
    assert usage["output_tokens"] == upstream.state.usages[-1].output


def test_without_the_setting_no_thoughts_are_asked_for_or_shown(
    client: DeskClient, upstream: FakeUpstream
) -> None:
    reply = client.create_thread("[reason] quick one")

    assert reply.done_items("workflow") == []
    body = upstream.state.requests[-1].body
    assert "reasoning" not in body and "extra_body" not in body


def test_the_reasoning_settings_reach_the_provider(
    user: str, upstream: FakeUpstream, openai_reasoning_desk: DeskProcess
) -> None:
    client_for(openai_reasoning_desk, user).create_thread("hello")
    assert upstream.state.requests[-1].body["reasoning"] == {"effort": "low", "summary": "auto"}


# Servers that fail, and mcp.json edited while the server runs


def tool_servers(client: DeskClient) -> dict[str, Any]:
    answer = client.http.get("/api/tools")
    assert answer.status_code == 200, answer.text
    return answer.json()


def status_of(client: DeskClient, name: str) -> str | None:
    servers = {s["name"]: s for s in tool_servers(client)["servers"]}
    return servers[name]["status"] if name in servers else None


def test_a_server_that_cannot_start_is_told_once_per_thread_and_the_chat_goes_on(
    tmp_path: Path, upstream: FakeUpstream, user: str
) -> None:
    write_mcp_json(
        tmp_path / "mcp.json",
        {"gone": {"command": "no-such-mcp-server-xyz"}, "t": stdio_entry(tmp_path / "t")},
    )
    desk = start_desk(tmp_path, upstream, "openai")
    try:
        client = client_for(desk, user)
        first = client.create_thread('hello [tool:t__add {"a": 1, "b": 1}]')

        [notice] = first.notices
        assert "“gone”" in notice and "'no-such-mcp-server-xyz' was not found" in notice
        assert first.done_items("widget")  # t still works (it asks first: the default)
        again = client.add_message(first.thread_id, "hello again")
        assert again.notices == [] and again.assistant_text.startswith("You said: hello again")
        assert len(client.create_thread("another chat").notices) == 1
        gone = next(s for s in tool_servers(client)["servers"] if s["name"] == "gone")
        assert gone["status"] == "failed" and "was not found" in gone["error"]
    finally:
        desk.stop()


def test_a_remote_server_that_goes_away_is_reconnected_when_it_is_back(
    tmp_path: Path, upstream: FakeUpstream, user: str
) -> None:
    web = McpHttpServer(tmp_path / "web").__enter__()
    write_mcp_json(tmp_path / "mcp.json", {"web": web.entry(requireApproval="never")})
    desk = start_desk(tmp_path, upstream, "gemini")
    client = client_for(desk, user)
    try:
        wait_until(lambda: status_of(client, "web") == "connected", "web to connect")
        web.stop()
        broken = client.create_thread(call("web__echo", text="anyone?"))
        assert broken.errors == []
        assert broken.assistant_text == (
            "Tool results: web__echo → web › echo could not be run: the tool server “web” stopped.."
        )

        web.__enter__()  # the same port again
        wait_until(lambda: status_of(client, "web") == "connected", "web to be reconnected")
        back = client.create_thread(call("web__echo", text="back"))
        assert back.assistant_text == "Tool results: web__echo → back."
    finally:
        desk.stop()
        web.stop()


def test_editing_mcp_json_applies_without_a_restart(
    tmp_path: Path, upstream: FakeUpstream, user: str
) -> None:
    config = write_mcp_json(tmp_path / "mcp.json", {})
    desk = start_desk(tmp_path, upstream, "openai")
    client = client_for(desk, user)
    try:
        assert tool_servers(client)["servers"] == []
        write_mcp_json(config, {"extra": stdio_entry(tmp_path / "x", requireApproval="never")})
        wait_until(lambda: status_of(client, "extra") == "connected", "the new server to connect")
        reply = client.create_thread(call("extra__add", a=20, b=22))
        assert reply.assistant_text == "Tool results: extra__add → 42."

        config.write_text('{"mcpServers": {"extra": {"command": 5}}}')
        wait_until(lambda: tool_servers(client)["config_error"], "the bad file to be noticed")
        error = tool_servers(client)["config_error"]
        assert "extra" in error and "command" in error
        kept = client.create_thread(call("extra__add", a=1, b=2))
        assert kept.assistant_text == "Tool results: extra__add → 3."  # the last good servers
        assert any("command" in notice for notice in kept.notices)

        write_mcp_json(config, {})
        wait_until(lambda: status_of(client, "extra") is None, "the server to be removed")
        gone = client.create_thread(call("extra__add", a=1, b=2))
        assert gone.done_items("workflow") == []
    finally:
        desk.stop()


def test_a_bad_mcp_json_at_start_up_still_serves_chats(
    tmp_path: Path, upstream: FakeUpstream, user: str
) -> None:
    (tmp_path / "mcp.json").write_text('{"mcpServers": {"files": {"args": ["x"]}}')
    desk = start_desk(tmp_path, upstream, "openai")
    try:
        reply = client_for(desk, user).create_thread("hello")
        assert reply.assistant_text.startswith("You said: hello")
        [notice] = reply.notices
        assert "mcp.json" in notice
    finally:
        desk.stop()


def test_the_simple_protocol_says_when_a_call_waits_for_approval(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    message = {"type": "message", "role": "user"}
    message["content"] = [{"type": "input_text", "text": call("ask__echo", text=marker)}]
    reply = client.simple({"type": "conversation.item.create", "item": message})

    [waiting] = reply.of_type("response.approval_required")
    assert "ask › echo" in waiting["data"]["message"] and marker in waiting["data"]["message"]
    thread_id = waiting["data"]["conversation_id"]
    assert reply.of_type("response.done")[0]["data"]["conversation_id"] == thread_id
    card = client.list_items(thread_id).body["data"][0]
    assert card["id"] == waiting["data"]["item_id"] and card["type"] == "widget"
    assert runs_of(tools_dir / "ask", "echo", marker) == []


def test_stopping_an_answer_during_a_call_keeps_the_call_as_stopped(
    client: DeskClient, tools_dir: Path
) -> None:
    """Stop in a ChatKit UI closes the stream while the tool still runs."""
    name = f"stop-{uuid.uuid4().hex[:8]}"
    body = {
        "type": "threads.create",
        "params": {"input": user_input(call("t__wait_for", name=name))},
    }
    thread_id = None
    with client.http.stream("POST", "/chatkit", json=body) as answer:
        for line in answer.iter_lines():
            event = json.loads(line[5:]) if line.startswith("data:") else {}
            if event.get("type") == "thread.created":
                thread_id = event["thread"]["id"]
            if (event.get("update") or {}).get("type") == "workflow.task.added":
                break  # the user pressed Stop
    release(tools_dir / "t", name)
    assert thread_id is not None

    def stored_task() -> dict[str, Any] | None:
        items = client.list_items(thread_id).body["data"]
        workflows = [i for i in items if i["type"] == "workflow"]
        return workflows[0]["workflow"]["tasks"][0] if workflows else None

    wait_until(stored_task, "the stopped turn's workflow to be stored")
    task = stored_task()
    assert task["status_indicator"] == "complete"
    assert "✗ Stopped" in task["content"]


def test_usage_across_an_approval_counts_each_request_once(
    client: DeskClient, upstream: FakeUpstream
) -> None:
    before = len(upstream.state.usages)
    asked = client.create_thread(call("ask__add", a=1, b=2))
    card, actions = card_of(asked)
    click(client, asked.thread_id, card, actions["allow"])
    billed = upstream.state.usages[before:]

    total = client.http.get(f"/api/threads/{asked.thread_id}/usage").json()["total"]
    assert len(billed) == 2
    assert total["requests"] == 2
    assert total["input_tokens"] == sum(u.input for u in billed)
    assert total["output_tokens"] == sum(u.output for u in billed)


def test_an_approval_cannot_be_answered_from_another_thread(
    client: DeskClient, tools_dir: Path
) -> None:
    marker = uuid.uuid4().hex[:8]
    asked = client.create_thread(call("ask__echo", text=marker))
    card, actions = card_of(asked)
    other = client.create_thread(call("ask__echo", text=f"other-{marker}"))
    other_card, _ = card_of(other)

    crossed = client.custom_action(other.thread_id, other_card["id"], actions["allow"])

    assert crossed.assistant_items == [] and crossed.done_items("widget") == []
    assert runs_of(tools_dir / "ask", "echo", marker) == []
    allowed = click(client, asked.thread_id, card, actions["allow"])
    assert allowed.assistant_text == f"Tool results: ask__echo → {marker}."


def test_an_allowed_call_runs_as_long_as_it_needs_and_shows_as_running(
    client: DeskClient,
) -> None:
    """The turn's wait for the provider (3 s here) does not count while an allowed tool runs."""
    asked = client.create_thread(call("ask__slow", seconds=5))
    card, actions = card_of(asked)

    allowed = click(client, asked.thread_id, card, actions["allow"])

    assert allowed.errors == []
    assert allowed.assistant_text == "Tool results: ask__slow → waited 5.0 s."
    replaced = [w["workflow"]["tasks"][0] for w in allowed.done_items("workflow")]
    assert replaced[0]["status_indicator"] == "loading"
    assert "Waiting for your approval" not in replaced[0]["content"]
    assert replaced[-1]["status_indicator"] == "complete"


def test_a_resume_refused_before_it_starts_gives_the_card_back(
    tools_dir: Path, upstream: FakeUpstream, user: str
) -> None:
    """Allowed while the provider is busy: the call is not lost, the card asks again."""
    desk = start_desk(
        tools_dir,
        upstream,
        "openai",
        CHATKIT_DESK_PROVIDER_CONCURRENCY="1",
        CHATKIT_DESK_PROVIDER_QUEUE="0",
    )
    client = client_for(desk, user)
    marker = uuid.uuid4().hex[:8]
    holding = threading.Event()

    def hold_the_provider() -> None:
        body = {"type": "threads.create", "params": {"input": user_input(f"[hold:{marker}]")}}
        with client_for(desk, user).http.stream("POST", "/chatkit", json=body) as answer:
            for line in answer.iter_lines():
                if "text_delta" in line:
                    holding.set()

    try:
        asked = client.create_thread(call("ask__echo", text=marker))
        card, actions = card_of(asked)
        holder = threading.Thread(target=hold_the_provider)
        holder.start()
        wait_until(holding.is_set, "the provider to be busy with another answer")

        refused = click(client, asked.thread_id, card, actions["allow"])

        assert "busy" in refused.errors[0]["message"]
        assert "onClickAction" in json.dumps(refused.done_items("widget")[-1]["widget"])
        assert runs_of(tools_dir / "ask", "echo", marker) == []
        upstream.release(marker)
        holder.join(60)
        allowed = click(client, asked.thread_id, card, actions["allow"])
        assert allowed.assistant_text == f"Tool results: ask__echo → {marker}."
        assert len(runs_of(tools_dir / "ask", "echo", marker)) == 1
    finally:
        upstream.release(marker)
        desk.stop()


def test_stopping_an_answer_while_an_allowed_call_runs_keeps_it_as_stopped(
    client: DeskClient, tools_dir: Path
) -> None:
    name = f"stop-{uuid.uuid4().hex[:8]}"
    asked = client.create_thread(call("ask__wait_for", name=name))
    card, actions = card_of(asked)
    params = {"thread_id": asked.thread_id, "item_id": card["id"], "action": actions["allow"]}
    body = {"type": "threads.custom_action", "params": params}
    with client.http.stream("POST", "/chatkit", json=body) as answer:
        for line in answer.iter_lines():
            if '"status_indicator":"loading"' in line.replace(" ", ""):
                break  # the call runs: the user pressed Stop
    release(tools_dir / "ask", name)

    def stored_task() -> dict[str, Any]:
        items = client.list_items(asked.thread_id, order="asc").body["data"]
        return next(i for i in items if i["type"] == "workflow")["workflow"]["tasks"][0]

    wait_until(lambda: "Stopped" in stored_task()["content"], "the call to be stored as stopped")
    assert stored_task()["status_indicator"] == "complete"
