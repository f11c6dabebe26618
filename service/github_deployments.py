"""GitHub `deployment_status` webhook events as delivery events: a finished deployment of a repository
is a deployment of each component whose `github.com/project-slug` annotation names that repository.

GitHub says when a deployment finished and which commit it shipped, not when that commit was made,
so these deployments carry no lead time; CI that knows it reports through /api/events/deployments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from catalog.tables import ENTITIES
from scorecards.definitions import Scorecard
from scorecards.delivery import EventError, take_deployments
from scorecards.dora import Profile
from scorecards.results import rescore
from service.audit import receipt_json, record_change
from service.authentication import Caller

WEBHOOK = Caller("webhook:github", frozenset())
FINISHED = {"success": "success", "failure": "failure", "error": "failure"}  # other states are not an end
SLUG = "github.com/project-slug"


def record_deployment_status(
    engine: Engine, event: object, now: datetime, scorecards: Sequence[Scorecard], dora_profile: Profile
) -> dict[str, Any]:
    """Record a `deployment_status` delivery and re-score the components it deployed; the webhook's answer
    (what was recorded, or why nothing)."""
    found = _finished_deployment(event)
    if isinstance(found, str):
        return {"event": "deployment_status", "refreshing": [], "reason": found}
    repository, deployment = found
    with engine.begin() as connection:
        components = components_of(connection, repository)
        if not components:
            reason = f"no component's {SLUG} annotation names {repository}"
            return {"event": "deployment_status", "repository": repository, "refreshing": [], "reason": reason}
        events = [{**deployment, "id": f"{deployment['id']}:{ref}", "entityRef": ref} for ref in components]
        try:
            receipt = take_deployments(connection, events, now)
        except EventError as error:
            return {"event": "deployment_status", "repository": repository, "refreshing": [], "reason": str(error)}
        rescore(connection, scorecards, receipt.entity_refs, now, dora_profile)
        record_change(connection, WEBHOOK, "reportDeployments", repository, None, receipt_json(receipt), now)
    return {"event": "deployment_status", "repository": repository, "refreshing": [], "deployments": components}


def components_of(connection: Connection, repository: str) -> list[str]:
    """The components whose project-slug annotation is `owner/name` (any case, as GitHub treats names)."""
    escaped = repository.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f'%"{SLUG}":"{escaped}"%'  # the stored body is compact JSON
    query = (
        sa.select(ENTITIES.c.ref)
        .where(ENTITIES.c.kind == "component", sa.func.lower(ENTITIES.c.body).like(pattern, escape="\\"))
        .order_by(ENTITIES.c.ref)
    )
    return list(connection.execute(query).scalars())


def _finished_deployment(event: object) -> tuple[str, dict[str, Any]] | str:
    """(repository, the deployment as /api/events/deployments takes it) or why the event records nothing."""
    if not isinstance(event, Mapping):
        return "the delivery is not a JSON object"
    status, deployment, repository = (event.get(key) for key in ("deployment_status", "deployment", "repository"))
    if not (isinstance(status, Mapping) and isinstance(deployment, Mapping) and isinstance(repository, Mapping)):
        return "a deployment_status event needs deployment_status, deployment and repository"
    state = status.get("state")
    if state not in FINISHED:
        return f"the deployment is {state}, not finished: recorded when it succeeds or fails"
    name = repository.get("full_name")
    finished = status.get("updated_at") or status.get("created_at")
    if not isinstance(name, str) or not isinstance(finished, str) or deployment.get("id") is None:
        return "a deployment_status event needs repository.full_name, deployment.id and deployment_status.created_at"
    environment = status.get("environment") or deployment.get("environment") or "production"
    body: dict[str, Any] = {
        "id": f"github:{name}:{deployment['id']}",
        "environment": str(environment).lower(),
        "finishedAt": finished,
        "status": FINISHED[state],
    }
    sha = deployment.get("sha")
    if isinstance(sha, str) and sha:
        body["version"] = sha[:255]
    return name, body
