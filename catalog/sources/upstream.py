"""Calling a source's upstream over HTTP: retries with capped backoff, rate limits, clear errors.

Every request goes through the one injected `httpx.AsyncClient`. A refresh runs in a worker thread
(its parsing and database writes must not hold up the event loop), so `Upstream` also offers a
blocking face for that thread, which hands each request to the event loop the client lives on.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx

ATTEMPTS = 4  # tries per request for timeouts, connection errors and 5xx
BACKOFF = 0.5  # seconds before the first retry; doubled each time
MAX_BACKOFF = 8.0
MAX_WAIT = 60.0  # the longest a rate limit is waited out; a longer one fails the refresh instead
CONCURRENCY = 8  # requests in flight at once for one source
# The most of one answer held in memory (a descriptor file is refused above 5 MB anyway; a page of a
# Backstage catalogue is a few MB): a larger answer is an error, read no further than this.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
LAST_MODIFIED = "last-modified:"  # marks a stored validator that is a Last-Modified date, not an ETag

T = TypeVar("T")
QueryParams = httpx.QueryParams
Sleep = Callable[[float], Awaitable[None]]


class UpstreamError(Exception):
    """An upstream that did not give what was asked: the message says what and, where it can, why."""

    def __init__(self, message: str, status: int | None = None, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.rate_limited = rate_limited  # the upstream asks to wait longer than a refresh may


class RefreshTimeout(UpstreamError):
    """The source's refresh ran out of its time."""


@dataclass
class RequestCounts:
    """What a refresh asked its upstream: requests sent (retries included), 304s, retries, waits."""

    requests: int = 0
    not_modified: int = 0
    retries: int = 0
    rate_limited: int = 0


