"""`GET /api/evidence-packs/{kind}/{namespace}/{name}`: an entity's evidence pack, sealed (and signed when
STAIRWAY_EVIDENCE_KEY names an Ed25519 key), as JSON or, with `?format=markdown`, as a report. Callers
need the read scope."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from catalog.refs import entity_ref
from catalog.tables import utc_now
from scorecards.evidence import EntityNotFound, sealed_pack
from scorecards.evidence_report import render_markdown
from scorecards.evidence_seal import EvidenceKeyError, configured_signing_key
from service.authentication import Reader
from service.config import Config
from service.rest_errors import problem
from service.rest_models import problems

FORMATS = {"json": "application/json", "markdown": "text/markdown; charset=utf-8"}


# The pack's shape, for the OpenAPI document (scorecards/evidence.py builds it).


class EvidenceEntity(BaseModel):
    ref: str
    kind: str | None
    descriptor: dict[str, Any] = Field(description="The descriptor as stored.")
    location: str = Field(description="Where it was read from.")
    updatedAt: str


class EvidenceOwner(BaseModel):
    ref: str
    title: str | None
    inCatalogue: bool


class EvidenceNeighbour(BaseModel):
    ref: str
    hops: int = Field(ge=1, le=2)
    via: str = Field(description="The relation that reached it: dependsOn, consumesApi, apiProvidedBy, or inverses.")
    through: str | None = Field(description="For two hops, the entity in between.")
    inCatalogue: bool
    levels: dict[str, int | None] = Field(description="Its stored level on each scorecard; null where none applies.")


class EvidenceLineage(BaseModel):
    dependsOn: list[EvidenceNeighbour]
    dependedOnBy: list[EvidenceNeighbour]


class EvidenceDefinition(BaseModel):
    apiVersion: str
    digest: str = Field(description="sha256:<hex> of the definition's canonical JSON.")


class EvidenceLevel(BaseModel):
    ordinal: int
    id: str
    title: str


class EvidenceCheck(BaseModel):
    id: str
    title: str
    level: str
    area: str
    status: str
    observed: Any = Field(description="The value the rule looked at.")
    message: str
    factTimestamps: dict[str, str | None] = Field(description="When each reported fact it reads was observed.")


class EvidenceExemption(BaseModel):
    check: str
    reason: str
    createdBy: str | None
    createdAt: str | None
    expiresAt: str


class EvidenceHistoryPoint(BaseModel):
    day: str
    level: int


class EvidencePaperMaturity(BaseModel):
    band: str = Field(description="LOW or NOT_REPORTED.")
    reason: str


class EvidenceScorecard(BaseModel):
    name: str
    title: str
    definition: EvidenceDefinition
    level: EvidenceLevel
    floor: int
    areas: dict[str, int]
    lopsided: bool
    checks: list[EvidenceCheck]
    exemptions: list[EvidenceExemption]
    history: list[EvidenceHistoryPoint]
    paperMaturity: EvidencePaperMaturity | None = Field(
        description="Set when the level is 4 or 5 while the DORA band over the pack's window is LOW or not reported."
    )


class EvidenceDoraBands(BaseModel):
    deploymentFrequency: str
    leadTime: str
    changeFailureRate: str
    recoveryTime: str


class EvidenceEvents(BaseModel):
    environment: str
    deployments: int
    incidents: int


class EvidenceDora(BaseModel):
    deployments: int
    failures: int
    deploymentsPerWeek: float | None
    leadTimeHours: float | None
    changeFailureRate: float | None
    recoveryHours: float | None
    bands: EvidenceDoraBands
    band: str
    profile: str
    windowDays: int
    events: EvidenceEvents


class EvidenceIntegrity(BaseModel):
    algorithm: str
    digest: str = Field(description="Hex SHA-256 of the canonical form of the pack without integrity and signature.")


class EvidenceSignature(BaseModel):
    algorithm: str
    keyId: str = Field(description="The first 16 hex digits of the SHA-256 of the raw public key.")
    value: str = Field(description="Base64 Ed25519 signature over the same canonical bytes.")


class EvidencePack(BaseModel):
    """A point-in-time bundle of what Stairway knows about one entity, sealed."""

    schema_: str = Field(alias="schema")
    generatedAt: str
    entity: EvidenceEntity
    owner: EvidenceOwner | None
    lineage: EvidenceLineage
    riskTier: str | None
    modelCards: list[str]
    scorecards: list[EvidenceScorecard]
    dora: EvidenceDora
    integrity: EvidenceIntegrity
    signature: EvidenceSignature | None = None


RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The sealed pack as JSON, or with format=markdown the same content as a report.",
        "content": {"text/markdown": {"schema": {"type": "string"}}},
    },
    **problems(
        {
            400: "An unknown format: json or markdown.",
            401: "No bearer token, or one Stairway does not accept (see WWW-Authenticate).",
            403: "The caller may not read: it needs the read scope.",
            404: "No such entity in the catalogue.",
            500: "The configured signing key (STAIRWAY_EVIDENCE_KEY) cannot be read.",
        }
    ),
}


def add_evidence_routes(app: FastAPI, config: Config | None = None, environ: Mapping[str, str] = os.environ) -> None:
    """Register the evidence-pack route; `config` gives the DORA profile, `environ` the signing key's variable."""
    profile = (config or Config()).dora_profile

    @app.get(
        "/api/evidence-packs/{kind}/{namespace}/{name}",
        tags=["evidence"],
        response_model=EvidencePack,
        responses=RESPONSES,
    )
    async def evidence_pack(
        request: Request,
        kind: str,
        namespace: str,
        name: str,
        _caller: Reader,
        format: Annotated[
            str, Query(description="json (the default) or markdown", json_schema_extra={"enum": list(FORMATS)})
        ] = "json",
    ) -> Response:
        """An entity's evidence pack: descriptor, owner, lineage, checks with their evidence, exemptions,
        level history and DORA keys, with a SHA-256 digest (and an Ed25519 signature when a key is configured)."""
        if format not in FORMATS:
            return problem(400, f"unknown format {format!r}: json or markdown", "format")
        state = request.app.state
        ref = entity_ref(kind, namespace, name)

        def build() -> dict[str, Any]:
            key = configured_signing_key(environ)
            return sealed_pack(state.engine, state.scorecards, ref, utc_now(), profile, key)

        try:
            pack = await asyncio.to_thread(build)
        except EntityNotFound as error:
            return problem(404, str(error))
        except EvidenceKeyError as error:
            return problem(500, f"the evidence signing key cannot be used: {error}")
        if format == "markdown":
            return Response(render_markdown(pack), media_type=FORMATS["markdown"])
        return JSONResponse(pack)
