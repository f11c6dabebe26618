"""GraphQL over HTTP as the spec has it: JSON bodies only (415 otherwise), a stable `extensions.code`
on every error, and, for clients that accept `application/graphql-response+json`, status codes that
say what happened (400 for a request that does not parse or validate, 403 for one the caller may not
make) instead of 200 for everything."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.parse_content_type import parse_content_type
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET

from service.graphql.errors import BAD_USER_INPUT, FORBIDDEN, UNAUTHENTICATED

GRAPHQL_RESPONSE = "application/graphql-response+json"
STATUS_OF_CODE = {UNAUTHENTICATED: 401, FORBIDDEN: 403}


def wants_graphql_response(request: Request) -> bool:
    """Whether the client accepts the GraphQL-over-HTTP media type (and so its status codes)."""
    return GRAPHQL_RESPONSE in request.headers.get("accept", "")


class GraphQLHttpRouter(GraphQLRouter[Any, None]):
    async def parse_http_body(self, request: Any) -> GraphQLRequestData | list[GraphQLRequestData]:
        if request.method == "POST":
            content_type, _ = parse_content_type(request.content_type or "")
            if content_type != "application/json":
                raise HTTPException(415, "send the operation as JSON: Content-Type: application/json")
        return await super().parse_http_body(request)

    async def process_result(self, request: Request, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        errors: list[dict[str, Any]] = processed.get("errors") or []  # type: ignore[assignment]
        for error in errors:
            # graphql-core's own errors (syntax, validation, unknown enum values) carry no code: they
            # are all about what the caller sent.
            error.setdefault("extensions", {}).setdefault("code", BAD_USER_INPUT)
        request.state.graphql_status = _status(processed)
        return processed

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        response = await super().run(request, context=context, root_value=root_value)
        if isinstance(request, Request) and isinstance(response, Response) and wants_graphql_response(request):
            response.status_code = getattr(request.state, "graphql_status", response.status_code)
            if response.headers.get("content-type", "").startswith("application/json"):
                response.headers["content-type"] = GRAPHQL_RESPONSE
        return response


def _status(processed: GraphQLHTTPResponse) -> int:
    """The GraphQL-over-HTTP status: 200 once execution started (data present), else the refusal's."""
    errors: list[dict[str, Any]] = processed.get("errors") or []  # type: ignore[assignment]
    if processed.get("data") is not None or not errors:
        return 200
    if any("path" in error for error in errors):
        return 200  # execution started, and a non-null root field failed
    codes = {error.get("extensions", {}).get("code") for error in errors}
    return next((STATUS_OF_CODE[code] for code in (UNAUTHENTICATED, FORBIDDEN) if code in codes), 400)
