"""A limit on how many objects one GraphQL query may ask for, checked before it runs.

Depth, alias and token limits do not stop `entities(first: 500) { relations { target {
relations { target { ... } } } } }`: few tokens, shallow, yet millions of objects. The cost of a
query is the number of objects it may resolve: each object field counts once per parent object,
list fields multiply by their page size (`first`) or by an estimate of how long they are.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from service.graphql.errors import BAD_USER_INPUT
from service.graphql.pagination import DEFAULT_PAGE_SIZE

MAX_QUERY_COST = 50_000
PAGED_FIELDS = ("entities", "processingErrors")  # connections: their `edges` are `first` long
# Other lists, by what a typical entity (or catalogue) has: adoption groups are one per team or system.
ESTIMATED_LENGTHS = {"relations": 20, "groups": 500, "goldenPaths": 20, "trend": 90}


class QueryCostLimiter(SchemaExtension):
    """Refuses, before execution, an operation whose cost is over `max_cost` (BAD_USER_INPUT)."""

    def __init__(self, max_cost: int = MAX_QUERY_COST) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        if document is not None and not context.pre_execution_errors:
            fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
            variables = context.variables or {}
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                if context.operation_name and definition.name and definition.name.value != context.operation_name:
                    continue
                cost = _cost(definition.selection_set, 1, fragments, variables, self.max_cost)
                if cost > self.max_cost:
                    error = GraphQLError(
                        f"Query is too expensive: it may resolve about {cost:,} objects, more than the limit of "
                        f"{self.max_cost:,}. Ask for smaller pages (first) or fewer nested relations.",
                        extensions={"code": BAD_USER_INPUT, "cost": cost, "maxCost": self.max_cost},
                    )
                    context.pre_execution_errors = [*(context.pre_execution_errors or []), error]
        yield


def _cost(
    selection_set: SelectionSetNode | None,
    multiplier: int,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limit: int,
    page: int = 1,
) -> int:
    """Objects a selection may resolve under `multiplier` parents; `page` is the length of `edges`
    when this is a connection's selection."""
    if selection_set is None:
        return 0
    total = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            if selection.selection_set is None:
                continue  # a scalar: costs nothing beyond its object
            name = selection.name.value
            count = multiplier * (page if name == "edges" else ESTIMATED_LENGTHS.get(name, 1))
            inner_page = _first(selection, variables) if name in PAGED_FIELDS else 1
            total += count + _cost(selection.selection_set, count, fragments, variables, limit, inner_page)
        elif isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, multiplier, fragments, variables, limit, page)
        elif isinstance(selection, FragmentSpreadNode) and selection.name.value in fragments:
            fragment = fragments[selection.name.value]
            total += _cost(fragment.selection_set, multiplier, fragments, variables, limit, page)
        if total > limit:
            break  # enough to refuse; stops fragment cycles too
    return total


def _first(field: FieldNode, variables: Mapping[str, Any]) -> int:
    """The page size a connection field asks for."""
    for argument in field.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(int(value.value), 1)
        if isinstance(value, VariableNode) and isinstance(variables.get(value.name.value), int):
            return max(int(variables[value.name.value]), 1)
    return DEFAULT_PAGE_SIZE
