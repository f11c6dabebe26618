"""The GraphQL input that narrows a query to some entities, shared by every query that takes one."""

from __future__ import annotations

import strawberry

from catalog import queries
from catalog.refs import RefError, parse_ref
from service.graphql.errors import bad_input


@strawberry.input(description="All given fields must match; matching is case-insensitive.")
class EntityFilter:
    kind: list[str] | None = None
    namespace: str | None = None
    type: list[str] | None = None
    lifecycle: list[str] | None = None
    owner: str | None = strawberry.field(default=None, description="An entity ref; the kind defaults to group.")
    system: str | None = strawberry.field(default=None, description="An entity ref; the kind defaults to system.")
    domain: str | None = strawberry.field(
        default=None, description="A domain's ref (the kind defaults to domain): its systems and their entities."
    )
    tag: str | None = None
    search: str | None = strawberry.field(default=None, description="A substring of the name, title or description.")

    def to_query(self) -> queries.EntityFilter:
        for argument, ref in (
            ("filter.owner", self.owner),
            ("filter.system", self.system),
            ("filter.domain", self.domain),
        ):
            if ref is not None:
                try:
                    parse_ref(ref, default_kind="x")
                except RefError as error:
                    raise bad_input(str(error), argument) from None
        return queries.EntityFilter(
            kind=self.kind,
            namespace=self.namespace,
            type=self.type,
            lifecycle=self.lifecycle,
            owner=self.owner,
            system=self.system,
            domain=self.domain,
            tag=self.tag,
            search=self.search,
        )
