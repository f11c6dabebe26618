"""Reading a request's body with a size limit: refused from its Content-Length when it says so, and
never read past the limit when it does not."""

from __future__ import annotations

from fastapi import Request


class BodyTooLarge(Exception):
    """The body is over the limit; nothing past the limit was read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is over {limit:,} bytes")
        self.message = str(self)


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
