"""Tool servers (MCP): their configuration, their connections, and approvals of their calls."""
