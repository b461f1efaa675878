# syntax=docker/dockerfile:1
# ChatKit Desk, headless: `chatkit-desk serve` on 0.0.0.0:8765, data on the /data volume.
#
#   docker build -t chatkit-desk .
#   docker run -d --name chatkit-desk -p 127.0.0.1:8765:8765 -v chatkit-desk-data:/data \
#     -e OPENAI_API_KEY=sk-… chatkit-desk
#   docker exec chatkit-desk chatkit-desk token --sub alice     # an access token for a frontend
#
# Environment (see docs/configuration.md for the rest):
#   CHATKIT_DESK_JWT_SECRET    optional, 32+ characters: the token signing secret. Without it a
#                              generated one is kept in /data/jwt-secret (there is no keyring in
#                              a container), so tokens survive restarts as long as the volume does.
#   OPENAI_API_KEY / GEMINI_API_KEY, CHATKIT_DESK_PROVIDER, CHATKIT_DESK_*_MODEL / _BASE_URL
#   CHATKIT_DESK_ALLOWED_HOSTS comma list of the host names clients address the server by
#                              (e.g. desk.internal,10.0.0.5). Loopback names are always allowed
#                              (so `-p 127.0.0.1:8765:8765` + http://localhost:8765 works, and so
#                              does the health check); any other Host gets 421.
#   CHATKIT_DESK_ALLOWED_ORIGINS comma list of browser origins of your frontends.
# Tokens are mandatory on every chat request, whatever the bind address.
#
# Team mode (several replicas on Postgres behind a load balancer): deploy/compose.yaml builds this
# with EXTRAS="--extra team" (the Postgres driver); see docs/team-mode.md.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- builder: the locked runtime dependencies into /app/.venv -------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11
WORKDIR /app
# The server never imports Qt (backend/ never imports desktop/), so the tray's PySide6 stays out.
ARG NO_QT="--no-install-package pyside6-essentials --no-install-package shiboken6"
# Optional extras of the lock file, e.g. "--extra team".
ARG EXTRAS=""
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --no-install-project $NO_QT $EXTRAS
COPY backend/ backend/
COPY chatkit_desk/ chatkit_desk/
COPY desktop/ desktop/
COPY resources/ resources/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev $NO_QT $EXTRAS

# --- runtime: the same Python, the venv and the sources, a non-root user --------------------
FROM ${PYTHON_IMAGE}
RUN groupadd --system --gid 10001 desk \
 && useradd --system --uid 10001 --gid desk --home-dir /home/desk --create-home desk \
 && mkdir /data && chown desk:desk /data
COPY --from=builder /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    CHATKIT_DESK_DATA_DIR=/data \
    CHATKIT_DESK_PORT=8765 \
    PYTHON_KEYRING_BACKEND=keyring.backends.null.Keyring
USER desk
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8765
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('CHATKIT_DESK_PORT', '8765'), timeout=4)"]
ENTRYPOINT ["chatkit-desk"]
CMD ["serve", "--host", "0.0.0.0"]
