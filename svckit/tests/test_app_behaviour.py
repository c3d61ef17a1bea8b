"""The shared app answers bad input with the envelope and a message that names the problem."""

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry import propagate, trace
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel
from svckit import metrics
from svckit.app import create_app
from svckit.errors import DownstreamTimeout
from svckit.readiness import Readiness
from svckit.tracing import Mode, client_span, configure_tracing, current_ids, mode


class Entry(BaseModel):
    name: str
    data: str


def make_app() -> httpx.AsyncClient:
    readiness = Readiness(timeout=0.2)

    async def fine() -> None:
        return None

    async def stuck() -> None:
        await asyncio.sleep(5)

    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connection refused (amqp://guest:***@10.1.2.3:5672/)")

    readiness.add("store", fine)
    readiness.add("queue", stuck)
    readiness.add("rabbitmq", refused)
    app = create_app("test", readiness=readiness)

    @app.post("/log", status_code=202)
    async def log(entry: Entry) -> dict[str, str]:
        return {"message": entry.name}

    @app.get("/slow")
    async def slow() -> None:
        raise DownstreamTimeout("logger-service", 2)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/downstream")
    async def downstream() -> dict[str, object]:
        """What a handler's calls carry downstream, and the ids its log lines carry."""
        http: dict[str, str] = {}
        propagate.inject(http)  # as the HTTP and gRPC instrumentation packages do
        rpc: dict[str, str] = {}
        with client_span("RPCServer/LogInfo", {}, rpc):
            pass
        return {
            "http": http["traceparent"],
            "rpc": rpc["traceparent"],
            "log": current_ids(),
            "recording": trace.get_current_span().is_recording(),
        }

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with make_app() as c:
        yield c


async def test_ping_answers_a_dot_for_get_and_head(client: httpx.AsyncClient) -> None:
    r = await client.get("/ping")
    assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (
        200,
        ".",
        "text/plain",
    )
    assert (await client.head("/ping")).status_code == 200


async def test_malformed_json_is_400_with_envelope(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/log", content=b'{"name": ', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    body = r.json()
    assert body["error"] is True
    assert body["message"].startswith("malformed JSON")
    assert "data" not in body


async def test_body_that_is_not_an_object_is_400(client: httpx.AsyncClient) -> None:
    r = await client.post("/log", json=[1, 2])
    assert r.status_code == 400
    assert r.json()["message"] == "the body must be a JSON object"


async def test_wrong_type_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/log", json={"name": 5, "data": "x"})
    assert r.status_code == 400
    assert r.json()["message"].startswith("name: ")


async def test_missing_field_names_the_field(client: httpx.AsyncClient) -> None:
    r = await client.post("/log", json={"name": "x"})
    assert r.status_code == 400
    assert r.json()["message"] == "data: Field required"


async def test_body_over_one_mib_is_413(client: httpx.AsyncClient) -> None:
    big = b'{"name":"x","data":"' + b"a" * (1024 * 1024) + b'"}'
    r = await client.post("/log", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"] is True


async def test_downstream_timeout_is_504_naming_it(client: httpx.AsyncClient) -> None:
    r = await client.get("/slow")
    assert r.status_code == 504
    assert r.json() == {"error": True, "message": "logger-service did not answer within 2 s"}


async def test_unexpected_error_is_500_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom")
    assert r.status_code == 500
    assert r.json() == {"error": True, "message": "internal error"}


async def test_ready_names_the_dependency_that_fails_and_nothing_internal(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "svckit.readiness"):
        r = await client.get("/ready")
        again = await client.get("/ready")
    assert r.status_code == again.status_code == 503
    body = r.json()
    assert body["data"] == {
        "store": "ok",
        "queue": "no answer within 0.2 s",
        "rabbitmq": "unavailable",
    }
    assert "queue" in body["message"]
    assert "rabbitmq" in body["message"]
    assert "10.1.2.3" not in r.text
    # The detail is the operator's, logged once per change of state, not once per probe.
    logged = [rec.getMessage() for rec in caplog.records]
    assert len(logged) == 2
    assert any("10.1.2.3" in line for line in logged)


async def test_a_method_not_served_is_405_listing_every_method_served(
    client: httpx.AsyncClient,
) -> None:
    r = await client.options("/ping")
    assert (r.status_code, r.headers["allow"]) == (405, "GET, HEAD")
    assert r.json() == {"error": True, "message": "Method Not Allowed"}


@pytest.fixture(scope="module")
def tracing() -> None:
    # The process's tracer provider, as `serve.run` sets it (no endpoint: ids, no export).
    configure_tracing("svckit-tests")


@pytest.mark.usefixtures("tracing")
async def test_every_answer_names_its_trace_and_an_incoming_one_is_continued(
    client: httpx.AsyncClient,
) -> None:
    fresh = await client.post("/log", json={"name": "n", "data": "d"})
    assert re.fullmatch("[0-9a-f]{32}", fresh.headers["x-trace-id"])
    incoming = "4bf92f3577b34da6a3ce929d0e0e4736"
    r = await client.post(
        "/log",
        json={"name": "n", "data": "d"},
        headers={"traceparent": f"00-{incoming}-00f067aa0ba902b7-01"},
    )
    assert r.headers["x-trace-id"] == incoming


@pytest.mark.usefixtures("tracing")
@pytest.mark.parametrize("incoming", [None, "4bf92f3577b34da6a3ce929d0e0e4736"])
async def test_without_spans_the_ids_still_reach_every_log_line_and_every_call(
    client: httpx.AsyncClient, incoming: str | None
) -> None:
    assert mode() is Mode.IDS  # no exporter: no span objects, ids only
    caller_span = "00f067aa0ba902b7"
    headers = {"traceparent": f"00-{incoming}-{caller_span}-01"} if incoming else {}
    r = await client.get("/downstream", headers=headers)
    trace_id = r.headers["x-trace-id"]
    assert trace_id == (incoming or trace_id)
    seen = r.json()
    assert seen["recording"] is False
    log_trace, log_span = seen["log"]
    assert log_trace == trace_id
    for hop in ("http", "rpc"):
        version, hop_trace, parent, flags = seen[hop].split("-")
        # Our trace, under a span of ours (not the caller's), not sampled (nothing records).
        assert (version, hop_trace, flags) == ("00", trace_id, "00")
        assert re.fullmatch("[0-9a-f]{16}", parent)
        assert parent != caller_span
    assert seen["http"].split("-")[2] == log_span  # the server's own span id
    assert seen["rpc"].split("-")[2] != log_span  # the call's span, a child


async def test_metrics_count_requests_by_route_template_and_status(
    client: httpx.AsyncClient,
) -> None:
    def answered(route: str, status: str) -> float:
        value = REGISTRY.get_sample_value(
            "http_server_requests_total",
            {"service": metrics.service(), "method": "POST", "route": route, "status": status},
        )
        return value or 0.0

    before = answered("/log", "202"), answered("/log", "400")
    await client.post("/log", json={"name": "n", "data": "d"})
    await client.post("/log", content=b"{")
    assert (answered("/log", "202"), answered("/log", "400")) == (before[0] + 1, before[1] + 1)
    exposed = (await client.get("/metrics")).text
    families = {f.name for f in text_string_to_metric_families(exposed)}
    assert {"http_server_requests", "http_server_request_duration_seconds"} <= families


async def test_openapi_documents_400_envelope_not_422(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    log_post = schema["paths"]["/log"]["post"]["responses"]
    assert "422" not in log_post
    assert log_post["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/Envelope")
    assert list(schema["paths"]["/ping"]) == ["get"]


async def test_body_is_json_whatever_the_content_type(client: httpx.AsyncClient) -> None:
    # `curl -d` labels the body as a form, as the Go original's users do.
    r = await client.post(
        "/log",
        content=b'{"name":"event","data":"x"}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert (r.status_code, r.json()) == (202, {"message": "event"})
