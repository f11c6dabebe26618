"""GraphQL errors meant for users, each with a stable `extensions.code`."""

from __future__ import annotations

from graphql import GraphQLError

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"


def bad_input(message: str, argument: str | None = None) -> GraphQLError:
    """An error in what the caller sent; names the argument when there is one."""
    extensions: dict[str, object] = {"code": BAD_USER_INPUT}
    if argument:
        extensions["argument"] = argument
    return GraphQLError(message, extensions=extensions)
