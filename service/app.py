"""The FastAPI application: GraphQL at /graphql, health at /healthz and /readyz."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from strawberry.fastapi import GraphQLRouter

from catalog.database import create_engine, migrate
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
        try:
            yield
        finally:
            engine.dispose()

    app = FastAPI(title="Stairway", version="0.1.0", lifespan=lifespan)

    async def context(engine: EngineDep) -> RequestContext:
        return RequestContext(engine)

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

    return app
