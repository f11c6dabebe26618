"""The FastAPI application: GraphQL at /graphql, health at /healthz and /readyz, metrics at /metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy.engine import Engine

from catalog.database import (
    AHEAD,
    BEHIND,
    SchemaAhead,
    create_engine,
    current_revision,
    migrate,
    newest_revision,
    schema_state,
)
from catalog.tables import utc_now
from scorecards.definitions import Scorecard, load_scorecards
from scorecards.facts import FactError, Submission
from service.audit import take_audited_facts
from service.authentication import NOBODY, Authenticator, AuthError, FactsWriter, refuse
from service.delivery_routes import add_delivery_routes
from service.evidence_routes import add_evidence_routes
from service.graphql.context import RequestContext
from service.graphql.http import GraphQLHttpRouter
from service.graphql.schema import build_schema
from service.metrics import exposition
from service.refresher import Refresher
from service.request_body import BodyRefused, LimitBodies, read_json
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
        prepare_schema(engine, settings.migrate_on_start)
        app.state.engine = engine
        app.state.scorecards = load_live_scorecards(settings.scorecard_folders)
        config = settings.config
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0), headers={"User-Agent": USER_AGENT}) as client:
            app.state.authenticator = Authenticator(config.auth, client, engine)
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

    # No Swagger UI or ReDoc pages (they load scripts from a CDN); the document is openapi/openapi.yaml.
    app = FastAPI(title="Stairway", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(LimitBodies, limits={"/graphql": settings.max_body_bytes})
    app.add_middleware(ObserveRequests)
    app.add_exception_handler(AuthError, refuse)  # type: ignore[arg-type]

    async def context(request: Request, engine: EngineDep) -> RequestContext:
        if request.method == "GET" and "query" not in request.query_params:
            caller = NOBODY  # the GraphiQL page itself holds no data; its queries send their own token
        else:
            caller = await request.app.state.authenticator.caller(request.headers.get("authorization"))
        state = request.app.state
        return RequestContext(engine, state.scorecards, settings.config, state.refresher, caller=caller)

    graphql = GraphQLHttpRouter(
        build_schema(introspection=settings.graphiql or settings.config.introspection),
        context_getter=context,
        graphql_ide="graphiql" if settings.graphiql else None,
        subscription_protocols=(),  # the schema has no subscriptions: no WebSocket endpoint either
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
                401: "No bearer token, or one Stairway does not accept (see WWW-Authenticate).",
                403: "The caller may not submit facts: it needs the facts:write scope.",
                404: "No such entity in the catalogue.",
                422: "A submission Stairway refuses (a bad ref, source, fact name or time); `field` names the part.",
                413: "The body is over the size limit.",
                415: "The body is not sent as application/json.",
            }
        ),
        openapi_extra=json_body(FactSubmission, "Facts about one entity, from one source."),
    )
    async def submit_facts(request: Request, engine: EngineDep, caller: FactsWriter) -> JSONResponse:
        """Report facts about an entity: `{entityRef, source, facts: {name: value}, observedAt?}`."""
        try:
            body = await read_json(request, settings.max_body_bytes)
        except BodyRefused as refused:
            return problem(refused.status, refused.message)
        now = utc_now()

        def take() -> Submission:
            with engine.begin() as connection:
                scorecards, profile = request.app.state.scorecards, settings.config.dora_profile
                return take_audited_facts(connection, caller, scorecards, body, now, profile)

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
    add_delivery_routes(app, settings.config)
    add_evidence_routes(app, settings.config)
    return app


def prepare_schema(engine: Engine, migrate_on_start: bool) -> None:
    """Migrate (or, without `migrate_on_start`, check) the schema before serving. A schema a newer
    Stairway migrated is served with a warning: during a rolling upgrade old replicas keep serving."""
    try:
        if migrate_on_start:
            migrate(engine)
            return
        state = schema_state(current_revision(engine))
        if state == BEHIND:
            raise RuntimeError(
                f"the database's schema is at {current_revision(engine) or 'nothing'}, behind this version's "
                f"{newest_revision()}: run `stairway migrate` first"
            )
        if state == AHEAD:
            raise SchemaAhead(current_revision(engine))
    except SchemaAhead as ahead:
        log.warning("%s; serving on it, as a rolling upgrade does", ahead)
    except sa.exc.OperationalError as error:  # /readyz says so until it answers
        log.warning("the database does not answer; the schema is not checked: %s", error)


def load_live_scorecards(folders: tuple[str, ...]) -> list[Scorecard]:
    """The definitions that load; each refused one is logged with what is wrong, and the rest serve."""
    scorecards, problems = load_scorecards(folders)
    for refused in problems:
        log.warning("scorecard definition refused: %s", refused)
    return scorecards
