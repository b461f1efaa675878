"""Which model answers: OpenAI on the Responses API, Gemini on its Chat Completions endpoint.

A ``Provider`` is resolved for every turn from the current settings and keys, so a new key,
model or provider applies to the next message without a restart. HTTP clients are cached per
(base URL, key) so connections are reused across turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx2
from agents import (
    Agent,
    Model,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
)
from openai import AsyncOpenAI, DefaultAsyncHttpxClient, Timeout
from openai.types.shared import Reasoning

from backend import logs, secrets
from backend.chat.openai_client import DeskOpenAI
from backend.settings import Provider, Settings

READ_TIMEOUT_SLACK = 5.0

KEEPALIVE_SECONDS = 120.0
"""How long an idle connection to the provider is kept for the next turn. httpx's default is
5 s, shorter than it takes to read a reply and type the next message, so nearly every turn paid
a new TCP and TLS handshake before its first token. A connection the provider has closed in the
meantime is noticed before reuse and replaced, so a long keep-alive costs little: an idle socket,
probed at each turn (which is why only a few are kept)."""


IDLE_CONNECTIONS_KEPT = 10
"""How many idle connections to the provider are kept. Every request makes the pool probe each
idle socket to see whether the provider has closed it (twice or more per turn, ~10 µs each), so
after a burst of concurrent chats a pool keeping 100 of them added ~2 ms to every later turn's
first token (``bench/``). Ten cover a desktop's and a small team's concurrent chats; a burst
beyond that opens new connections, as it would have to anyway."""


class ProviderNotConfigured(Exception):
    """No API key for the selected provider; the message says how to add one."""


@dataclass(frozen=True)
class ResolvedProvider:
    name: Provider
    model: str
    base_url: str
    uses_responses_api: bool

    @property
    def label(self) -> str:
        return secrets.PROVIDER_LABELS[self.name]


class ProviderRegistry:
    """Builds the agent for a turn; keeps one ``AsyncOpenAI`` client per (base URL, key).

    The agent itself is kept while the settings and key it was built from stay the same:
    building one costs about 0.35 ms, paid before the first token of every turn otherwise.
    """

    def __init__(self, keys: secrets.KeyCache) -> None:
        self._keys = keys
        self._clients: dict[tuple[str, str, float, float], AsyncOpenAI] = {}
        self._last_agent: tuple[tuple[object, ...], Agent] | None = None

    def resolve(self, settings: Settings) -> ResolvedProvider:
        return ResolvedProvider(
            name=settings.provider,
            model=settings.model,
            base_url=settings.base_url,
            uses_responses_api=settings.provider == "openai",
        )

    def client(
        self, base_url: str, api_key: str, read_timeout: float, connect_timeout: float
    ) -> AsyncOpenAI:
        """The client for these settings. It retries a refused request (429, 5xx, connection)
        twice with backoff, honouring ``Retry-After``; it never retries once a stream has begun,
        so no text reaches the user twice."""
        cache_key = (base_url, api_key, read_timeout, connect_timeout)
        client = self._clients.get(cache_key)
        if client is None:
            timeout = Timeout(read_timeout, connect=connect_timeout)
            limits = httpx2.Limits(
                max_connections=1000,
                max_keepalive_connections=IDLE_CONNECTIONS_KEPT,
                keepalive_expiry=KEEPALIVE_SECONDS,
            )
            client = DeskOpenAI(
                base_url=base_url,
                api_key=api_key,
                timeout=timeout,
                http_client=DefaultAsyncHttpxClient(timeout=timeout, limits=limits),
            )
            self._clients[cache_key] = client
        return client

    def build_agent(self, settings: Settings) -> tuple[Agent, ResolvedProvider]:
        """The agent for the next turn, or ``ProviderNotConfigured`` when there is no key."""
        provider = self.resolve(settings)
        key = self._keys.lookup(provider.name)
        if not key.found:
            env_var = secrets.KEY_ENV_VARS[provider.name]
            reason = f" ({key.problem})" if key.problem else ""
            raise ProviderNotConfigured(
                f"No {provider.label} API key is configured{reason} — add one in Settings, "
                f"run `chatkit-desk keys set {provider.name}`, or set {env_var}."
            )
        assert key.value is not None
        # A backstop only: the turn's own watchdog (with its clearer message) fires first.
        read_timeout = (
            max(settings.upstream_timeout, settings.first_token_timeout or 0) + READ_TIMEOUT_SLACK
        )
        recipe = (
            provider,
            key.value,
            settings.instructions,
            read_timeout,
            settings.connect_timeout,
            settings.reasoning_effort,
            settings.reasoning_summary,
        )
        if self._last_agent is not None and self._last_agent[0] == recipe:
            return self._last_agent[1], provider
        logs.known_secrets([key.value])  # whatever a library logs, this key is scrubbed from it
        client = self.client(provider.base_url, key.value, read_timeout, settings.connect_timeout)
        model: Model
        if provider.uses_responses_api:
            model = OpenAIResponsesModel(model=provider.model, openai_client=client)
        else:
            model = OpenAIChatCompletionsModel(model=provider.model, openai_client=client)
        agent = Agent(
            name="ChatKit Desk assistant",
            instructions=settings.instructions,
            model=model,
            model_settings=_model_settings(settings),
        )
        self._last_agent = (recipe, agent)
        return agent, provider

    def forget_key(self, provider: Provider) -> None:
        """The provider refused its key: read it from the keyring again for the next turn."""
        self._keys.forget(provider)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()


def _model_settings(settings: Settings) -> ModelSettings:
    """Usage always; for reasoning models the effort, and the thoughts when asked for.

    OpenAI streams reasoning summaries on the Responses API. Gemini's compatible endpoint sends
    its thoughts only with ``include_thoughts`` (inside the text, which ``chunk_repairs`` moves
    out), set through its documented ``extra_body`` form.
    """
    summary = settings.reasoning_summary
    if settings.provider == "openai":
        reasoning = (
            Reasoning(effort=settings.reasoning_effort, summary=summary)
            if settings.reasoning_effort or summary
            else None
        )
        return ModelSettings(include_usage=True, reasoning=reasoning)
    effort = Reasoning(effort=settings.reasoning_effort) if settings.reasoning_effort else None
    thoughts = (
        {"extra_body": {"google": {"thinking_config": {"include_thoughts": True}}}}
        if summary
        else None
    )
    return ModelSettings(include_usage=True, reasoning=effort, extra_body=thoughts)
