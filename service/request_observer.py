"""Every HTTP request gets an id, a log line and a place in the metrics.

The id is the caller's `X-Request-ID` when it is a sane token (a proxy's or a portal's, so one
request can be followed across services), else a new one; it is sent back in `X-Request-ID` and
carried by every log record made while the request is answered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.logs import request_id
from service.metrics import HTTP_REQUESTS, HTTP_SECONDS
from service.rest_errors import problem

log = logging.getLogger("stairway.requests")
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
QUIET_PATHS = ("/healthz", "/readyz", "/metrics")
METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
)  # probes and scrapes: counted, logged only at debug


class ObserveRequests:
    """ASGI middleware: request id, one access record per request, request counts and latency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        current = given if given is not None and REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id.set(current)
        started = time.perf_counter()
        answered: float | None = None  # when the last byte went out (background tasks run after it)
        status = 500  # what the client gets when the app fails before answering
        began = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, answered, began
            if message["type"] == "http.response.start":
                status, began = message["status"], True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", current.encode())]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Logged here, with the request's id, rather than by the server after the id is gone.
            log.exception("%s %s failed", scope["method"], scope["path"])
            if not began:
                await problem(500, f"internal error; the log has it under request id {current}")(
                    scope, receive, send_with_id
                )
        finally:
            self._record(scope, status, (answered or time.perf_counter()) - started)
            request_id.reset(token)

    @staticmethod
    def _record(scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"  # clients may send any word
        route = _route(scope)
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        HTTP_SECONDS.labels(method, route).observe(seconds)
        path = scope["path"]
        level = logging.DEBUG if path in QUIET_PATHS and status < 400 else logging.INFO
        milliseconds = round(seconds * 1000, 1)
        fields = {"method": method, "path": path, "status": status, "durationMs": milliseconds}
        log.log(level, "%s %s %d %.1f ms", method, path, status, milliseconds, extra=fields)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _route(scope: Scope) -> str:
    """The matched route's template (not the ids in the path): bounded label values. A route whose own
    template is empty (GraphQL's, included under its prefix) matched the prefix alone, which is the path."""
    route: Any = scope.get("route")
    if route is None:
        return "unmatched"
    return str(getattr(route, "path", None) or scope["path"])
