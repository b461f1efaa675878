"""The server's state with Start/Stop and Open chat, at the top of the settings window.

With a tray this repeats what the menu offers; without one it is the only place to control the
server, which is why it is always there.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.icons import state_icon
from desktop.server_state import ServerState, ServerStatus
from desktop.supervisor import ServerSupervisor


class StatusPanel(QWidget):
    def __init__(
        self,
        supervisor: ServerSupervisor,
        open_chat: Callable[[], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._supervisor = supervisor
        self.icon_label = QLabel()
        self.summary_label = QLabel()
        self.summary_label.setProperty("role", "status")
        self.summary_label.setWordWrap(True)
        self.note_label = QLabel()
        self.note_label.setProperty("role", "hint")
        self.note_label.setWordWrap(True)
        self.start_stop_button = QPushButton()
        self.start_stop_button.clicked.connect(self._start_or_stop)
        self.open_chat_button = QPushButton("Open chat")
        self.open_chat_button.clicked.connect(open_chat)

        texts = QVBoxLayout()
        texts.setSpacing(2)
        texts.addWidget(self.summary_label)
        texts.addWidget(self.note_label)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.icon_label)
        row.addLayout(texts, 1)
        row.addWidget(self.start_stop_button)
        row.addWidget(self.open_chat_button)

        supervisor.status_changed.connect(self.show_status)
        self.show_status(supervisor.status)

    @Slot(ServerStatus)
    def show_status(self, status: ServerStatus) -> None:
        self.icon_label.setPixmap(state_icon(status.state).pixmap(32, 32))
        self.summary_label.setText(status.summary)
        self.note_label.setText(status.note)
        self.note_label.setVisible(bool(status.note))
        active = self._supervisor.is_active
        self.start_stop_button.setText("Stop server" if active else "Start server")
        self.open_chat_button.setEnabled(status.state is ServerState.RUNNING)

    @Slot()
    def _start_or_stop(self) -> None:
        if self._supervisor.is_active:
            self._supervisor.stop()
        else:
            self._supervisor.start()
