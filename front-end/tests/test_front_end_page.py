"""The page as served: the broker's address injected as text, every button, strict headers."""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from front_end.app import build_app
from front_end.settings import FrontEndSettings
from pydantic import ValidationError

STATIC = Path(__file__).parents[1] / "src" / "front_end" / "static"
BUTTON_IDS = [
    "brokerBtn",
    "authBrokerBtn",
    "logBtn",
    "mailBtn",
    "logGBtn",
    "logHttpBtn",
    "logRpcBtn",
    "logRabbitBtn",
    "logRefreshBtn",
]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(FrontEndSettings(broker_url="http://broker.example:18080/"))
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://front") as c,
    ):
        yield c


async def test_page_names_the_system_and_carries_every_element_id(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "<title>go-micro-py" in resp.text
    for element_id in [*BUTTON_IDS, "output", "payload", "received", "logList", "logFilter"]:
        assert f'id="{element_id}"' in resp.text, element_id


async def test_broker_url_is_injected_without_its_trailing_slash(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.get("/")
    assert '<meta name="broker-url" content="http://broker.example:18080">' in resp.text


async def test_page_lets_scripts_reach_only_our_origin_and_the_broker(
    client: httpx.AsyncClient,
) -> None:
    csp = (await client.get("/")).headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "connect-src 'self' http://broker.example:18080;" in csp
    assert "unsafe-inline" not in csp


@pytest.mark.parametrize(
    ("path", "kind"), [("/static/app.js", "javascript"), ("/static/style.css", "text/css")]
)
async def test_static_files_are_served(client: httpx.AsyncClient, path: str, kind: str) -> None:
    resp = await client.get(path)
    assert resp.status_code == 200
    assert kind in resp.headers["content-type"]


async def test_unknown_path_is_a_404_envelope(client: httpx.AsyncClient) -> None:
    resp = await client.get("/nope")
    assert resp.status_code == 404
    assert resp.json()["error"] is True


@pytest.mark.parametrize(
    "bad", ["ftp://broker:21", "localhost:8080", 'http://x" onload="y', "http://b/?q=1"]
)
def test_a_broker_url_that_is_not_a_plain_http_address_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="BROKER_URL"):
        FrontEndSettings(broker_url=bad)


@pytest.mark.parametrize("name", ["app.js", "lab.js"])
def test_the_script_never_writes_html(name: str) -> None:
    script = (STATIC / name).read_text()
    assert re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script) is None
    assert "textContent" in script


async def test_the_lab_panel_is_there_only_with_lab_url_and_csp_lets_it_reach_the_lab(
    client: httpx.AsyncClient,
) -> None:
    plain = await client.get("/")
    assert 'id="lab"' not in plain.text
    assert "lab.js" not in plain.text
    assert 'id="traceHint"' in plain.text

    settings = FrontEndSettings(
        broker_url="http://broker.example:18080", lab_url="http://localhost:8086/"
    )
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://front") as lab_client,
    ):
        resp = await lab_client.get("/")
    assert 'id="lab"' in resp.text
    assert '<meta name="lab-url" content="http://localhost:8086">' in resp.text
    assert '<script src="/static/lab.js" defer></script>' in resp.text
    assert (
        "connect-src 'self' http://broker.example:18080 http://localhost:8086;"
        in resp.headers["content-security-policy"]
    )
