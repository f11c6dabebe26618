"""Calling an upstream: which failures are retried, how long rate limits are waited out, what each
refusal says. Pauses are recorded, never slept."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Sequence

import httpx
import pytest
import respx

from catalog.sources.upstream import CONCURRENCY, MAX_WAIT, Upstream, UpstreamError
from tests.catalog.sources.conftest import Waits

URL = "https://api.example.test/things"
NOW = 1_800_000_000.0


def get(
    answers: Sequence[httpx.Response | Exception], waits: Waits, **options: object
) -> httpx.Response | UpstreamError:
    """GET URL once through an Upstream whose upstream answers these, in turn; the answer or the error."""

    async def main() -> httpx.Response | UpstreamError:
        async with httpx.AsyncClient() as client:
            upstream = Upstream(client, sleep=waits, clock=lambda: NOW, credential="the token in $API_TOKEN")
            try:
                return await upstream.get(URL, **options)  # type: ignore[arg-type]
            except UpstreamError as error:
                return error

    with respx.mock() as router:
        router.get(URL).mock(side_effect=list(answers))
        return asyncio.run(main())


def test_timeouts_connection_errors_and_5xx_are_retried_with_capped_backoff(waits: Waits) -> None:
    answers = [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.Response(502), httpx.Response(200)]
    answer = get(answers, waits)
    assert isinstance(answer, httpx.Response) and answer.status_code == 200
    assert waits == [0.5, 1.0, 2.0]


def test_the_last_failure_is_reported_after_four_attempts(waits: Waits) -> None:
    error = get([httpx.Response(503)] * 4, waits)
    assert isinstance(error, UpstreamError) and error.status == 503
    assert error.message == f"{URL}: the upstream answered 503 after 4 attempts"


def test_a_timeout_every_time_says_so(waits: Waits) -> None:
    error = get([httpx.ReadTimeout("slow")] * 4, waits)
    assert isinstance(error, UpstreamError) and error.message == f"{URL}: timed out after 4 attempts"


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (email.utils.formatdate(NOW + 12, usegmt=True), 12.0)],
    ids=["seconds", "http-date"],
)
def test_429_waits_for_retry_after(waits: Waits, header: str, expected: float) -> None:
    answer = get([httpx.Response(429, headers={"Retry-After": header}), httpx.Response(200)], waits)
    assert isinstance(answer, httpx.Response) and answer.status_code == 200
    assert waits == [pytest.approx(expected, abs=1.0)]


def test_a_rate_limit_longer_than_the_longest_wait_fails_at_once(waits: Waits) -> None:
    error = get([httpx.Response(429, headers={"Retry-After": str(int(MAX_WAIT) + 600)})], waits)
    assert isinstance(error, UpstreamError) and error.status == 429
    assert "rate limited" in error.message and "try again later" in error.message
    assert waits == []  # no blind retry


def test_githubs_rate_limit_403_waits_for_the_reset(waits: Waits) -> None:
    limited = httpx.Response(403, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(NOW) + 20)})
    answer = get([limited, httpx.Response(200)], waits)
    assert isinstance(answer, httpx.Response) and waits == [21.0]  # the reset, and a second to be sure


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "401 Unauthorized: the upstream refused the token in $API_TOKEN"),
        (403, "403 Forbidden: the token in $API_TOKEN may not read this"),
        (404, "404 Not Found: check the address"),
        (422, "the upstream answered 422"),
    ],
)
def test_refusals_are_not_retried_and_say_what_is_wrong(waits: Waits, status: int, says: str) -> None:
    error = get([httpx.Response(status, text="nope")], waits)
    assert isinstance(error, UpstreamError) and error.status == status and says in error.message
    assert waits == []


def test_a_redirect_is_not_followed(waits: Waits) -> None:
    moved = httpx.Response(301, headers={"Location": "http://169.254.169.254/latest/meta-data"})
    error = get([moved], waits)
    assert isinstance(error, UpstreamError) and "redirected (301) to http://169.254.169.254" in error.message


def test_a_404_can_be_an_answer_and_an_etag_is_sent_as_if_none_match(waits: Waits) -> None:
    async def main() -> tuple[int, int, str | None]:
        async with httpx.AsyncClient() as client:
            upstream = Upstream(client, sleep=waits)
            missing = await upstream.get(URL, accept_404=True)
            cached = await upstream.get(URL, etag='"v1"')
            return missing.status_code, cached.status_code, upstream.counts.not_modified

    with respx.mock() as router:
        route = router.get(URL).mock(side_effect=[httpx.Response(404), httpx.Response(304)])
        assert asyncio.run(main()) == (404, 304, 1)
    assert route.calls.last.request.headers["If-None-Match"] == '"v1"'


def test_a_long_rate_limit_stops_the_requests_still_queued(waits: Waits) -> None:
    urls = [f"{URL}/{number}" for number in range(100)]
    asked: list[str] = []

    async def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        await asyncio.sleep(0)  # the network: the answer comes in a later turn of the loop, not at once
        if request.url.path.endswith("/0"):
            return httpx.Response(429, headers={"Retry-After": str(int(MAX_WAIT) + 600)})
        return httpx.Response(200)

    async def main() -> UpstreamError | None:
        async with httpx.AsyncClient() as client:
            upstream = Upstream(client, sleep=waits, clock=lambda: NOW, loop=asyncio.get_running_loop())
            try:
                await asyncio.to_thread(upstream.fetch_all, [(url, None) for url in urls])
            except UpstreamError as error:
                # Let whatever is still scheduled run to its end before counting what went out.
                others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
                await asyncio.gather(*others, return_exceptions=True)
                return error
        return None

    with respx.mock() as router:
        router.get(url__startswith=URL).mock(side_effect=answer)
        error = asyncio.run(main())
    assert error is not None and error.rate_limited
    assert len(asked) <= 2 * CONCURRENCY  # the first requests in flight, not the 100 queued
