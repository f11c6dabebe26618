"""The JSON error body every REST route answers with."""

from __future__ import annotations

from fastapi.responses import JSONResponse


def problem(status: int, message: str, field: str | None = None) -> JSONResponse:
    """`{"error": what is wrong, "field": where}` with the status code."""
    body: dict[str, object] = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)