@dataclass
class Upstream:
    """One source's view of its upstream for one refresh: credentials, time limit, counts."""

    client: httpx.AsyncClient
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: Mapping[str, str] = field(default_factory=dict)  # sent only to `auth_host`: never to another host
    auth_host: str | None = None  # host[:port], lower-case
    credential: str = "no credential"  # how the credential is configured, for messages: "the token in $GITHUB_TOKEN"
    deadline: float | None = None  # time.monotonic() by which the refresh must be done
    sleep: Sleep = asyncio.sleep
    clock: Callable[[], float] = time.time  # wall clock, for X-RateLimit-Reset
    attempts: int = ATTEMPTS
    counts: RequestCounts = field(default_factory=RequestCounts)
    loop: asyncio.AbstractEventLoop | None = None  # the client's loop, for the blocking face

    async def get(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        etag: str | None = None,
        accept_404: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """GET with retries; `etag` is what `validator` kept of the last answer. A 304 (to a conditional
        request) and, with `accept_404`, a 404 are answers too; any other failure raises UpstreamError."""
        headers = {**self.headers, **(headers or {})}
        if self.auth and urlsplit(url).netloc.lower() == self.auth_host:
            headers.update(self.auth)
        if etag and etag.startswith(LAST_MODIFIED):
            headers["If-Modified-Since"] = etag.removeprefix(LAST_MODIFIED)
        elif etag:
            headers["If-None-Match"] = etag
        attempt = 0
        while True:
            attempt += 1
            self.counts.requests += 1
            try:
                response = await self._bounded_get(url, params, headers)
            except httpx.TimeoutException:
                failure = f"{url}: timed out"
                if attempt >= self.attempts:
                    raise UpstreamError(f"{failure} after {attempt} attempts") from None
                await self._pause(_backoff(attempt))
                continue
            except httpx.TransportError as error:
                if attempt >= self.attempts:
                    raise UpstreamError(f"{url}: cannot connect ({error}) after {attempt} attempts") from None
                await self._pause(_backoff(attempt))
                continue
            status = response.status_code
            if status == 304:
                self.counts.not_modified += 1
                return response
            if status < 300 or (status == 404 and accept_404):
                return response
            wait = self._rate_limit_wait(response)
            if wait is not None:
                self.counts.rate_limited += 1
                if wait > MAX_WAIT or attempt >= self.attempts:
                    raise UpstreamError(
                        f"{url}: rate limited ({status}); the upstream asks to wait {wait:.0f}s, "
                        f"longer than {MAX_WAIT:.0f}s or past {attempt} attempts; try again later",
                        status,
                        rate_limited=True,
                    )
                await self._pause(wait)
                continue
            if status >= 500 and attempt < self.attempts:
                await self._pause(_backoff(attempt))
                continue
            raise UpstreamError(self._refusal(url, response, attempt), status)

    def _timeout(self) -> httpx.Timeout | None:
        if self.deadline is None:
            return None  # the client's own
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise RefreshTimeout("the refresh ran out of time (the source's timeout)")
        return httpx.Timeout(min(remaining, 30.0))

    async def _pause(self, seconds: float) -> None:
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            raise RefreshTimeout(f"the refresh would run out of time (the source's timeout) waiting {seconds:g}s")
        self.counts.retries += 1
        await self.sleep(seconds)

    def _rate_limit_wait(self, response: httpx.Response) -> float | None:
        """Seconds a 429, or GitHub's rate-limit 403, asks to wait; None for any other answer."""
        status = response.status_code
        headers = response.headers
        if status not in (403, 429):
            return None
        retry_after = _retry_after(headers.get("retry-after"), self.clock())
        if retry_after is not None:
            return retry_after
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset", "").isdigit():
            return max(0.0, int(headers["x-ratelimit-reset"]) - self.clock()) + 1.0
        if status == 429 or "rate limit" in response.text[:1000].lower():
            return 60.0  # GitHub's advice for a secondary rate limit that names no time
        return None

    def _refusal(self, url: str, response: httpx.Response, attempt: int) -> str:
        status = response.status_code
        if status == 401:
            return f"{url}: 401 Unauthorized: the upstream refused {self.credential}; check that it is set and valid"
        if status == 403:
            return f"{url}: 403 Forbidden: {self.credential} may not read this; check its scopes or permissions"
        if status == 404:
            return f"{url}: 404 Not Found: check the address, the name and the branch in the source's configuration"
        if status >= 500:
            return f"{url}: the upstream answered {status} after {attempt} attempts"
        if 300 <= status < 400:
            # Not followed: a redirect could lead a token, or a request, to a host nobody allowed.
            target = response.headers.get("location", "elsewhere")
            return f"{url}: redirected ({status}) to {target}; configure that address instead"
        return f"{url}: the upstream answered {status}: {response.text[:200]}"

    # --- the blocking face, for the refresh's worker thread -----------------------------------------

    async def _bounded_get(self, url: str, params: QueryParams | None, headers: Mapping[str, str]) -> httpx.Response:
        """One GET whose body (decompressed) is read only up to MAX_ANSWER_BYTES; UpstreamError past that."""
        request = self.client.build_request("GET", url, params=params, headers=headers, timeout=self._timeout())
        response = await self.client.send(request, stream=True)
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    raise UpstreamError(f"{url}: the answer is over {MAX_ANSWER_BYTES:,} bytes; not read further")
        finally:
            await response.aclose()
        # The body as read (decompressed): the answer no longer claims an encoding or a length.
        kept = [(name, value) for name, value in response.headers.multi_items()
                if name.lower() not in ("content-encoding", "content-length")]  # fmt: skip
        return httpx.Response(response.status_code, headers=kept, content=bytes(body), request=request)

    def fetch(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        etag: str | None = None,
        accept_404: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """`get`, from a worker thread: runs on the client's event loop and waits for the answer."""
        return self._run(self.get(url, params=params, etag=etag, accept_404=accept_404, headers=headers))

    def fetch_all(
        self,
        requests: Sequence[tuple[str, str | None]],
        *,
        accept_404: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> list[httpx.Response | UpstreamError]:
        """Many (url, etag) GETs at once, at most CONCURRENCY in flight; each answer or error in order."""
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(url: str, etag: str | None) -> httpx.Response | UpstreamError:
            async with limit:
                try:
                    return await self.get(url, etag=etag, accept_404=accept_404, headers=headers)
                except UpstreamError as error:
                    if isinstance(error, RefreshTimeout) or error.rate_limited:
                        raise  # the whole refresh stops: no more requests to an upstream that said wait
                    return error

        async def every() -> list[httpx.Response | UpstreamError]:
            tasks = [asyncio.ensure_future(one(url, etag)) for url, etag in requests]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for task in tasks:  # the refresh stops: no more requests go out
                    task.cancel()
                raise

        return self._run(every())

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        assert self.loop is not None, "the blocking face needs the client's event loop"
        return asyncio.run_coroutine_threadsafe(work, self.loop).result()


def validator(response: httpx.Response) -> str | None:
    """What to ask with next time so that an unchanged answer is a 304: its ETag, else its Last-Modified
    (kept marked as such: plain file servers send no ETag)."""
    etag = response.headers.get("etag")
    if etag:
        return etag
    modified = response.headers.get("last-modified")
    return LAST_MODIFIED + modified if modified else None


def _backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th failure: 0.5, 1, 2, ... capped."""
    return float(min(MAX_BACKOFF, BACKOFF * 2 ** (attempt - 1)))


def _retry_after(value: str | None, now: float) -> float | None:
    """A Retry-After header's seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - now)
