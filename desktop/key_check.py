""" "Test" for an API key: list the provider's models with it and say plainly what happened."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest

TIMEOUT_MS = 15_000


@dataclass(frozen=True)
class KeyCheckResult:
    works: bool
    message: str
    models: list[str] = field(default_factory=list)


def models_url(base_url: str) -> str:
    """``GET {base}/models`` of an OpenAI-compatible API (Gemini's compatibility layer too)."""
    return base_url.rstrip("/") + "/models"


class KeyCheck(QObject):
    """One check at a time; ``finished`` carries its result."""

    finished = Signal(KeyCheckResult)

    def __init__(self, label: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._label = label
        self._network = QNetworkAccessManager(self)
        self._reply: QNetworkReply | None = None

    @property
    def running(self) -> bool:
        return self._reply is not None

    def start(self, base_url: str, key: str) -> None:
        if self._reply is not None:
            self._reply.abort()
        request = QNetworkRequest(QUrl(models_url(base_url)))
        request.setRawHeader(b"Authorization", f"Bearer {key}".encode())
        request.setTransferTimeout(TIMEOUT_MS)
        reply = self._network.get(request)
        self._reply = reply
        reply.finished.connect(lambda: self._answered(reply, base_url))

    def _answered(self, reply: QNetworkReply, base_url: str) -> None:
        reply.deleteLater()
        if reply is not self._reply:
            return
        self._reply = None
        self.finished.emit(self._judge(reply, base_url))

    def _judge(self, reply: QNetworkReply, base_url: str) -> KeyCheckResult:
        status = reply.attribute(QNetworkRequest.Attribute.HttpStatusCodeAttribute)
        body = reply.readAll().data()
        if status is None:
            host = urlsplit(base_url).netloc
            return KeyCheckResult(False, f"Could not reach {host}: {reply.errorString()}")
        if status in (401, 403):
            return KeyCheckResult(
                False,
                f"{self._label} rejected this key (HTTP {status}). Check that it is complete "
                "and still active.",
            )
        if status == 429:
            return KeyCheckResult(
                True, f"{self._label} accepted the key but is rate-limiting it right now."
            )
        if status != 200:
            return KeyCheckResult(
                False, f"{self._label} answered HTTP {status}; the key could not be checked."
            )
        models = _model_ids(body)
        return KeyCheckResult(
            True, f"The key works — {len(models)} models available.", sorted(models)
        )


def _model_ids(body: bytes) -> list[str]:
    try:
        data = json.loads(body).get("data", [])
    except (ValueError, AttributeError):
        return []
    ids = [str(entry["id"]) for entry in data if isinstance(entry, dict) and "id" in entry]
    return [model.removeprefix("models/") for model in ids]  # Gemini names them models/…
