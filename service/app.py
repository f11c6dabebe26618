"""The FastAPI application: GraphQL at /graphql, health at /healthz and /readyz, metrics at /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import orjson
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine
from strawberry.fastapi import GraphQLRouter

from catalog.database import create_engine, migrate
from catalog.tables import utc_now
from scorecards.definitions import Scorecard, load_scorecards
from scorecards.facts import FactError, Submission
from service.graphql.context import RequestContext
from service.graphql.schema import build_schema
from service.metrics import exposition, take_counted_facts
from service.refresher import Refresher
from service.request_body import BodyTooLarge, read_body
from service.request_observer import ObserveRequests
from service.rest_errors import problem
from service.rest_models import FactReceipt, FactSubmission, Health, Unready, json_body, problems
from service.scorecard_cli import evaluate_catalogue
from service.settings import Settings
from service.webhooks import add_webhook_routes

log = logging.getLogger("stairway")
USER_AGENT = "stairway (catalogue sources)"


def get_engine(request: Request) -> Engine:
    """The application's database engine."""
    return request.app.state.engine  # type: ignore[no-any-return]


EngineDep = Annotated[Engine, Depends(get_engine)]


def create_app(settings: Settings) -> FastAPI:
    """A Stairway application for these settings; the engine lives as long as the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        if settings.migrate_on_start:
            migrate(engine)
        app.state.engine = engine
        app.state.scorecards = load_live_scorecards(settings.scorecard_folders)
        config = settings.config
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), headers={"User-Agent": USER_AGENT}) as client:
            app.state.refresher = Refresher(
                engine, config, client, on_change=lambda: evaluate_catalogue(engine, config, app.state.scorecards)
            )
            schedule = None
            if settings.schedule_sources and config.sources:
                schedule = asyncio.create_task(app.state.refresher.run_schedule(), name="source-schedule")
            try:
                yield
            finally:
                if schedule is not None:
                    schedule.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await schedule
                await app.state.refresher.stop()
                engine.dispose()

    app = FastAPI(title="Stairway", version="0.1.0", lifespan=lifespan)
    app.add_middleware(ObserveRequests)

    async def context(request: Request, engine: EngineDep) -> RequestContext:
        return RequestContext(engine, request.app.state.scorecards, settings.config, request.app.state.refresher)

    graphql = GraphQLRouter(
        build_schema(), context_getter=context, graphql_ide="graphiql" if settings.graphiql else None
    )
    app.include_router(graphql, prefix="/graphql", include_in_schema=False)  # its schema: service/schema.graphql

    @app.get("/healthz", tags=["health"], response_model=Health)
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        response_model=Health,
        responses={503: {"model": Unready, "description": "The database does not answer."}},
    )
    def readyz(engine: EngineDep) -> JSONResponse:
        """The database answers."""
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            log.warning("readiness check failed: %s", error)
            return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", tags=["metrics"], response_class=PlainTextResponse)
    def metrics(engine: EngineDep) -> Response:
        """Prometheus metrics: requests, refreshes, evaluations, facts, and the catalogue as stored now."""
        return Response(exposition(engine), media_type=CONTENT_TYPE_LATEST)

    @app.post(
        "/api/facts",
        status_code=201,
        tags=["facts"],
        response_model=FactReceipt,
        responses=problems(
            {
                400: "The body is not JSON.",
                404: "No such entity in the catalogue.",
                422: "A submission Stairway refuses (a bad ref, source, fact name or time); `field` names the part.",
                413: "The body is over the size limit.",
                415: "The body is not sent as application/json.",
            }
        ),
        openapi_extra=json_body(FactSubmission, "Facts about one entity, from one source."),
    )
    async def submit_facts(request: Request, engine: EngineDep) -> JSONResponse:
        """Report facts about an entity: `{entityRef, source, facts: {name: value}, observedAt?}`."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return problem(415, "send the facts as JSON with Content-Type: application/json")
        try:
            data = await read_body(request, settings.max_body_bytes)
        except BodyTooLarge as error:
            return problem(413, error.message)
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            return problem(400, f"malformed JSON: {error}")
        now = utc_now()

        def take() -> Submission:
            with engine.begin() as connection:
                return take_counted_facts(connection, request.app.state.scorecards, body, now)

        try:
            submission = await asyncio.to_thread(take)
        except FactError as error:
            return problem(error.status, error.message, error.field)
        receipt = {
            "entityRef": submission.entity_ref,
            "source": submission.source,
            "names": sorted(submission.facts),
            "observedAt": submission.observed_at.isoformat(),
        }
        return JSONResponse(receipt, status_code=201)

    add_webhook_routes(app, settings.config)
    return app


def load_live_scorecards(folders: tuple[str, ...]) -> list[Scorecard]:
    """The definitions that load; each refused one is logged with what is wrong, and the rest serve."""
    scorecards, problems = load_scorecards(folders)
    for refused in problems:
        log.warning("scorecard definition refused: %s", refused)
    return scorecards
