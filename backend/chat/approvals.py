"""The card that asks before a tool runs, and what it says once the user has answered.

A widget item (a ChatKit card) naming the server, the tool and its arguments, with **Allow** and
**Deny** buttons whose action (``tool.approval``) comes back to the server through
``threads.custom_action``. Built as plain widget JSON: the named widget classes of the ChatKit
SDK are deprecated for direct use.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Literal

from chatkit.types import WidgetItem
from chatkit.widgets import DynamicWidgetRoot

from backend.chat.workflows import compact_arguments
from backend.store.approvals import Approval, Decision

APPROVAL_ACTION = "tool.approval"
REFUSED = "The user refused to let this tool run. Do not try it again unless they ask."
ARGUMENTS_SHOWN = 20_000
"""A card shows this much of a call's arguments, and says how much more there is: what is
approved must be seen (a file's whole new content, say), within what a card can carry."""

Choice = Literal["allow", "deny"]


def approval_card(approval: Approval, thread_id: str) -> WidgetItem:
    """The question, with Allow and Deny."""
    return WidgetItem(
        id=approval.item_id,
        thread_id=thread_id,
        created_at=datetime.now(),
        widget=_card(approval, _buttons(approval.id)),
        copy_text=f"Allow {approval.server} › {approval.tool}? {approval.arguments}",
    )


def decided_card(approval: Approval, thread_id: str, decision: Decision) -> WidgetItem:
    """The same card, its buttons replaced by what was decided."""
    said = {
        "allow": ("Allowed", "success", "You allowed this call."),
        "deny": ("Denied", "danger", "You refused this call; the model was told."),
        "expired": ("Not run", "secondary", "Not run: the conversation moved on before you chose."),
    }[decision]
    badge, color, sentence = said
    outcome = {
        "type": "Row",
        "gap": 2,
        "align": "center",
        "children": [
            {"type": "Badge", "label": badge, "color": color},
            {"type": "Text", "value": sentence, "size": "sm", "color": "secondary"},
        ],
    }
    return WidgetItem(
        id=approval.item_id,
        thread_id=thread_id,
        created_at=datetime.now(),
        widget=_card(approval, outcome),
        copy_text=f"{badge}: {approval.server} › {approval.tool}",
    )


def _card(approval: Approval, footer: dict[str, object]) -> DynamicWidgetRoot:
    arguments = _pretty(approval.arguments)
    hidden = len(arguments) - ARGUMENTS_SHOWN
    if hidden > 0:
        arguments = f"{arguments[:ARGUMENTS_SHOWN]}\n… ({hidden} more characters not shown)"
    return DynamicWidgetRoot.model_validate(
        {
            "type": "Card",
            "size": "md",
            "children": [
                {
                    "type": "Title",
                    "value": f"Run {approval.server} › {approval.tool}?",
                    "size": "sm",
                },
                {
                    "type": "Text",
                    "value": (
                        f"The model wants to run the tool “{approval.tool}” of the tool server "
                        f"“{approval.server}” with these arguments:"
                    ),
                    "size": "sm",
                    "color": "secondary",
                },
                {"type": "Markdown", "value": _code_block(arguments)},
                footer,
            ],
        }
    )


def _buttons(approval_id: str) -> dict[str, object]:
    def button(label: str, choice: Choice, style: str) -> dict[str, object]:
        return {
            "type": "Button",
            "label": label,
            "style": style,
            "onClickAction": {
                "type": APPROVAL_ACTION,
                "payload": {"approval_id": approval_id, "decision": choice},
            },
        }

    return {
        "type": "Row",
        "gap": 2,
        "children": [button("Allow", "allow", "primary"), button("Deny", "deny", "secondary")],
    }


def _code_block(text: str) -> str:
    """``text`` as a JSON code block whose fence no run of backticks in it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}json\n{text}\n{fence}"


def _pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments or "{}"), indent=2, ensure_ascii=False)
    except json.JSONDecodeError:
        return compact_arguments(arguments)
