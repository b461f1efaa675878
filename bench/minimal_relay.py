"""The floor for any Python backend in between: a relay that passes the provider's bytes through.

Same server stack as ChatKit Desk (uvicorn with uvloop and httptools, Starlette) and the same HTTP
client as openai 3.x (httpx2, with the connection kept between turns), but no SDKs, no parsing, no
auth, no store: the request body goes to the provider as it came, the provider's stream comes
back chunk by chunk. What it adds over "direct" is what one extra hop through Python costs on
this machine, before a backend does anything of its own.

Run: ``python bench/minimal_relay.py PORT`` with ``RELAY_BASE_URL`` (the provider's ``/v1``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import httpx2
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

BASE_URL = os.environ.get("RELAY_BASE_URL", "http://127.0.0.1:9/v1")
client = httpx2.AsyncClient(  # the pool limits of ChatKit Desk's provider client
    timeout=60,
    limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=10, keepalive_expiry=120),
)


async def relay(request: Request) -> Response:
    upstream = client.build_request(
        "POST",
        f"{BASE_URL}/{request.path_params['path']}",
        content=await request.body(),
        headers={"content-type": "application/json", "authorization": "Bearer sk-bench"},
    )
    answer = await client.send(upstream, stream=True)

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        finally:
            await answer.aclose()

    return StreamingResponse(chunks(), answer.status_code, media_type="text/event-stream")


async def health(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[Route("/health", health), Route("/v1/{path:path}", relay, methods=["POST"])]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
