"""The pooled HTTP client's error mapping, against a real HTTP server that misbehaves on cue."""

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from broker_service.http_clients import Downstream, HttpPool
from devkit.net import free_port, serving
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError


async def envelope(request: web.Request) -> web.Response:
    status = int(request.match_info["status"])
    return web.json_response(
        {"error": status >= 400, "message": f"said {status}", "data": {"n": 1}}, status=status
    )


async def busy(_: web.Request) -> web.Response:
    return web.json_response(
        {"error": True, "message": "busy"}, status=503, headers={"Retry-After": "1"}
    )


async def bare(request: web.Request) -> web.Response:
    return web.Response(status=int(request.match_info["status"]), text="oops")


async def slow(_: web.Request) -> web.Response:
    await asyncio.sleep(5)
    return web.json_response({"error": False, "message": "late"})


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/envelope/{status}", envelope)
    app.router.add_post("/bare/{status}", bare)
    app.router.add_post("/slow", slow)
    app.router.add_post("/busy", busy)
    async with serving(app, shutdown_timeout=0.1) as url:
        yield url


@pytest.fixture
async def pool() -> AsyncIterator[HttpPool]:
    p = HttpPool(max_connections=10)
    await p.start()
    yield p
    await p.close()


async def test_a_success_envelope_comes_back_with_its_data(pool: HttpPool, server: str) -> None:
    answer = await Downstream(pool, "auth", server, 2).post("/envelope/202", {})
    assert (answer.status, answer.message, answer.data) == (202, "said 202", {"n": 1})


@pytest.mark.parametrize("status", [400, 401, 422])
async def test_a_downstream_4xx_envelope_keeps_its_status_and_message(
    pool: HttpPool, server: str, status: int
) -> None:
    with pytest.raises(ServiceError) as err:
        await Downstream(pool, "auth", server, 2).post(f"/envelope/{status}", {})
    assert (err.value.status, err.value.message) == (status, f"said {status}")


@pytest.mark.parametrize(("status", "expected"), [(500, 502), (503, 502), (504, 504)])
async def test_a_downstream_5xx_envelope_keeps_its_class_and_names_the_service(
    pool: HttpPool, server: str, status: int, expected: int
) -> None:
    with pytest.raises(ServiceError) as err:
        await Downstream(pool, "mail-service", server, 2).post(f"/envelope/{status}", {})
    assert (err.value.status, err.value.message) == (expected, f"mail-service: said {status}")


async def test_a_busy_downstream_s_503_with_retry_after_stays_503_and_keeps_the_wait(
    pool: HttpPool, server: str
) -> None:
    with pytest.raises(ServiceError) as err:
        await Downstream(pool, "authentication-service", server, 2).post("/busy", {})
    assert (err.value.status, err.value.message) == (503, "authentication-service: busy")
    assert err.value.headers == {"Retry-After": "1"}


@pytest.mark.parametrize("status", [200, 404, 500])
async def test_an_answer_without_envelope_is_502_naming_the_service(
    pool: HttpPool, server: str, status: int
) -> None:
    with pytest.raises(DownstreamUnavailable) as err:
        await Downstream(pool, "mail-service", server, 2).post(f"/bare/{status}", {})
    assert err.value.status == 502
    assert err.value.message.startswith("mail-service is unavailable")


async def test_a_late_downstream_is_504_at_its_deadline(pool: HttpPool, server: str) -> None:
    started = time.monotonic()
    with pytest.raises(DownstreamTimeout) as err:
        await Downstream(pool, "logger-service", server, 0.3).post("/slow", {})
    assert 0.25 < time.monotonic() - started < 1.5
    assert err.value.message == "logger-service did not answer within 0.3 s"


async def test_nothing_listening_is_502_at_once(pool: HttpPool) -> None:
    started = time.monotonic()
    with pytest.raises(DownstreamUnavailable) as err:
        await Downstream(pool, "auth", f"http://127.0.0.1:{free_port()}", 5).post("/x", {})
    assert time.monotonic() - started < 1
    # The caller reads which service; the operator's log reads why and where.
    assert err.value.message == "auth is unavailable"
    assert "refused" in err.value.detail.lower()
    assert "127.0.0.1" in err.value.detail
