"""Reading a request's body with a size limit: refused from its Content-Length when it says so, and
never read past the limit when it does not."""

from __future__ import annotations

from collections.abc import Mapping

import orjson
from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.rest_errors import problem


class BodyTooLarge(Exception):
    """The body is over the limit; nothing past the limit was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {limit:,} bytes")
        self.message = str(self)


class BodyRefused(Exception):
    """A request body that cannot be taken: 415 (not JSON), 413 (too large), 400 (malformed)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_json(request: Request, limit: int) -> object:
    """The request's JSON body, at most `limit` bytes; BodyRefused saying what is wrong otherwise."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise BodyRefused(415, "send the body as JSON with Content-Type: application/json")
    try:
        data = await read_body(request, limit)
    except BodyTooLarge as error:
        raise BodyRefused(413, error.message) from None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise BodyRefused(400, f"malformed JSON: {error}") from None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, at most `limit` bytes; BodyTooLarge beyond that."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(limit)
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise BodyTooLarge(limit)
    return bytes(data)


class LimitBodies:
    """ASGI middleware for routes that read their bodies through a framework (GraphQL's): the body of a
    request to one of `limits`' paths is read first, at most its limit, and a larger one is refused
    with 413 before the route sees any of it."""

    def __init__(self, app: ASGIApp, limits: Mapping[str, int]) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limits.get(scope["path"]) if scope["type"] == "http" else None
        if limit is None:
            await self.app(scope, receive, send)
            return
        body = bytearray()
        declared = Headers(scope=scope).get("content-length", "")
        too_large = declared.isdigit() and int(declared) > limit
        more = not too_large
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            body += message.get("body", b"")
            more = message.get("more_body", False)
            too_large = len(body) > limit
            more = more and not too_large
        if too_large:
            await problem(413, BodyTooLarge(limit).message)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)
