"""Tool calls end to end, on both providers: a real server, a real MCP server, over ``/chatkit``.

The fake provider is scripted by the user's message (``tests/support/fake_turns.py``): it calls
the tools the message names and then answers by quoting what came back, so each test checks
what the model was really given. The MCP test server logs every call it runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import client_for
from tests.support.desk_process import DeskProcess, base_env
from tests.support.fake_upstream import FakeUpstream
from tests.support.mcp_servers import McpHttpServer, calls, stdio_entry, write_mcp_json
from tests.support.sse_client import DeskClient, Reply

MAX_STEPS = 4


@pytest.fixture(scope="module")
def tools_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """``mcp.json`` with a local server that runs freely (``t``, 3 s per call), one that asks
    first (``ask``), and a remote one over Streamable HTTP (``web``)."""
    folder = tmp_path_factory.mktemp("tools")
    with McpHttpServer(folder / "web") as web:
        write_mcp_json(
            folder / "mcp.json",
            {
                "t": stdio_entry(folder / "t", requireApproval="never", timeout=3),
                "ask": stdio_entry(folder / "ask"),
                "web": web.entry(requireApproval="never"),
            },
        )
        yield folder


def start_desk(folder: Path, upstream: FakeUpstream, provider: str, **env: str) -> DeskProcess:
    data_dir = folder / f"data-{provider}-{uuid.uuid4().hex[:6]}"
    environment = base_env(data_dir, upstream.base_url, folder / "keyring.json")
    environment.update(
        CHATKIT_DESK_PROVIDER=provider,
        CHATKIT_DESK_MCP_CONFIG=str(folder / "mcp.json"),
        CHATKIT_DESK_MAX_TOOL_STEPS=str(MAX_STEPS),
        **env,
    )
    return DeskProcess(environment, data_dir.with_suffix(".log")).start()


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


def call(name: str, **arguments: Any) -> str:
    return f"[tool:{name} {json.dumps(arguments)}]"


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
    assert "✗ t › slow did not answer within 3 seconds" in task["content"]
    assert reply.assistant_text == (
        "Tool results: t__slow → t › slow did not answer within 3 seconds.."
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
