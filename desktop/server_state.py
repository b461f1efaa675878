"""What the supervisor reports about the server, and how the tray and window word it."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ServerState(enum.Enum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    ERROR = "error"


@dataclass(frozen=True)
class ServerStatus:
    state: ServerState
    detail: str = ""
    """The URL when running, the reason when in error, empty otherwise."""
    note: str = ""
    """When running: the provider and model, or that no key is set."""

    @property
    def summary(self) -> str:
        """One line for a tooltip, the menu's status line and the settings window."""
        if self.state is ServerState.RUNNING:
            return f"Running on {self.detail}"
        if self.state is ServerState.STARTING:
            return "Starting…"
        if self.state is ServerState.ERROR:
            return f"Error: {self.detail}"
        return "Stopped"

    @property
    def tooltip(self) -> str:
        lines = ["ChatKit Desk", self.summary, self.note]
        return "\n".join(line for line in lines if line)
