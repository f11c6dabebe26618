"""Which scope each GraphQL operation needs, checked once per operation before anything runs.

Every query field needs `read` (the audit log needs `admin`); each mutation needs its own scope.
A caller missing one gets a single FORBIDDEN error and nothing is executed, so no resolver has to
remember the rule. Finer rules that depend on the data (who owns the entity an exemption is for)
are the resolvers' own.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from service.auth_config import ADMIN, FACTS_WRITE, READ
from service.authentication import Caller, forbidden
from service.graphql.context import RequestContext

QUERY_SCOPES = {"auditLog": ADMIN, "__typename": None}
MUTATION_SCOPES = {
    "submitFacts": FACTS_WRITE,
    "reportDeployments": FACTS_WRITE,
    "reportIncidents": FACTS_WRITE,
    "createExemption": ADMIN,  # or, under auth.ownersMayExempt, the owners of the entity (checked by the resolver)
    "deleteExemption": ADMIN,
    "refreshSource": ADMIN,
    "__typename": None,
}
OWNER_MUTATIONS = ("createExemption", "deleteExemption")


class RequireScopes(SchemaExtension):
    """Refuses an operation whose root fields need a scope the caller does not hold."""

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        request = context.context
        document = context.graphql_document
        if isinstance(request, RequestContext) and document is not None:
            refusal = self._refusal(request, document, context.operation_name)
            if refusal is not None:
                context.result = ExecutionResult(data=None, errors=[refusal])  # nothing runs
        yield

    @staticmethod
    def _refusal(request: RequestContext, document: DocumentNode, name: str | None) -> GraphQLError | None:
        operation = _operation(document, name)
        if operation is None:
            return None
        mutation = operation.operation.value == "mutation"
        for field in _root_fields(document, operation.selection_set):
            scope = needed_scope(field, mutation, request.owners_may_exempt)
            if scope is not None and not request.caller.may(scope):
                refusal = forbidden(request.caller, scope)
                return GraphQLError(refusal.reason, extensions={"code": refusal.code, "field": field})
        return None


def needed_scope(field: str, mutation: bool, owners_may_exempt: bool) -> str | None:
    """The scope a root field needs (None: none at all)."""
    if not mutation:
        return QUERY_SCOPES.get(field, READ)
    if owners_may_exempt and field in OWNER_MUTATIONS:
        return READ  # the resolver checks ownership
    return MUTATION_SCOPES.get(field, ADMIN)


def may_change(caller: Caller, owner: str | None, owners_may_exempt: bool) -> bool:
    """Whether the caller may change what belongs to `owner` (an exemption of an entity it owns)."""
    return caller.may(ADMIN) or (owners_may_exempt and owner is not None and owner in caller.ownership)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [node for node in document.definitions if isinstance(node, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((node for node in operations if node.name is not None and node.name.value == name), None)


def _root_fields(
    document: DocumentNode, selections: SelectionSetNode, seen: frozenset[str] = frozenset()
) -> Iterator[str]:
    """The names of the fields an operation selects at its root, through fragments."""
    fragments = {node.name.value: node for node in document.definitions if isinstance(node, FragmentDefinitionNode)}
    for selection in selections.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(document, selection.selection_set, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:  # validation refuses cycles; never loop on one anyway
                yield from _root_fields(document, fragments[name].selection_set, seen | {name})
