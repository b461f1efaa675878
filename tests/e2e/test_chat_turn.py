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
      : turn.sendMessage(spec.threadId, spec.text);
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
    assert turn["steps"] == [[{"type": "addPending", "text": "hi there"}]]
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
    workflow = {"id": "wf_1", "type": "workflow", "workflow": {"type": "custom", "tasks": []}}
    turn = play(page, [*new_chat_until_the_answer_starts(), added(workflow)])
    assert turn["steps"][-1] == [render(workflow)]
    assert turn["state"]["items"]["wf_1"] == workflow
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
        {"type": "withdrawPending", "text": "again?"},
        show_error("Too many requests; wait a moment.", turn["spec"]),
    ]
    assert turn["state"]["outcome"] == "refused"


def test_a_refused_request_that_cannot_be_retried_only_gives_the_text_back(page: Page) -> None:
    message = f"Thread '{THREAD_ID}' was not found."
    turn = play(page, [failed(message, False)], threadId=THREAD_ID, text="are you there?")
    assert turn["steps"][-1] == [
        {"type": "withdrawPending", "text": "are you there?"},
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
