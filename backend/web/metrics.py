"""Prometheus metrics: recorded per request and per turn, never per streamed token."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from backend.chat.turns import TurnRecord

ROUTES = frozenset(
    {"/chatkit", "/api/chat", "/api/tools", "/health", "/metrics", "/livez", "/readyz"}
    | {"/", "/login", "/config.json", "/docs"}
)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 20, 40, 80, 160, 320, 600)


def route_label(path: str) -> str:
    """A bounded label: known routes by name, static files together, anything else 'other'."""
    if path in ROUTES:
        return path
    return "/static" if path.startswith("/static/") else "other"


class Metrics:
    def __init__(self, active_streams: Callable[[], int]) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "chatkit_desk_http_requests",
            "HTTP requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.rate_limited = Counter(
            "chatkit_desk_rate_limit_rejections",
            "Requests refused by the rate limit or the stream caps",
            ["route"],
            registry=r,
        )
        self.active_streams = Gauge(
            "chatkit_desk_active_streams", "Streams in progress", registry=r
        )
        self.active_streams.set_function(active_streams)
        self.time_to_first_token = Histogram(
            "chatkit_desk_time_to_first_token_seconds",
            "From the user's message to the first streamed text",
            ["provider", "model"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.stream_duration = Histogram(
            "chatkit_desk_stream_duration_seconds",
            "Length of a whole answer",
            ["provider", "model"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.tokens = Counter(
            "chatkit_desk_tokens",
            "Tokens by provider, model and kind (in, cached, out, reasoning)",
            ["provider", "model", "direction"],
            registry=r,
        )
        self.tool_calls = Counter(
            "chatkit_desk_tool_calls",
            "Tool calls made by the model, by provider",
            ["provider"],
            registry=r,
        )
        self.upstream_errors = Counter(
            "chatkit_desk_upstream_errors",
            "Failed turns by provider and kind",
            ["provider", "kind"],
            registry=r,
        )

    def record_turn(self, turn: TurnRecord) -> None:
        labels = (turn.provider, turn.model)
        if turn.first_token_seconds is not None:
            self.time_to_first_token.labels(*labels).observe(turn.first_token_seconds)
        self.stream_duration.labels(*labels).observe(turn.duration_seconds)
        self.tokens.labels(*labels, "in").inc(turn.input_tokens)
        self.tokens.labels(*labels, "cached").inc(turn.cached_tokens)
        self.tokens.labels(*labels, "out").inc(turn.output_tokens)
        self.tokens.labels(*labels, "reasoning").inc(turn.reasoning_tokens)
        self.tool_calls.labels(turn.provider).inc(turn.tool_calls)
        if turn.outcome not in ("ok", "cancelled"):
            self.upstream_errors.labels(turn.provider, turn.outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
