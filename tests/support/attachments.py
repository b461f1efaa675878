"""Files to attach and the two-phase upload a ChatKit frontend does, for the tests."""

from __future__ import annotations

import io
import random
from typing import Any

import httpx
from PIL import Image

from tests.support.sse_client import DeskClient


def png(width: int = 8, height: int = 8, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def noisy_png(width: int, height: int, seed: int = 1) -> bytes:
    """A PNG that does not compress: its size grows with its pixels (for byte budgets)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def photo_jpeg(width: int = 4000, height: int = 3000) -> bytes:
    """A camera-sized JPEG: grain over a gradient, so it stays megabytes (6.7 MB by default)."""
    grain = Image.effect_noise((width, height), 40)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (grain, gradient, Image.effect_noise((width, height), 20)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def pdf(size: int = 2000) -> bytes:
    """Bytes that start like a PDF, padded to ``size``."""
    head = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n"
    tail = b"\n%%EOF\n"
    return head + b"%" * max(0, size - len(head) - len(tail)) + tail


def create(client: DeskClient, name: str, mime_type: str, size: int) -> tuple[int, dict[str, Any]]:
    """``attachments.create`` as ChatKit.js sends it: (status, the answer)."""
    request = {
        "type": "attachments.create",
        "params": {"name": name, "size": size, "mime_type": mime_type},
    }
    response = client.http.post("/chatkit", json=request)
    return response.status_code, response.json()


def upload(
    descriptor: dict[str, Any], data: bytes, name: str = "file", verify: bool = True
) -> httpx.Response:
    """The second phase, with only what the descriptor gives (no access token of our own)."""
    return httpx.request(
        descriptor["method"],
        descriptor["url"],
        headers=descriptor.get("headers") or {},
        files={"file": (name, data)},
        timeout=60,
        verify=verify,
    )


def attach(
    client: DeskClient, name: str, mime_type: str, data: bytes, verify: bool = True
) -> dict[str, Any]:
    """Create and upload: the finished attachment."""
    status, created = create(client, name, mime_type, len(data))
    assert status == 200, created
    uploaded = upload(created["upload_descriptor"], data, name, verify)
    assert uploaded.status_code == 200, uploaded.text
    return uploaded.json()


def user_input_with(text: str, *attachment_ids: str) -> dict[str, Any]:
    return {
        "content": [{"type": "input_text", "text": text}],
        "attachments": list(attachment_ids),
        "inference_options": {},
    }
