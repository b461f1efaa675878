"""The settings window's few styles, keyed by a ``role`` property on labels."""

from PySide6.QtWidgets import QWidget

STYLE_SHEET = """
QLabel[role="hint"] { color: palette(placeholder-text); }
QLabel[role="error"] { color: #c62828; }
QLabel[role="ok"] { color: #1b7f3b; }
QLabel[role="warning"] {
    background: #fff4d6; color: #5c4300; border: 1px solid #e8c46a;
    border-radius: 4px; padding: 6px;
}
QLabel[role="status"] { font-weight: 600; }
"""


def restyle(widget: QWidget) -> None:
    """Re-apply the style sheet after a ``role`` property changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)
