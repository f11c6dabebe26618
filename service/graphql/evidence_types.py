"""GraphQL for evidence packs: `evidencePack(ref)`, the same sealed JSON as GET /api/evidence-packs/...."""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.scalars import JSON

from catalog.refs import RefError, parse_ref
from scorecards.evidence import EntityNotFound, sealed_pack
from scorecards.evidence_seal import EvidenceKeyError, configured_signing_key
from service.graphql.context import RequestContext
from service.graphql.errors import INTERNAL, bad_input


@strawberry.type
class EvidenceQuery:
    @strawberry.field(
        description="An entity's evidence pack as of now (descriptor, owner, lineage, checks with their evidence, "
        "exemptions, level history, DORA keys), sealed with a SHA-256 digest and, when a key is configured, an "
        "Ed25519 signature; null when there is no such entity."
    )
    async def evidence_pack(self, info: strawberry.Info[RequestContext, None], ref: str) -> JSON | None:
        try:
            canonical = parse_ref(ref).ref
        except RefError as error:
            raise bad_input(str(error), "ref") from None
        context = info.context

        def build() -> dict[str, Any]:
            key = configured_signing_key(os.environ)
            profile = context.config.dora_profile
            return sealed_pack(context.engine, context.scorecards, canonical, context.now, profile, key)

        try:
            return cast(JSON, await asyncio.to_thread(build))
        except EntityNotFound:
            return None
        except EvidenceKeyError as error:
            message = f"the evidence signing key cannot be used: {error}"
            raise GraphQLError(message, extensions={"code": INTERNAL}) from None
