"""The chat page's pure parts, run in the real browser: the turn reducer and its runner
(``turn.js``) and the helpers of ``format.js``.

Each test imports the module from the server (``/static/…``) inside the signed-in page and calls
it there, the way ``test_chat_page.py`` checks ``renderMarkdown``. The turn tests feed the reducer
the events a real stream carries (their shapes are the server's, as a ChatKit stream sends them)
and assert on the state and the actions it returns: no model stream, no DOM.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import open_session
from tests.support.desk_process import DeskProcess


@pytest.fixture(scope="module")
def page(browser: Browser, openai_desk: DeskProcess) -> Iterator[Page]:
    """One signed-in page for the whole module: the tests only import modules and call them."""
    session = open_session(browser, openai_desk)
    # Started once the built-in client is up (the refused CDN first): slow on a busy machine.
    expect(session.page.locator("#message")).to_be_visible(timeout=30_000)
    yield session.page
    session.context.close()


def call(page: Page, module: str, function: str, *args: Any) -> Any:
    """``function(*args)`` of ``/static/<module>`` as the page runs it."""
    return page.evaluate(
        """async ([module, name, args]) => (await import(`/static/${module}`))[name](...args)""",
        [module, function, list(args)],
    )


TURN = """async ({ spec, events }) => {
    const turn = await import('/static/turn.js');
    const begun = spec.again
      ? turn.answerAgain(spec.threadId, spec.userItemId)
      : turn.sendMessage(spec.threadId, spec.text, spec.attachments ?? []);
    let { state, actions } = turn.beginTurn(begun);
    const steps = [actions];
    for (const event of events) {
      ({ state, actions } = turn.applyEvent(state, event));
      steps.push(actions);
    }
    return { spec: begun, state, steps };
}"""


def play(page: Page, events: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    """A turn through the reducer: its spec, its last state, and the actions of every step
    (``steps[0]`` those of the start, ``steps[i]`` those of ``events[i - 1]``)."""
    spec = {"threadId": None, "text": "hello", **spec}
    return page.evaluate(TURN, {"spec": spec, "events": events})


# The events of a stream, as the server sends them

THREAD_ID = "thr_1"
USER_ID = "msg_user"
ANSWER_ID = "msg_answer"
CUT_OFF = "The answer was cut off before it was complete."
ENDED = {"type": "turn.ended"}
STOPPED = {"type": "turn.stopped"}
STREAM_OPTIONS = {"type": "stream_options", "stream_options": {"allow_cancel": True}}


def thread(title: str | None = None) -> dict[str, Any]:
    return {"id": THREAD_ID, "title": title, "created_at": "2026-12-03T08:05:43.887825"}


def user_item(text: str = "hello") -> dict[str, Any]:
    return {
        "id": USER_ID,
        "thread_id": THREAD_ID,
        "type": "user_message",
        "content": [{"type": "input_text", "text": text}],
        "attachments": [],
        "inference_options": {},
    }


def answer_item(*texts: str) -> dict[str, Any]:
    return {
        "id": ANSWER_ID,
        "thread_id": THREAD_ID,
        "type": "assistant_message",
        "content": [{"type": "output_text", "text": t, "annotations": []} for t in texts],
    }


def added(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "thread.item.added", "item": item}


def done(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "thread.item.done", "item": item}


def part_added() -> dict[str, Any]:
    part = {"type": "output_text", "text": "", "annotations": []}
    update = {"type": "assistant_message.content_part.added", "content_index": 0, "content": part}
    return {"type": "thread.item.updated", "item_id": ANSWER_ID, "update": update}


def delta(text: str) -> dict[str, Any]:
    update = {"type": "assistant_message.content_part.text_delta", "content_index": 0}
    return {
        "type": "thread.item.updated",
        "item_id": ANSWER_ID,
        "update": {**update, "delta": text},
    }


def error(message: str, allow_retry: bool) -> dict[str, Any]:
    return {"type": "error", "code": "custom", "message": message, "allow_retry": allow_retry}


def failed(message: str, allow_retry: bool) -> dict[str, Any]:
    return {"type": "turn.failed", "message": message, "allowRetry": allow_retry}


def new_chat_until_the_answer_starts(text: str = "hello") -> list[dict[str, Any]]:
    return [
        {"type": "thread.created", "thread": thread()},
        done(user_item(text)),
        STREAM_OPTIONS,
        added(answer_item()),
        part_added(),
    ]


def render(item: dict[str, Any], **how: Any) -> dict[str, Any]:
    return {"type": "render", "item": item, **how}


def show_error(message: str, retry: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "showError", "message": message, "retry": retry}


def answer_again(user_item_id: str = USER_ID) -> dict[str, Any]:
    return {
        "request": {
            "type": "threads.retry_after_item",
            "params": {"thread_id": THREAD_ID, "item_id": user_item_id},
        },
        "threadId": THREAD_ID,
        "text": None,
        "userItemId": user_item_id,
    }


# turn.js: a turn that goes well


def test_a_new_message_is_shown_at_once_and_starts_a_new_chat(page: Page) -> None:
    turn = play(page, [], text="hi there")
    assert turn["steps"] == [[{"type": "addPending", "text": "hi there", "attachments": []}]]
    assert turn["spec"]["request"] == {
        "type": "threads.create",
        "params": {
            "input": {
                "content": [{"type": "input_text", "text": "hi there"}],
                "attachments": [],
                "inference_options": {},
            }
        },
    }
    assert turn["state"]["waitingForUserItem"] is True
    assert turn["state"]["outcome"] == "streaming"


def test_a_message_with_files_names_their_ids_and_shows_them_at_once(page: Page) -> None:
    files = [
        {"id": "atc_1", "name": "a.png", "mime_type": "image/png", "preview_url": "http://x/p"},
        {"id": "atc_2", "name": "b.pdf", "mime_type": "application/pdf"},
    ]
    turn = play(page, [], threadId=THREAD_ID, text="look", attachments=files)
    assert turn["steps"] == [[{"type": "addPending", "text": "look", "attachments": files}]]
    assert turn["spec"]["request"]["params"]["input"]["attachments"] == ["atc_1", "atc_2"]


def test_a_refused_message_gives_its_files_back_too(page: Page) -> None:
    files = [{"id": "atc_1", "name": "b.pdf", "mime_type": "application/pdf"}]
    turn = play(page, [failed("Slow down.", True)], text="see", attachments=files)
    assert turn["steps"][-1][0] == {"type": "withdrawPending", "text": "see", "attachments": files}
    assert turn["steps"][-1][1]["retry"]["attachments"] == files


def test_the_servers_thread_and_item_take_the_place_of_the_pending_message(page: Page) -> None:
    turn = play(page, new_chat_until_the_answer_starts()[:2])
    assert turn["steps"][1] == [{"type": "threadCreated", "thread": thread()}]
    assert turn["steps"][2] == [{"type": "confirmPending", "item": user_item()}]
    state = turn["state"]
    assert state["threadId"] == THREAD_ID
    assert state["userItemId"] == USER_ID
    assert state["waitingForUserItem"] is False


def test_the_answer_streams_into_its_item_and_its_end_clears_the_streaming_mark(
    page: Page,
) -> None:
    final = answer_item("You said: hello.")
    events = [
        *new_chat_until_the_answer_starts(),
        delta("You said: "),
        delta("hello."),
        done(final),
    ]
    turn = play(page, [*events, ENDED])
    steps = turn["steps"]
    assert steps[4] == [render(answer_item(), streaming=True)]
    assert steps[5] == [render(answer_item(""), batch=True)]
    assert steps[6] == [render(answer_item("You said: "), batch=True)]
    assert steps[7] == [render(answer_item("You said: hello."), batch=True)]
    assert steps[8] == [render(final, streaming=False)]
    assert steps[9] == [], "a finished answer needs nothing more"
    assert turn["state"]["outcome"] == "done"
    assert turn["state"]["answerDone"] is True


def test_a_second_turn_continues_the_thread_it_was_sent_to(page: Page) -> None:
    final = answer_item("Earlier you said: hello.")
    events = [
        done(user_item("again")),
        STREAM_OPTIONS,
        added(answer_item()),
        delta("Earlier you said: hello."),
        done(final),
        {"type": "thread.updated", "thread": thread("hello")},
        ENDED,
    ]
    turn = play(page, events, threadId=THREAD_ID, text="again")
    request = turn["spec"]["request"]
    assert request["type"] == "threads.add_user_message"
    assert request["params"]["thread_id"] == THREAD_ID
    actions = [action for step in turn["steps"] for action in step]
    assert {"type": "confirmPending", "item": user_item("again")} in actions
    assert {"type": "threadUpdated", "thread": thread("hello")} in actions
    assert not [a for a in actions if a["type"] in ("threadCreated", "showError")]
    assert turn["state"]["threadId"] == THREAD_ID
    assert turn["state"]["outcome"] == "done"


def test_a_stream_that_ends_without_the_users_item_leaves_no_message_pending(
    page: Page,
) -> None:
    turn = play(page, [STREAM_OPTIONS, ENDED])
    assert turn["steps"][-1] == [{"type": "settlePending"}]
    assert turn["state"]["outcome"] == "done"


def test_items_of_other_types_are_passed_on_to_be_shown(page: Page) -> None:
    card = {"id": "wd_1", "type": "widget", "widget": {"type": "Card", "children": []}}
    turn = play(page, [*new_chat_until_the_answer_starts(), done(card)])
    assert turn["steps"][-1] == [render(card)]
    assert turn["state"]["items"]["wd_1"] == card
    assert turn["state"]["answerId"] == ANSWER_ID


def test_updates_of_unknown_items_or_kinds_change_nothing(page: Page) -> None:
    unknown_item = {**delta("lost"), "item_id": "msg_elsewhere"}
    unknown_kind = {
        "type": "thread.item.updated",
        "item_id": ANSWER_ID,
        "update": {"type": "workflow.task.added", "task": {}},
    }
    turn = play(page, [*new_chat_until_the_answer_starts(), unknown_item, unknown_kind])
    assert turn["steps"][-2:] == [[], []]
    assert turn["state"]["items"][ANSWER_ID] == answer_item("")


# turn.js: tool calls, reasoning, cards and notices

WORKFLOW_ID = "wf_1"
ARGS = '{"text":"hi"}'


def workflow_item(kind: str = "custom", *tasks: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "id": WORKFLOW_ID,
        "thread_id": THREAD_ID,
        "type": "workflow",
        "workflow": {"type": kind, "tasks": list(tasks), "expanded": True, **more},
    }


def tool_task(content: str = ARGS, status: str = "loading") -> dict[str, Any]:
    return {
        "type": "custom",
        "title": "t › echo",
        "icon": "bolt",
        "content": content,
        "status_indicator": status,
    }


def thought_task(content: str) -> dict[str, Any]:
    return {"type": "thought", "content": content}


def task_event(kind: str, index: int, task: dict[str, Any]) -> dict[str, Any]:
    update = {"type": f"workflow.task.{kind}", "task_index": index, "task": task}
    return {"type": "thread.item.updated", "item_id": WORKFLOW_ID, "update": update}


def used(count: int) -> dict[str, Any]:
    return {"title": f"Used {count} tool{'s' if count != 1 else ''}", "icon": "bolt"}


def test_a_tool_call_runs_as_a_task_of_a_workflow_that_ends_with_a_summary(page: Page) -> None:
    finished = tool_task(f"{ARGS}\n→ hi", "complete")
    closed = {
        **workflow_item("custom", finished),
        "workflow": {"type": "custom", "tasks": [finished], "expanded": False, "summary": used(1)},
    }
    events = [
        {"type": "thread.created", "thread": thread()},
        done(user_item()),
        added(workflow_item()),
        task_event("added", 0, tool_task()),
        task_event("updated", 0, finished),
        done(closed),
        added(answer_item()),
        done(answer_item("Tool results: t__echo → hi.")),
        ENDED,
    ]
    steps = play(page, events)["steps"]
    assert steps[3] == [render(workflow_item(), streaming=True)], "open: it runs"
    assert steps[4] == [render(workflow_item("custom", tool_task()), batch=True)]
    assert steps[5] == [render(workflow_item("custom", finished), batch=True)]
    assert steps[6] == [render(closed, streaming=False)], "closed: its summary says so"
    assert steps[9] == [], "nothing left open at the end"


def test_parallel_calls_are_tasks_in_their_order_whatever_order_they_finish(page: Page) -> None:
    second = {**tool_task('{"a":1}'), "title": "t › add"}
    events = [
        *new_chat_until_the_answer_starts()[:2],
        added(workflow_item()),
        task_event("added", 0, tool_task()),
        task_event("added", 1, second),
        task_event(
            "updated", 1, {**second, "content": '{"a":1}\n✗ boom', "status_indicator": "complete"}
        ),
    ]
    turn = play(page, events)
    tasks = turn["state"]["items"][WORKFLOW_ID]["workflow"]["tasks"]
    assert [t["title"] for t in tasks] == ["t › echo", "t › add"]
    assert tasks[0]["status_indicator"] == "loading"
    assert tasks[1]["content"].endswith("✗ boom")


def test_a_workflow_still_open_when_the_stream_ends_no_longer_shows_as_running(
    page: Page,
) -> None:
    events = [
        *new_chat_until_the_answer_starts()[:2],
        added(workflow_item()),
        task_event("added", 0, tool_task()),
    ]
    open_flow = workflow_item("custom", tool_task())
    assert play(page, [*events, STOPPED])["steps"][-1] == [render(open_flow, streaming=False)]
    ended = play(page, [*events, ENDED])
    assert ended["steps"][-1] == [render(open_flow, streaming=False)]
    assert ended["state"]["outcome"] == "done"


def test_reasoning_streams_its_thoughts_then_closes_before_the_answer(page: Page) -> None:
    closed = workflow_item("reasoning", thought_task("Weighing it."), expanded=False)
    closed["workflow"]["summary"] = {"duration": 2}
    events = [
        *new_chat_until_the_answer_starts()[:2],
        added(workflow_item("reasoning")),
        task_event("added", 0, thought_task("")),
        task_event("updated", 0, thought_task("Weighing")),
        task_event("updated", 0, thought_task("Weighing it.")),
        done(closed),
        added(answer_item()),
    ]
    steps = play(page, events)["steps"]
    assert steps[3] == [render(workflow_item("reasoning"), streaming=True)]
    assert steps[5] == [render(workflow_item("reasoning", thought_task("Weighing")), batch=True)], (
        "each update carries the whole thought so far"
    )
    assert steps[7] == [render(closed, streaming=False)]
    assert steps[8] == [render(answer_item(), streaming=True)]


def test_a_workflow_announced_again_without_tasks_keeps_its_tasks(page: Page) -> None:
    events = [
        *new_chat_until_the_answer_starts()[:2],
        added(workflow_item()),
        task_event("added", 0, tool_task()),
        added(workflow_item()),
    ]
    turn = play(page, events)
    assert turn["state"]["items"][WORKFLOW_ID]["workflow"]["tasks"] == [tool_task()]


def test_an_approval_click_is_a_turn_of_its_own_that_replaces_the_card_and_answers(
    page: Page,
) -> None:
    action = {"type": "tool.approval", "payload": {"approval_id": "apv_1", "decision": "allow"}}
    decided = {
        "id": "wd_1",
        "thread_id": THREAD_ID,
        "type": "widget",
        "widget": {"type": "Card", "children": [{"type": "Badge", "label": "Allowed"}]},
    }
    resumed = workflow_item("custom", tool_task(f"{ARGS}\nWaiting for your approval", "none"))
    ran = workflow_item("custom", tool_task(f"{ARGS}\n→ hi", "complete"))
    closed = {**ran, "workflow": {**ran["workflow"], "summary": used(1), "expanded": False}}
    events = [
        {"type": "thread.item.replaced", "item": decided},
        {"type": "thread.item.replaced", "item": resumed},
        {"type": "thread.item.replaced", "item": ran},
        {"type": "thread.item.replaced", "item": closed},
        added(answer_item()),
        done(answer_item("Tool results: t__echo → hi.")),
        ENDED,
    ]
    turn = page.evaluate(
        """async ({ action, events }) => {
            const turn = await import('/static/turn.js');
            const spec = turn.sendAction('thr_1', 'wd_1', action);
            let { state, actions } = turn.beginTurn(spec);
            const steps = [actions];
            for (const event of events) {
              ({ state, actions } = turn.applyEvent(state, event));
              steps.push(actions);
            }
            return { spec, state, steps };
        }""",
        {"action": action, "events": events},
    )
    assert turn["spec"]["request"] == {
        "type": "threads.custom_action",
        "params": {"thread_id": THREAD_ID, "item_id": "wd_1", "action": action},
    }
    steps = turn["steps"]
    assert steps[0] == [], "no message of the user's to show first, nothing to drop"
    assert steps[1] == [render(decided)]
    assert steps[2] == [render(resumed, streaming=True)], "a resumed run goes on: replaced whole"
    assert steps[3] == [render(ran, streaming=True)]
    assert steps[4] == [render(closed, streaming=False)]
    assert steps[6] == [render(answer_item("Tool results: t__echo → hi."), streaming=False)]
    assert steps[7] == []
    assert turn["state"]["outcome"] == "done"


def test_a_refused_action_has_no_message_to_give_back(page: Page) -> None:
    turn = page.evaluate(
        """async () => {
            const turn = await import('/static/turn.js');
            const spec = turn.sendAction('thr_1', 'wd_1', { type: 'tool.approval', payload: {} });
            const { state } = turn.beginTurn(spec);
            const event = { type: 'turn.failed', message: 'Busy.', allowRetry: false };
            return turn.applyEvent(state, event);
        }"""
    )
    assert turn["actions"] == [show_error("Busy.", None)]
    assert turn["state"]["outcome"] == "refused"


def test_a_notice_is_passed_on_to_be_shown_and_counts_as_accepted(page: Page) -> None:
    notice = {"type": "notice", "level": "warning", "message": "“gone” is unavailable."}
    turn = play(page, [notice, failed("lost", True)])
    assert turn["steps"][1] == [
        {"type": "notice", "level": "warning", "title": None, "message": "“gone” is unavailable."}
    ]
    assert turn["state"]["outcome"] == "failed", "the request was accepted: not a refusal"


# turn.js: Stop


def test_stop_keeps_the_answer_so_far_and_says_so(page: Page) -> None:
    turn = play(page, [*new_chat_until_the_answer_starts(), delta("slow0 slow1"), STOPPED])
    assert turn["steps"][-1] == [
        render(answer_item("slow0 slow1"), streaming=False),
        {"type": "note", "itemId": ANSWER_ID, "text": "Stopped — the answer so far is kept."},
    ]
    assert turn["state"]["outcome"] == "stopped"


def test_stop_before_any_text_says_only_stopped(page: Page) -> None:
    turn = play(page, [*new_chat_until_the_answer_starts(), delta("  "), STOPPED])
    assert turn["steps"][-1] == [
        render(answer_item("  "), streaming=False),
        {"type": "note", "itemId": ANSWER_ID, "text": "Stopped."},
    ]


def test_stop_before_the_server_has_the_message_leaves_it_unmarked(page: Page) -> None:
    turn = play(page, [STOPPED])
    assert turn["steps"][-1] == [{"type": "settlePending"}]
    assert turn["state"]["outcome"] == "stopped"


def test_the_end_of_a_stopped_stream_changes_nothing(page: Page) -> None:
    turn = play(page, [*new_chat_until_the_answer_starts(), STOPPED, ENDED])
    assert turn["steps"][-1] == []
    assert turn["state"]["outcome"] == "stopped"


# turn.js: cut off, errors, Retry


def test_a_stream_that_closes_before_the_answer_is_done_is_a_cut_off_answer(page: Page) -> None:
    turn = play(page, [*new_chat_until_the_answer_starts(), delta("You said"), ENDED])
    assert turn["steps"][-1] == [
        render(answer_item("You said"), streaming=False),
        show_error(CUT_OFF, answer_again()),
    ]
    assert turn["state"]["outcome"] == "failed"


def test_a_server_error_mid_answer_keeps_the_text_and_offers_to_answer_again(
    page: Page,
) -> None:
    message = "The connection to OpenAI was lost. Try again."
    turn = play(page, [*new_chat_until_the_answer_starts(), delta("partial"), error(message, True)])
    assert turn["steps"][-1] == [
        render(answer_item("partial"), streaming=False),
        show_error(message, answer_again()),
    ]


def test_a_server_error_before_any_text_removes_the_empty_answer(page: Page) -> None:
    message = "OpenAI had a server error (500)."
    turn = play(page, [*new_chat_until_the_answer_starts(), error(message, True), ENDED])
    assert turn["steps"][-2] == [
        {"type": "removeItem", "itemId": ANSWER_ID},
        show_error(message, answer_again()),
    ]
    assert turn["steps"][-1] == [], "the end of the stream adds no cut-off error"
    assert turn["state"]["answerId"] is None


def test_an_error_the_server_says_not_to_retry_has_no_retry(page: Page) -> None:
    message = "The OpenAI API key was rejected — set a new one in Settings."
    events = [
        {"type": "thread.created", "thread": thread()},
        done(user_item()),
        STREAM_OPTIONS,
        error(message, False),
        {"type": "thread.updated", "thread": thread("hello")},
        ENDED,
    ]
    turn = play(page, events)
    assert turn["steps"][4] == [show_error(message, None)]
    assert turn["steps"][5] == [{"type": "threadUpdated", "thread": thread("hello")}]
    assert turn["steps"][6] == []
    assert turn["state"]["outcome"] == "failed"


def test_an_error_without_a_message_is_explained_by_its_code(page: Page) -> None:
    events = [*new_chat_until_the_answer_starts(), {"type": "error", "code": "stream.error"}]
    turn = play(page, events)
    message = "The server could not finish the answer. Try again."
    assert turn["steps"][-1][-1] == show_error(message, None)


def test_an_incomplete_answer_is_replaced_by_the_one_with_its_note_then_the_error_shown(
    page: Page,
) -> None:
    text = "You said: cut me off."
    note = "\n\n*(This answer is incomplete: it was cut short before the end.)*"
    message = "OpenAI ended the answer early; what arrived is kept. Try again."
    events = [
        *new_chat_until_the_answer_starts(),
        delta(text),
        done(answer_item(text)),
        {"type": "thread.item.replaced", "item": answer_item(text, note)},
        error(message, True),
        ENDED,
    ]
    turn = play(page, events)
    assert turn["steps"][-3] == [render(answer_item(text, note), streaming=False)]
    assert turn["steps"][-2] == [show_error(message, answer_again())], "the answer stays"
    assert turn["steps"][-1] == []


def test_a_lost_connection_after_the_servers_error_keeps_the_servers_message(
    page: Page,
) -> None:
    events = [
        *new_chat_until_the_answer_starts(),
        error("OpenAI is overloaded.", True),
        failed("The connection to ChatKit Desk was lost during the answer.", True),
    ]
    turn = play(page, events)
    assert turn["steps"][-1] == []
    assert turn["steps"][-2][-1]["message"] == "OpenAI is overloaded."


def test_a_refused_request_gives_the_text_back_and_retry_sends_it_again(page: Page) -> None:
    turn = play(page, [failed("Too many requests; wait a moment.", True)], text="again?")
    assert turn["steps"][-1] == [
        {"type": "withdrawPending", "text": "again?", "attachments": []},
        show_error("Too many requests; wait a moment.", turn["spec"]),
    ]
    assert turn["state"]["outcome"] == "refused"


def test_a_refused_request_that_cannot_be_retried_only_gives_the_text_back(page: Page) -> None:
    message = f"Thread '{THREAD_ID}' was not found."
    turn = play(page, [failed(message, False)], threadId=THREAD_ID, text="are you there?")
    assert turn["steps"][-1] == [
        {"type": "withdrawPending", "text": "are you there?", "attachments": []},
        show_error(message, None),
    ]


def test_any_server_event_means_the_request_was_accepted(page: Page) -> None:
    lost = "The connection to ChatKit Desk was lost during the answer."
    turn = play(page, [STREAM_OPTIONS, failed(lost, True)])
    assert turn["steps"][-1] == [
        {"type": "settlePending"},
        show_error(lost, None),  # no user item yet: nothing to answer again
    ]
    assert turn["state"]["outcome"] == "failed"


def test_answering_again_first_drops_what_followed_the_message(page: Page) -> None:
    turn = play(page, [], again=True, threadId=THREAD_ID, userItemId=USER_ID)
    assert turn["steps"] == [[{"type": "removeAfter", "itemId": USER_ID}]]
    assert turn["spec"] == answer_again()
    assert turn["state"]["waitingForUserItem"] is False


def test_answering_again_can_fail_and_be_retried_again(page: Page) -> None:
    # The server does not send the user's message again: the turn knows it from the start.
    message = "OpenAI had a server error (500)."
    events = [STREAM_OPTIONS, error(message, True), ENDED]
    turn = play(page, events, again=True, threadId=THREAD_ID, userItemId=USER_ID)
    assert turn["steps"][2] == [show_error(message, answer_again())]


def test_an_item_the_server_removes_is_removed_and_is_no_longer_the_answer(page: Page) -> None:
    removed = {"type": "thread.item.removed", "item_id": ANSWER_ID}
    turn = play(page, [*new_chat_until_the_answer_starts(), removed, ENDED])
    assert turn["steps"][-2] == [{"type": "removeItem", "itemId": ANSWER_ID}]
    assert turn["steps"][-1] == [], "no answer left to be cut off"
    assert ANSWER_ID not in turn["state"]["items"]


def test_the_reducer_never_changes_the_state_it_is_given(page: Page) -> None:
    events = [*new_chat_until_the_answer_starts(), delta("partial"), error("Overloaded.", True)]
    steps = page.evaluate(
        """async (events) => {
            const turn = await import('/static/turn.js');
            // A module runs in strict mode: writing to a frozen object throws.
            const freeze = (value) => {
              if (value && typeof value === 'object') {
                Object.values(value).forEach(freeze);
                Object.freeze(value);
              }
              return value;
            };
            let { state } = turn.beginTurn(turn.sendMessage(null, 'hello'));
            const steps = [];
            for (const event of [...events, { type: 'turn.stopped' }]) {
              const given = freeze(state);
              const before = JSON.stringify(given);
              state = turn.applyEvent(given, freeze(event)).state;
              steps.push([event.type, JSON.stringify(given) === before, state !== given]);
            }
            return steps;
        }""",
        events,
    )
    assert [kept for _type, kept, _new in steps] == [True] * len(steps)
    assert steps[-1] == ["turn.stopped", True, False], "a failed turn cannot be stopped"
    assert all(new for _type, _kept, new in steps[:-1])


# turn.js: the runner

RUNNER = """async ({ script, stopAfter }) => {
    const { Turn, sendMessage } = await import('/static/turn.js');
    const performed = [];
    let aborted = false;
    let turn;
    // A stand-in for ChatKitClient.stream: plays `script`, then ends, fails or waits for Stop.
    const client = {
      async stream(type, params, { signal, onEvent }) {
        signal.addEventListener('abort', () => (aborted = true));
        for (const [index, event] of script.events.entries()) {
          if (signal.aborted) break;
          onEvent(event);
          if (index + 1 === stopAfter) turn.stop();
        }
        if (script.fail) throw Object.assign(new Error(script.fail.message), script.fail);
        if (signal.aborted) throw new DOMException('Stopped', 'AbortError');
      },
    };
    turn = new Turn(sendMessage(null, 'hello'), (action) => performed.push(action.type));
    await turn.run(client);
    return { performed, aborted, outcome: turn.state.outcome };
}"""


def run_turn(page: Page, script: dict[str, Any], stop_after: int = 0) -> dict[str, Any]:
    return page.evaluate(RUNNER, {"script": script, "stopAfter": stop_after})


def test_the_runner_carries_out_every_action_and_ends_the_turn_with_the_stream(
    page: Page,
) -> None:
    events = [*new_chat_until_the_answer_starts(), delta("hi"), done(answer_item("hi"))]
    result = run_turn(page, {"events": events})
    assert result["performed"] == [
        "addPending",
        "threadCreated",
        "confirmPending",
        *["render"] * 4,  # the answer added, its part added, a delta, done
    ]
    assert result["outcome"] == "done"


def test_stopping_the_runner_closes_the_stream_and_stops_the_turn(page: Page) -> None:
    events = [*new_chat_until_the_answer_starts(), delta("slow0"), delta("slow1")]
    result = run_turn(page, {"events": events}, stop_after=6)
    assert result["aborted"] is True
    assert result["outcome"] == "stopped"
    assert result["performed"][-3:] == ["render", "render", "note"], "no second delta"


def test_a_request_the_runner_could_not_make_is_a_refusal(page: Page) -> None:
    fail = {"message": "Could not reach ChatKit Desk.", "allowRetry": True}
    result = run_turn(page, {"events": [], "fail": fail})
    assert result["performed"] == ["addPending", "withdrawPending", "showError"]
    assert result["outcome"] == "refused"


# format.js


def test_a_date_today_shows_its_time_and_another_day_its_date(page: Page) -> None:
    shown = page.evaluate(
        """async () => {
            const { shortDate } = await import('/static/format.js');
            const now = new Date(2026, 2, 14, 18, 0);
            return [
              shortDate(new Date(2026, 2, 14, 9, 7), now),
              shortDate(new Date(2026, 2, 3, 9, 7), now),
              shortDate(new Date(2023, 11, 25, 9, 7), now),
            ];
        }"""
    )
    today, this_year, other_year = shown
    assert "07" in today and "14" not in today, today
    assert "3" in this_year and "07" not in this_year and "2026" not in this_year, this_year
    assert "25" in other_year and "2023" in other_year, other_year


def test_a_server_time_without_a_zone_is_read_as_local_time(page: Page) -> None:
    parts = page.evaluate(
        """async () => {
            const { parseDate } = await import('/static/format.js');
            const date = parseDate('2026-12-03T08:05:43.887825');
            return [date.getFullYear(), date.getMonth(), date.getDate(), date.getHours()];
        }"""
    )
    assert parts == [2026, 11, 3, 8]


@pytest.mark.parametrize("value", [None, "", "yesterday-ish"])
def test_a_missing_or_unreadable_time_is_no_date(page: Page, value: str | None) -> None:
    assert call(page, "format.js", "parseDate", value) is None


def test_an_error_event_without_a_message_is_explained_by_its_code(page: Page) -> None:
    assert (
        call(page, "format.js", "errorText", "stream.error")
        == "The server could not finish the answer. Try again."
    )
    assert call(page, "format.js", "errorText", "quota") == "Something went wrong (quota)."
    assert call(page, "format.js", "errorText", None) == "Something went wrong (unknown error)."


@pytest.mark.parametrize(
    ("hash", "thread_id"),
    [
        ("#thr_0a1b2c", "thr_0a1b2c"),
        ("#thr%5F0a1b2c", "thr_0a1b2c"),
        ("", None),
        ("#", None),
        ("#../etc", None),
        ("#thr 1", None),
        ("#%E0%A4%A", None),  # a malformed escape is no thread id, not an exception
        ("#" + "x" * 201, None),
    ],
)
def test_only_a_thread_id_is_taken_from_the_address(
    page: Page, hash: str, thread_id: str | None
) -> None:
    assert call(page, "format.js", "threadFromHash", hash) == thread_id


def test_tokens_read_as_one_short_line(page: Page) -> None:
    usage = {
        "input_tokens": 1234,
        "cached_tokens": 1000,
        "output_tokens": 56,
        "reasoning_tokens": 7,
        "requests": 2,
    }
    assert (
        call(page, "format.js", "usageText", usage)
        == "1,234 in (1,000 cached) · 56 out (7 reasoning) · 2 requests"
    )
    plain = {**usage, "cached_tokens": 0, "reasoning_tokens": 0, "requests": 1}
    assert call(page, "format.js", "usageText", plain) == "1,234 in · 56 out"
    assert call(page, "format.js", "usageText", {"input_tokens": 0, "output_tokens": 0}) == ""
    assert call(page, "format.js", "usageText", None) == ""


@pytest.mark.parametrize(
    ("content", "parts"),
    [
        ('{"text":"hi"}', {"args": '{"text":"hi"}'}),
        ('{"text":"hi"}\n→ hi\nthere', {"args": '{"text":"hi"}', "result": "hi\nthere"}),
        ("{}\n✗ disk on fire", {"args": "{}", "error": "disk on fire"}),
        ("{}\nWaiting for your approval", {"args": "{}", "waiting": True}),
        (
            "{}\n✗ Not run: the conversation moved on",
            {"args": "{}", "error": "Not run: the conversation moved on"},
        ),
    ],
)
def test_a_tool_tasks_content_is_its_arguments_then_what_came_of_the_call(
    page: Page, content: str, parts: dict[str, Any]
) -> None:
    assert call(page, "format.js", "toolTaskParts", content) == parts


@pytest.mark.parametrize(
    ("workflow", "running", "heading"),
    [
        ({"type": "reasoning", "tasks": []}, True, "Thinking…"),
        ({"type": "reasoning", "tasks": [], "summary": {"duration": 4}}, False, "Thought for 4 s"),
        ({"type": "reasoning", "tasks": []}, False, "Thought"),
        ({"type": "custom", "tasks": [{"content": "{}"}]}, True, "Using tools…"),
        (
            {"type": "custom", "tasks": [{}, {}], "summary": {"title": "Used 2 tools"}},
            False,
            "Used 2 tools",
        ),
        ({"type": "custom", "tasks": [{"content": "{}"}]}, False, "Used 1 tool"),
        (
            {
                "type": "custom",
                "tasks": [{"content": "{}\nWaiting for your approval"}],
                "summary": {"title": "Used 1 tool"},
            },
            False,
            "Waiting for your approval",
        ),
    ],
)
def test_a_workflow_is_headed_the_way_chatkit_js_heads_it(
    page: Page, workflow: dict[str, Any], running: bool, heading: str
) -> None:
    assert call(page, "format.js", "workflowHeading", workflow, running) == heading


def test_a_card_is_drawn_from_its_widget_json_and_never_as_html(page: Page) -> None:
    evil = "<img src=x onerror=window.__xss=1>"
    widget = {
        "type": "Card",
        "children": [
            {"type": "Title", "value": evil},
            {"type": "Text", "value": evil, "color": 'secondary" onclick="x'},
            {"type": "Markdown", "value": f"```json\n{evil}\n```\n**bold** {evil}"},
            {"type": "Unknown", "value": evil},
            {
                "type": "Frame",
                "children": [{"type": "Badge", "label": "Allowed", "color": "success"}],
            },
            {"type": "Divider"},
            {
                "type": "Row",
                "children": [
                    {
                        "type": "Button",
                        "label": evil,
                        "style": "primary",
                        "onClickAction": {
                            "type": "tool.approval",
                            "payload": {"decision": "allow"},
                        },
                    },
                    {"type": "Button", "label": "Inert"},
                ],
            },
        ],
    }
    drawn = page.evaluate(
        """async (widget) => {
            const { renderWidget } = await import('/static/widget.js');
            const clicked = [];
            const el = renderWidget(widget, (action) => clicked.push(action));
            document.body.append(el);
            el.querySelector('button.w-action').click();
            const result = {
              images: el.querySelectorAll('img').length,
              title: el.querySelector('.w-title').textContent,
              text: el.querySelector('.w-text').className,
              code: el.querySelector('.w-markdown code').textContent,
              bold: el.querySelector('.w-markdown strong')?.textContent,
              badge: el.querySelector('.w-badge').textContent,
              badgeClass: el.querySelector('.w-badge').className,
              buttons: [...el.querySelectorAll('button.w-button')].map(
                (b) => [b.textContent, b.disabled],
              ),
              rules: el.querySelectorAll('hr').length,
              clicked,
              xss: window.__xss ?? null,
            };
            el.remove();
            return result;
        }""",
        widget,
    )
    assert drawn["images"] == 0 and drawn["xss"] is None
    assert drawn["title"] == evil
    assert drawn["text"] == "w-text", "an unknown colour gives no class at all"
    assert drawn["code"] == evil and drawn["bold"] == "bold"
    assert (drawn["badge"], drawn["badgeClass"]) == ("Allowed", "w-badge w-color-success")
    assert drawn["buttons"] == [[evil, False], ["Inert", True]]
    assert drawn["rules"] == 1
    assert drawn["clicked"] == [{"type": "tool.approval", "payload": {"decision": "allow"}}]
