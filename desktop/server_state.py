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
    tools_in_use: tuple[str, ...] = ()
    """When running: the tools a turn is calling right now (``server › tool``), from ``/health``."""

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
    def tools_line(self) -> str:
        """What a turn is doing besides talking: "Using tool: files › read_file"."""
        if not self.tools_in_use:
            return ""
        label = "Using tool" if len(self.tools_in_use) == 1 else "Using tools"
        return f"{label}: {', '.join(self.tools_in_use)}"

    @property
    def tooltip(self) -> str:
        lines = ["ChatKit Desk", self.summary, self.note, self.tools_line]
        return "\n".join(line for line in lines if line)
