"""GraphQL errors meant for users, each with a stable `extensions.code`."""

from __future__ import annotations

from graphql import GraphQLError
from strawberry.extensions import MaskErrors

BAD_USER_INPUT = "BAD_USER_INPUT"
NOT_FOUND = "NOT_FOUND"
INTERNAL = "INTERNAL"
FORBIDDEN = "FORBIDDEN"
UNAUTHENTICATED = "UNAUTHENTICATED"


def bad_input(message: str, argument: str | None = None, code: str = BAD_USER_INPUT) -> GraphQLError:
    """An error in what the caller sent; names the argument when there is one."""
    extensions: dict[str, object] = {"code": code}
    if argument:
        extensions["argument"] = argument
    return GraphQLError(message, extensions=extensions)


def is_unexpected(error: GraphQLError) -> bool:
    """An exception a resolver did not mean to show (a database failure, a bug): mask it."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class MaskUnexpectedErrors(MaskErrors):
    """Replaces unexpected errors with a generic one coded INTERNAL; strawberry logs the original."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Internal server error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        return GraphQLError(self.error_message, nodes=error.nodes, path=error.path, extensions={"code": INTERNAL})
