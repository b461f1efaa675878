"""``GET /api/tools``: the tool servers as the running server sees them (for the tray and pages).

Read-only on purpose: checking a new server means running its command, which is for the
person who edits ``mcp.json`` (``chatkit-desk tools check``), never for a token holder.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from backend.context import RequestContext
from backend.tools.hub import ServerState
from backend.web.auth import current_user
from backend.web.services import services, settings_of

router = APIRouter()


@router.get("/api/tools")
async def tool_servers(
    request: Request, _: Annotated[RequestContext, Depends(current_user)]
) -> dict[str, Any]:
    hub = services(request).tools
    return {
        "config_file": str(settings_of(request).mcp_config_file),
        "config_error": hub.config_error,
        "servers": [server_state(state) for state in hub.states()],
        "running": hub.running(),
    }


def server_state(state: ServerState) -> dict[str, Any]:
    return {
        "name": state.name,
        "status": state.status,
        "summary": state.describe(),
        "error": state.error,
        "tools": [{"name": t.name, "description": t.description or ""} for t in state.tools],
    }
