"""The approval card: what it shows of a call, and its buttons."""

from __future__ import annotations

import json

from backend.chat.approvals import ARGUMENTS_SHOWN, approval_card, decided_card
from backend.store.approvals import Approval


def card_text(arguments: str) -> str:
    approval = Approval("apv_1", "run_1", "tc_1", "call_1", "files", "write_file", arguments)
    return approval_card(approval, "thr_1").widget.model_dump_json()


def markdown_of(arguments: str) -> str:
    card = json.loads(card_text(arguments))
    return next(c["value"] for c in card["children"] if c["type"] == "Markdown")


def test_the_arguments_are_shown_whole_and_pretty() -> None:
    content = "line\n" * 1000  # a file's new content: what is approved must be seen
    shown = markdown_of(json.dumps({"path": "a.txt", "content": content}))
    assert json.loads(shown.split("\n", 1)[1].rsplit("\n", 1)[0])["content"] == content


def test_arguments_past_the_limit_say_how_much_is_not_shown() -> None:
    shown = markdown_of(json.dumps({"content": "x" * (ARGUMENTS_SHOWN + 500)}))
    assert "more characters not shown)" in shown


def test_backticks_in_the_arguments_cannot_close_the_code_block() -> None:
    shown = markdown_of(json.dumps({"content": "```\n# injected heading\n````"}))
    fence = shown.split("json", 1)[0]
    assert fence == "`````" and shown.endswith("\n" + fence)


def test_the_buttons_carry_the_approval_and_the_decided_card_has_none() -> None:
    approval = Approval("apv_1", "run_1", "tc_1", "call_1", "files", "read", "{}")
    asking = approval_card(approval, "thr_1").widget.model_dump_json()
    assert '"approval_id":"apv_1"' in asking and '"decision":"deny"' in asking
    decided = decided_card(approval, "thr_1", "allow").widget.model_dump_json()
    assert "onClickAction" not in decided and "Allowed" in decided
