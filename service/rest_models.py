"""The shapes of the REST routes' bodies, for the OpenAPI document (openapi/openapi.yaml).

The routes read their bodies themselves (size limit first, then JSON, then Stairway's own checks,
each with its own message), so these models describe; they do not parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Problem(BaseModel):
    """What every refused REST request gets back."""

    error: str = Field(description="What is wrong, in words.")
    field: str | None = Field(default=None, description="Where: the field of the body at fault, when there is one.")


class Health(BaseModel):
    status: Literal["ok"]


class Unready(BaseModel):
    status: Literal["unavailable"]
    reason: str


class FactSubmission(BaseModel):
    """Facts about one entity, from one source (e.g. a CI job)."""

    model_config = ConfigDict(extra="forbid")

    entityRef: str = Field(description="The entity, e.g. component:default/payments-api.")
    source: str = Field(pattern=r"^[A-Za-z0-9_-]{1,63}$", description="Who reports them, e.g. ci.")
    facts: dict[str, Any] = Field(min_length=1, description="Fact names to values.")
    observedAt: datetime | None = Field(default=None, description="When they were true (default: now).")


class FactReceipt(BaseModel):
    entityRef: str
    source: str
    names: list[str] = Field(description="The names of the facts taken.")
    observedAt: datetime


class Commit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sha: str = Field(pattern=r"^[0-9a-fA-F]{7,64}$")
    committedAt: datetime


class DeploymentBody(BaseModel):
    """A deployment of an entity, as a CI/CD system reports it; idempotent by `id`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=255, description="The reporter's id: a resend with it changes nothing.")
    entityRef: str = Field(description="The component deployed, e.g. component:default/payments-api.")
    environment: str = Field(default="production", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    finishedAt: datetime
    status: Literal["success", "failure"]
    commits: list[Commit] | None = Field(default=None, description="What it shipped: lead times from these.")
    leadTimeSeconds: float | None = Field(default=None, ge=0, description="Instead of commits.")
    version: str | None = Field(default=None, max_length=255)
    rollback: bool = False


class IncidentBody(BaseModel):
    """An incident on an entity; `deploymentId` links it to the deployment that caused it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=255)
    entityRef: str
    openedAt: datetime
    resolvedAt: datetime | None = None
    deploymentId: str | None = None


class Receipt(BaseModel):
    """What a batch of events did: each event created, updated (a changed resend) or left unchanged."""

    received: int
    created: int
    updated: int
    unchanged: int


class WebhookAnswer(BaseModel):
    """What a delivery set going: the sources refreshing (in the background), or why none."""

    event: str
    repository: str | None = None
    refreshing: list[str]
    deployments: list[str] | None = Field(default=None, description="The components a deployment was recorded for.")
    reason: str | None = None


def problems(described: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """`responses=` entries for refusals, each status with its meaning and a Problem body."""
    return {status: {"model": Problem, "description": text} for status, text in described.items()}


def json_body(model: type[BaseModel], description: str) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads its JSON body itself: the body's schema, required."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }
