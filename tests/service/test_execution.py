"""The plain-value fast path gives exactly what graphql-core's general execution gives."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy.engine import Engine
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from catalog.tables import utc_now
from scorecards.definitions import load_scorecards
from scorecards.exemptions import create_exemption
from service.graphql.context import RequestContext
from service.graphql.schema import build_schema
from tests.conftest import EXAMPLES
from tests.service.conftest import report_examples

FAST = build_schema()
GENERAL = build_schema(StrawberryGraphQLCoreExecutionContext)

QUERIES = [
    # Evidence, aliases, __typename, fragments, and fields left out by directives.
    """query($no: Boolean = false) { entities(filter: {kind: ["Component"]}, first: 20) { edges { node { ref
         scorecards { level { ordinal id } floor { id }
           checks { __typename kind: status check { ...Where title } observed
                    message @skip(if: $no) seen: observed @include(if: $no) }
           unlock { check { id } ... on CheckResult { status } } } } } } }
       fragment Where on Check { id level { id title } area { id } }""",
    # A field with its own resolver (exemption) and a list (links) inside: the general path.
    """{ entities(filter: {kind: ["Component"]}, first: 20) { edges { node { scorecards {
         checks { status exemption { reason expiresAt } check { id links { url } rule } } } } } } }""",
    # Definitions alone.
    """{ scorecards { name levels { ordinal id title }
         checks { id title remediation level { id } area { id title } } } }""",
]


@pytest.fixture
def scored(examples: Engine) -> tuple[Engine, list[Any]]:
    scorecards, problems = load_scorecards([str(EXAMPLES.parent / "scorecards")])
    assert problems == []
    now = utc_now()
    with examples.begin() as connection:
        report_examples(connection, scorecards, now)
        create_exemption(
            connection,
            scorecards,
            entity_ref="component:feature-pipeline",
            scorecard="ai-platform-maturity",
            check="data-validated-in-ci",
            reason="validation moves to the new pipeline",
            expires_at=now + timedelta(days=300),
            now=now,
        )
    return examples, scorecards


@pytest.mark.parametrize("query", QUERIES, ids=["evidence", "general-fields", "definitions"])
def test_the_fast_path_answers_as_the_general_one(scored: tuple[Engine, list[Any]], query: str) -> None:
    engine, scorecards = scored

    def run(schema: Any) -> Any:
        result = asyncio.run(schema.execute(query, None, RequestContext(engine, scorecards)))
        assert result.errors is None, result.errors
        return result.data

    fast, general = run(FAST), run(GENERAL)
    assert fast == general
    assert orjson.dumps(fast) == orjson.dumps(general)  # the same keys in the same order, too
