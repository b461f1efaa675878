"""How the model works through a turn: its reasoning effort and summary, and its tool steps.

Settings like the others (``settings.json``, applied from the next message); a group of its own
because they hold for both providers. The summary means a different thing on each — OpenAI's
reasoning summary at that level of detail, Gemini's thoughts at any — and the hint says so.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QLabel, QLineEdit, QWidget

from desktop.field_error import FieldError

EFFORTS = (
    (None, "Model default"),
    ("none", "None (no reasoning)"),
    ("minimal", "Minimal"),
    ("low", "Low"),
    ("medium", "Medium"),
    ("high", "High"),
)
SUMMARIES = (
    (None, "Off"),
    ("auto", "Auto"),
    ("concise", "Concise"),
    ("detailed", "Detailed"),
)
MAX_TOOL_STEPS = 100


class ReasoningPanel(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Reasoning and tool use", parent)
        self.effort_combo = QComboBox()
        for value, label in EFFORTS:
            self.effort_combo.addItem(label, value)
        self.effort_combo.setToolTip(
            "How hard a reasoning model thinks before it answers; not every model takes every level"
        )
        self.summary_combo = QComboBox()
        for value, label in SUMMARIES:
            self.summary_combo.addItem(label, value)
        self.summary_combo.setToolTip("A summary of the model's reasoning, shown before the answer")
        summary_hint = QLabel("OpenAI: its reasoning summary. Gemini: its thoughts (any level).")
        summary_hint.setProperty("role", "hint")
        self.steps_edit = QLineEdit()
        self.steps_edit.setMaximumWidth(120)
        self.steps_edit.setToolTip(
            "How many rounds of tool calls one answer may take before the model must answer"
        )
        self.steps_error = FieldError()

        form = QFormLayout(self)
        form.addRow("Reasoning effort", self.effort_combo)
        form.addRow("Reasoning summary", self.summary_combo)
        form.addRow("", summary_hint)
        form.addRow("Tool steps per answer", self.steps_edit)
        form.addRow("", self.steps_error)

    def load(self, effort: str | None, summary: str | None, max_tool_steps: int) -> None:
        self.effort_combo.setCurrentIndex(max(self.effort_combo.findData(effort), 0))
        self.summary_combo.setCurrentIndex(max(self.summary_combo.findData(summary), 0))
        self.steps_edit.setText(str(max_tool_steps))

    def values(self) -> dict[str, Any]:
        """As settings; the step count as typed (``checked`` makes it a number)."""
        return {
            "reasoning_effort": self.effort_combo.currentData(),
            "reasoning_summary": self.summary_combo.currentData(),
            "max_tool_steps": self.steps_edit.text().strip(),
        }


def checked_steps(text: str) -> int | str:
    """The step count, or what to say about it."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_TOOL_STEPS:
        return f"A whole number from 1 to {MAX_TOOL_STEPS}, e.g. 10."
    return int(text)
