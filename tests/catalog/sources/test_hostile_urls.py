"""Hostile input to a url source: targets and placeholders aimed at internal addresses are refused
before any request, and hostile remote files are errors while the rest is read."""

from __future__ import annotations

import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from sqlalchemy.engine import Engine

from catalog.documents import MAX_EXPANDED_NODES
from catalog.processing import LOCATION, PLACEHOLDER, UNREADABLE_FILE, YAML_ERROR, Reading
from catalog.sources.definitions import Schedule, UrlSource
from catalog.sources.status import OK
from catalog.sources.upstream import MAX_ANSWER_BYTES
from tests.catalog.sources.conftest import Refresh
from tests.catalog.sources.test_url import NAME, Site, component, errors, location, refs, source_for
from tests.catalog.sources.test_url import site as site  # the fixture: a real HTTP server on 127.0.0.1


def internal_targets(site: Site) -> list[str]:
    """Addresses inside the network: none is the source's own host (127.0.0.1 on the site's port)."""
    return [
        "http://127.0.0.1/admin",  # the same address on another port (80)
        "http://localhost:8500/v1/kv/?recurse",
        "http://10.0.0.1/catalog-info.yaml",
        "http://192.168.1.1/catalog-info.yaml",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://metadata.google.internal/computeMetadata/v1/",
        f"http://[::1]:{site.port}/ok.yaml",
        f"http://[::ffff:127.0.0.1]:{site.port}/ok.yaml",
        f"http://0x7f000001:{site.port}/ok.yaml",
        f"http://2130706433:{site.port}/ok.yaml",
        f"http://127.0.0.1:{site.port}@169.254.169.254/latest/meta-data/",  # the source's host as user info
        "//169.254.169.254/latest/meta-data/",  # scheme-relative: http, on that host
        "HTTP://169.254.169.254/latest/meta-data/",
        "gopher://127.0.0.1:6379/_INFO",
        "file:///etc/passwd",
    ]


def test_targets_at_internal_addresses_are_refused_without_a_request(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    targets = internal_targets(site)
    site.write("all.yaml", location("root", "./ok.yaml", *(f'"{target}"' for target in targets)))
    site.write("ok.yaml", component("ok"))

    outcome = refresh(source_for(site))

    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    assert outcome.counts.requests == 2  # all.yaml and ok.yaml: nothing else was asked of anyone
    found = errors(engine)
    assert {(where, code) for where, code, _line, _message in found} == {(f"url:{site.url('all.yaml')}", LOCATION)}
    messages = [message for *_rest, message in found]
    assert len(messages) == len(targets) == outcome.summary.errors
    for target in targets:
        (message,) = [message for message in messages if message.startswith(f'Location target "{target}" ')]
        assert message.endswith(f"(allowed: 127.0.0.1:{site.port})") or "is not an http(s) URL" in message


def test_placeholders_at_internal_addresses_are_refused_without_a_request(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    targets = internal_targets(site)
    descriptors = [component(f"c{index}", description=f"{{$text: '{target}'}}") for index, target in enumerate(targets)]
    site.write("catalog-info.yaml", "---\n".join([*descriptors, component("ok")]))

    outcome = refresh(source_for(site, "catalog-info.yaml"))

    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok"]
    assert outcome.counts.requests == 1
    found = errors(engine)
    assert [code for _where, code, _line, _message in found] == [PLACEHOLDER] * len(targets)
    for target in targets:
        (message,) = [message for *_rest, message in found if f"Placeholder $text target {target!r} " in message]
        assert message.startswith('"metadata.description": ')
        assert f"which this source may not read (allowed: 127.0.0.1:{site.port})" in message or (
            "is not an http(s) URL" in message
        )


def laughs(levels: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_hostile_remote_files_are_each_an_error_and_the_rest_is_read(
    engine: Engine, refresh: Refresh, site: Site
) -> None:
    site.write("all.yaml", location("root", "./bomb.yaml", "./deep.yaml", "./big.yaml", "./latin1.yaml", "./ok.yaml"))
    site.write("bomb.yaml", laughs(9))
    site.write("deep.yaml", "[" * 2000 + "]" * 2000 + "\n")
    site.write("big.yaml", component("big", description="x" * 5000))
    (site.root / "latin1.yaml").write_bytes(component("caf\xe9").encode("latin-1"))
    site.write("ok.yaml", component("ok"))

    outcome = refresh(source_for(site), reading=Reading(max_bytes=4096))

    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    found = {where.rsplit("/", 1)[-1]: (code, line, message) for where, code, line, message in errors(engine)}
    assert found == {
        "bomb.yaml": (
            YAML_ERROR,
            1,
            f"Document expands to more than {MAX_EXPANDED_NODES:,} nodes through YAML aliases; "
            "refusing it as an alias bomb",
        ),
        "deep.yaml": (
            YAML_ERROR,
            1,
            "YAML syntax error: while increasing flow level, exceeded maximum nesting depth",
        ),
        "big.yaml": (UNREADABLE_FILE, None, "File is 5,150 bytes, over the limit of 4,096 bytes"),
        "latin1.yaml": (UNREADABLE_FILE, 4, "File is not valid UTF-8: byte 0xe9 at offset 71"),
    }


def test_a_huge_remote_file_is_refused_without_holding_it_all(engine: Engine, refresh: Refresh) -> None:
    base = "https://catalog.example.test"
    chunk = b"#" * (1024 * 1024)

    async def forty_megabytes() -> AsyncIterator[bytes]:  # sent a chunk at a time: the sender holds 1 MB
        for _ in range(40):
            yield chunk

    with respx.mock() as router:
        router.get(f"{base}/all.yaml").mock(
            return_value=httpx.Response(200, text=location("root", "./huge.yaml", "./ok.yaml"))
        )
        router.get(f"{base}/huge.yaml").mock(
            side_effect=lambda _request: httpx.Response(200, content=forty_megabytes())
        )
        router.get(f"{base}/ok.yaml").mock(return_value=httpx.Response(200, text=component("ok")))
        tracemalloc.start()
        try:
            outcome = refresh(UrlSource(name=NAME, url=f"{base}/all.yaml", schedule=Schedule(frequency=None)))
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()

    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    ((where, _code, _line, message),) = errors(engine)
    assert where.endswith("/huge.yaml") and f"the answer is over {MAX_ANSWER_BYTES:,} bytes" in message
    assert peak < MAX_ANSWER_BYTES + 16 * 1024 * 1024  # at most one capped answer, not the 40 MB (and copies)


@pytest.mark.parametrize(
    "hosts",
    [(), ("10.0.0.1",), ("169.254.169.25",), ("254.169.254",), ("169.254.169.254.evil.example",)],
    ids=["none", "another", "a prefix", "a suffix", "a longer name"],
)
def test_only_an_exact_allowed_host_opens_an_internal_address(
    engine: Engine, refresh: Refresh, site: Site, hosts: tuple[str, ...]
) -> None:
    site.write("all.yaml", location("root", "./ok.yaml", "http://169.254.169.254/latest/meta-data/"))
    site.write("ok.yaml", component("ok"))

    outcome = refresh(source_for(site, allowed_hosts=hosts))

    assert outcome.status == OK, outcome.error
    assert refs(engine) == ["component:default/ok", "location:default/root"]
    assert outcome.counts.requests == 2
    ((_where, code, _line, message),) = errors(engine)
    assert code == LOCATION
    assert message.startswith(
        'Location target "http://169.254.169.254/latest/meta-data/" is on 169.254.169.254, '
        "which this source may not read"
    )
