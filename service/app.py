"""The FastAPI application: GraphQL at /graphql, health at /healthz and /readyz."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import orjson
import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from strawberry.fastapi import GraphQLRouter

from catalog.database import create_engine, migrate
from catalog.tables import utc_now
from scorecards.definitions import Scorecard, load_scorecards
from scorecards.facts import FactError, Submission
from scorecards.results import take_facts
from service.graphql.context import RequestContext
from service.graphql.schema import build_schema
from service.settings import Settings

log = logging.getLogger("stairway")


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
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Stairway", version="0.1.0", lifespan=lifespan)

    async def context(request: Request, engine: EngineDep) -> RequestContext:
        return RequestContext(engine, request.app.state.scorecards, settings.config)

    graphql = GraphQLRouter(
        build_schema(), context_getter=context, graphql_ide="graphiql" if settings.graphiql else None
    )
    app.include_router(graphql, prefix="/graphql")

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"])
    def readyz(engine: EngineDep) -> JSONResponse:
        """The database answers."""
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError as error:
            log.warning("readiness check failed: %s", error)
            return JSONResponse({"status": "unavailable", "reason": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.post("/api/facts", status_code=201, tags=["facts"])
    async def submit_facts(request: Request, engine: EngineDep) -> JSONResponse:
        """Report facts about an entity: `{entityRef, source, facts: {name: value}, observedAt?}`."""
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return _problem(415, "send the facts as JSON with Content-Type: application/json")
        too_big = _problem(413, f"the body is over {settings.max_body_bytes:,} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > settings.max_body_bytes:
            return too_big  # refused before reading it
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > settings.max_body_bytes:
                return too_big
        try:
            body = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            return _problem(400, f"malformed JSON: {error}")
        now = utc_now()

        def take() -> Submission:
            with engine.begin() as connection:
                return take_facts(connection, request.app.state.scorecards, body, now)

        try:
            submission = await asyncio.to_thread(take)
        except FactError as error:
            return _problem(error.status, error.message, error.field)
        receipt = {
            "entityRef": submission.entity_ref,
            "source": submission.source,
            "names": sorted(submission.facts),
            "observedAt": submission.observed_at.isoformat(),
        }
        return JSONResponse(receipt, status_code=201)

    return app


def _problem(status: int, message: str, field: str | None = None) -> JSONResponse:
    body: dict[str, object] = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status)


def load_live_scorecards(folders: tuple[str, ...]) -> list[Scorecard]:
    """The definitions that load; each refused one is logged with what is wrong, and the rest serve."""
    scorecards, problems = load_scorecards(folders)
    for problem in problems:
        log.warning("scorecard definition refused: %s", problem)
    return scorecards
