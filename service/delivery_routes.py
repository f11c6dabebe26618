"""REST for delivery events: `POST /api/events/deployments` and `POST /api/events/incidents`, one event
or a batch of up to 1,000, idempotent by id. Callers need the facts:write scope; every accepted request
is audited."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine

from catalog.tables import utc_now
from scorecards.delivery import EventError, take_deployments, take_incidents
from service.audit import EventTaker, receipt_json, take_audited_events
from service.authentication import Caller, FactsWriter
from service.config import Config
from service.request_body import BodyRefused, read_json
from service.rest_errors import problem
from service.rest_models import DeploymentBody, IncidentBody, Receipt, json_body, problems

MAX_EVENTS_BYTES = 8 * 1024 * 1024  # a batch of 1,000 deployments with their commits

REFUSALS = problems(
    {
        400: "The body is not JSON.",
        401: "No bearer token, or one Stairway does not accept (see WWW-Authenticate).",
        403: "The caller may not report events: it needs the facts:write scope.",
        404: "An event names an entity that is not in the catalogue; `field` says which.",
        413: "The body is over the size limit, or the batch over 1,000 events.",
        415: "The body is not sent as application/json.",
        422: "An event Stairway refuses (a bad time, status, commit, ...); `field` names it, e.g. [3].finishedAt.",
    }
)


def add_delivery_routes(app: FastAPI, config: Config) -> None:
    """Register the two event routes."""

    @app.post(
        "/api/events/deployments",
        status_code=200,
        tags=["events"],
        response_model=Receipt,
        responses=REFUSALS,
        openapi_extra=json_body(DeploymentBody, "One deployment, or a JSON array of up to 1,000."),
    )
    async def report_deployments(request: Request, caller: FactsWriter) -> JSONResponse:
        """Report deployments: `{id, entityRef, environment?, finishedAt, status, commits? | leadTimeSeconds?,
        version?, rollback?}`, or an array of them. A resend with the same id changes nothing."""
        return await _take(request, caller, take_deployments, "reportDeployments", config)

    @app.post(
        "/api/events/incidents",
        status_code=200,
        tags=["events"],
        response_model=Receipt,
        responses=REFUSALS,
        openapi_extra=json_body(IncidentBody, "One incident, or a JSON array of up to 1,000."),
    )
    async def report_incidents(request: Request, caller: FactsWriter) -> JSONResponse:
        """Report incidents: `{id, entityRef, openedAt, resolvedAt?, deploymentId?}`, or an array of them."""
        return await _take(request, caller, take_incidents, "reportIncidents", config)


async def _take(request: Request, caller: Caller, take: EventTaker, action: str, config: Config) -> JSONResponse:
    try:
        body = await read_json(request, MAX_EVENTS_BYTES)
    except BodyRefused as refused:
        return problem(refused.status, refused.message)
    engine: Engine = request.app.state.engine
    now, scorecards = utc_now(), request.app.state.scorecards
    try:
        receipt = await asyncio.to_thread(
            take_audited_events, engine, caller, take, action, body, now, scorecards, config.dora_profile
        )
    except EventError as error:
        return problem(error.status, error.message, error.field)
    return JSONResponse(receipt_json(receipt))
