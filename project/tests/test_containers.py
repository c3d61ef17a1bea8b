"""The system as its users run it: `make up_build` on a real Docker Engine, here in the offline
lab (project/lab/: the same compose file and Dockerfiles, with base images and stand-ins built
from Debian's packages and PyPI, as no registry answers).

One session-scoped lab: dockerd is started when none answers, the lab's images are built
(twice: the second build is the warm rebuild), the system comes up with `make lab-up`, and
every container must be healthy before the first test. The tests then act through the
published doors (the proxy on 8080, the page on 8082, the catcher on 8025), kill and restart
containers, and the last one takes it all down. The figures go to docs/containers/report.md.

No Docker Engine and none can be started (a laptop without one): skipped, saying why. In CI
(CI=true) that is a failure.
"""

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.browser import BUTTONS, chromium, click_every_button
from devkit.docker import DOCKER, docker, run
from devkit.wait import await_for, wait_for
from playwright.async_api import Browser, Page
from pymongo import AsyncMongoClient

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(1500)]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "project"
LAB_FILE = PROJECT / "lab" / ".build" / "docker-compose.yml"
IMAGES_JSON = PROJECT / "lab" / ".build" / "images.json"
REPORT = ROOT / "docs" / "containers" / "report.md"
PROJECT_NAME = "go-micro-py"
# docker-compose 1.29 names replica n <project>_<service>_<n>.
SEP = "_"
PROXY = "http://127.0.0.1:8080"
PAGE = "http://127.0.0.1:8082"
CATCHER = "http://127.0.0.1:8025"
MONGO_URL = "mongodb://admin:password@127.0.0.1:27017/?authSource=admin&directConnection=true"


def make(target: str, timeout: float = 900) -> float:
    """Runs `make -C project <target>`; the seconds it took."""
    started = time.monotonic()
    run(["make", "--no-print-directory", "-C", str(PROJECT), target], timeout=timeout)
    return round(time.monotonic() - started, 1)


def project_containers(all_states: bool = True) -> list[str]:
    args = ["ps", "--quiet", "--filter", f"label=com.docker.compose.project={PROJECT_NAME}"]
    return docker(*args, *(["--all"] if all_states else [])).split()


def container(service: str, n: int = 1) -> str:
    return f"{PROJECT_NAME}{SEP}{service}{SEP}{n}"


def inspect(name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(docker("inspect", name))
    return found[0]


def health(name: str) -> str:
    state = inspect(name)["State"]
    return str(state.get("Health", {}).get("Status", state["Status"]))


@dataclass
class Lab:
    figures: dict[str, Any] = field(default_factory=dict)
    results: list[str] = field(default_factory=list)


def wait_all_healthy(timeout: float) -> None:
    def healthy() -> bool:
        names = project_containers()
        return bool(names) and all(health(n) == "healthy" for n in names)

    try:
        wait_for(healthy, timeout=timeout, interval=1.0, what="every container healthy")
    except Exception:
        states = {inspect(n)["Name"]: health(n) for n in project_containers()}
        pytest.fail(f"not every container became healthy: {states}")


@pytest.fixture(scope="session")
def lab(docker_engine: None) -> Iterator[Lab]:
    """The lab built and up, every container healthy; taken down (and reported) at the end."""
    lab = Lab()
    make("lab-down", timeout=180)
    first = make("lab-images", timeout=900)
    built = json.loads(IMAGES_JSON.read_text())
    lab.figures["images_first"] = (first, built["base_rebuilt"])
    lab.figures["images_warm"] = make("lab-images", timeout=300)
    lab.figures["sizes_mb"] = json.loads(IMAGES_JSON.read_text())["sizes_mb"]
    # `make lab-up` is `make up_build`: down, build every service image, up; then health.
    started = time.monotonic()
    make("lab-up", timeout=900)
    wait_all_healthy(timeout=300)
    lab.figures["up_build_to_healthy"] = round(time.monotonic() - started, 1)
    lab.figures["service_sizes_mb"] = {
        image: round(int(docker("image", "inspect", "--format", "{{.Size}}", image)) / 1e6, 1)
        for image in sorted({inspect(n)["Config"]["Image"] for n in project_containers()})
        if image.startswith("go-micro-py/")
    }
    try:
        yield lab
    finally:
        make("lab-down", timeout=180)
        write_report(lab)


def write_report(lab: Lab) -> None:
    f = lab.figures
    if "images_first" not in f:
        return
    first, cold = f["images_first"]
    lines = [
        "# The containers, measured",
        "",
        "Written by `project/tests/test_containers.py` (part of `make -C project test`) from its",
        "last run in the offline lab (project/lab/), on this machine's Docker Engine.",
        "",
        "| what | seconds |",
        "| --- | --- |",
        f"| `make lab-images`, {'cold (base image built)' if cold else 'base image reused'}"
        f" | {first} |",
        f"| `make lab-images` again (warm rebuild) | {f['images_warm']} |",
        "| `make lab-up` (`up_build`: down, build the six service images, up)"
        f" until every container is healthy | {f.get('up_build_to_healthy', '-')} |",
        "",
        "| image | MB |",
        "| --- | --- |",
        *(
            f"| `{i}` | {s} |"
            for i, s in {**f["sizes_mb"], **f.get("service_sizes_mb", {})}.items()
        ),
        "",
        "Faults:",
        "",
        *(f"- {r}" for r in lab.results),
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="session")
async def mongo_logs() -> AsyncIterator[Any]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(MONGO_URL, timeoutMS=10_000)
    try:
        yield client["logs"]["logs"]
    finally:
        await client.close()


# --- through the doors a user uses ------------------------------------------------------------


async def test_the_readmes_curl_examples_answer_through_the_proxy(
    lab: Lab, http: httpx.AsyncClient
) -> None:
    # As `curl -d` sends them: a form content type, a JSON body.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    hit = await http.post(PROXY + "/")
    assert (hit.status_code, hit.json()) == (200, {"error": False, "message": "Hit the broker"})
    auth = '{"email":"admin@example.com","password":"verysecret"}'
    calls = [
        ("/handle", '{"action":"auth","auth":' + auth + "}", "Authenticated!"),
        ("/handle", '{"action":"log","log":{"name":"event","data":"Some kind of data"}}',
         "Processed payload via RPC:event"),
        ("/log-grpc", '{"action":"log","log":{"name":"event","data":"Some kind of gRPC data"}}',
         "logged"),
        ("/log-rabbit", '{"log":{"name":"event","data":"over RabbitMQ"},"level":"WARNING"}',
         "logged via RabbitMQ"),
    ]  # fmt: skip
    for path, body, message in calls:
        resp = await http.post(PROXY + path, content=body, headers=form)
        assert resp.status_code == 202, (path, resp.text)
        assert resp.json()["message"] == message
    assert (await http.post(PROXY + "/log-http", content='{"log":{"name":"event","data":"h"}}',
                            headers=form)).status_code == 202  # fmt: skip
    assert (await http.post(PROXY + "/log-rpc", content='{"log":{"name":"event","data":"r"}}',
                            headers=form)).status_code == 202  # fmt: skip
    logs = await http.get(PROXY + "/logs", params={"name": "event", "limit": "5"})
    assert logs.status_code == 200
    ready = await http.get(PROXY + "/ready")
    assert ready.status_code == 200, ready.text


async def test_mail_sent_through_the_proxy_shows_in_the_catchers_api(
    lab: Lab, http: httpx.AsyncClient
) -> None:
    subject = f"containers {uuid.uuid4().hex[:8]}"
    mail = {"from": "me@example.com", "to": "you@there.com", "subject": subject, "message": "Hi"}
    resp = await http.post(PROXY + "/handle", json={"action": "mail", "mail": mail})
    assert resp.status_code == 202, resp.text

    async def caught() -> bool:
        items = (await http.get(CATCHER + "/api/v2/messages")).json()["items"]
        return any(m["Content"]["Headers"]["Subject"] == [subject] for m in items)

    await await_for(caught, timeout=30, what=f"{subject!r} in the catcher on 8025")


@pytest.fixture
async def page(lab: Lab) -> AsyncIterator[Page]:
    async with chromium() as browser:
        yield await opened(browser)


async def opened(browser: Browser) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await page.goto(PAGE + "/")
    return page


async def test_the_browser_clicks_every_button_against_the_containers(
    page: Page, mongo_logs: Any, http: httpx.AsyncClient
) -> None:
    await click_every_button(page)
    for _, data, _ in BUTTONS.values():
        if data is not None:

            async def stored(data: str = data) -> bool:
                return bool(await mongo_logs.count_documents({"name": "event", "data": data}) > 0)

            await await_for(stored, timeout=30, what=f"{data!r} in the lab's MongoDB")

    async def mailed() -> bool:
        items = (await http.get(CATCHER + "/api/v2/messages")).json()["items"]
        return any(m["Content"]["Headers"]["Subject"] == ["Test email"] for m in items)

    await await_for(mailed, timeout=30, what="the page's mail in the catcher")


# --- faults -----------------------------------------------------------------------------------


async def steady_stream(
    http: httpx.AsyncClient, stop: asyncio.Event, outcomes: list[int], interval: float = 0.02
) -> None:
    """One request after another through the proxy until told to stop; each one's status."""
    while not stop.is_set():
        try:
            outcomes.append((await http.post(PROXY + "/", timeout=5)).status_code)
        except httpx.HTTPError:
            outcomes.append(0)
        await asyncio.sleep(interval)


def started_at(name: str) -> str:
    return str(inspect(name)["State"]["StartedAt"])


async def test_a_killed_broker_replica_costs_at_most_one_request_and_comes_back(
    lab: Lab, http: httpx.AsyncClient
) -> None:
    victim = container("broker-service", 2)
    before = started_at(victim)
    stop, outcomes = asyncio.Event(), list[int]()
    stream = asyncio.create_task(steady_stream(http, stop, outcomes))
    await asyncio.sleep(2)
    # A crash: SIGKILL of the replica's process from the host. (`docker kill` would count as
    # a manual stop, which Docker's restart policy leaves alone, so `docker kill` never proves
    # the policy.)
    os.kill(inspect(victim)["State"]["Pid"], signal.SIGKILL)

    async def back() -> bool:
        return started_at(victim) != before and health(victim) == "healthy"

    try:
        await await_for(back, timeout=90, interval=0.5, what=f"{victim} restarted and healthy")
        await asyncio.sleep(2)  # and traffic reaches it again
    finally:
        stop.set()
        await stream
    failed = sum(1 for s in outcomes if s != 200)
    restarts = inspect(victim)["RestartCount"]
    lab.results.append(
        f"SIGKILL of one of 3 broker replicas under a steady stream: {failed} of "
        f"{len(outcomes)} requests failed; the replica restarted by its policy "
        f"(restart count {restarts}) and was healthy again."
    )
    assert failed <= 1, f"{failed} of {len(outcomes)} failed"
    assert len(outcomes) > 50


async def test_a_restarted_logger_and_a_stopped_listener_lose_no_event_nor_store_one_twice(
    lab: Lab, http: httpx.AsyncClient, mongo_logs: Any
) -> None:
    run_id = uuid.uuid4().hex[:8]
    accepted: list[str] = []
    refused = 0

    async def send(n: int) -> None:
        nonlocal refused
        data = f"containers {run_id} {n}"
        try:
            resp = await http.post(
                PROXY + "/log-rabbit", json={"log": {"name": "event", "data": data}}, timeout=5
            )
        except httpx.HTTPError:
            refused += 1
            return
        if resp.status_code == 202:
            accepted.append(data)
        else:
            refused += 1

    listeners = sorted(
        inspect(c)["Name"].lstrip("/")
        for c in project_containers()
        if "listener-service" in inspect(c)["Name"]
    )
    n = 0

    async def send_for(seconds: float) -> None:
        nonlocal n
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            await send(n)
            n += 1
            await asyncio.sleep(0.05)

    await send_for(2)
    restart = asyncio.create_task(asyncio.to_thread(docker, "restart", container("logger-service")))
    await send_for(5)
    await restart
    await asyncio.to_thread(docker, "stop", *listeners)
    await send_for(10)
    await asyncio.to_thread(docker, "start", *listeners)
    await send_for(2)

    pattern = {"name": "event", "data": {"$regex": f"^containers {run_id} "}}

    async def all_stored() -> bool:
        return bool(await mongo_logs.count_documents(pattern) >= len(accepted))

    await await_for(all_stored, timeout=120, interval=1.0, what="every accepted event stored")
    counts: dict[str, int] = {}
    async for doc in mongo_logs.find(pattern, {"data": 1}):
        counts[doc["data"]] = counts.get(doc["data"], 0) + 1
    missing = [d for d in accepted if d not in counts]
    twice = {d: c for d, c in counts.items() if c > 1}
    lab.results.append(
        f"`docker restart` of the logger and `docker stop` of both listener replicas for 10 s "
        f"while /log-rabbit events flowed: {len(accepted)} accepted, {refused} refused, "
        f"{len(accepted) - len(missing)} stored, {len(twice)} stored twice."
    )
    assert not missing, f"{len(missing)} accepted events never stored: {missing[:5]}"
    assert not twice, twice


def test_every_container_runs_as_non_root_and_passes_its_images_own_health_check(
    lab: Lab,
) -> None:
    wait_all_healthy(timeout=120)  # the faults above are over
    for cid in project_containers():
        info = inspect(cid)
        name = info["Name"].lstrip("/")
        image = inspect(info["Image"])["Config"]
        assert image.get("User") not in (None, "", "0", "root"), f"{name}: runs as root"
        uid = docker("exec", cid, "python3", "-c", "import os; print(os.getuid())", check=False)
        if uid:  # every image of ours has Python except caddy/prometheus/postgres/rabbitmq
            assert uid != "0", name
        test = image.get("Healthcheck", {}).get("Test")
        assert test, f"{name}: the image has no health check of its own"
        assert test[0] == "CMD", name
        result = run([DOCKER, "exec", cid, *test[1:]], timeout=30, check=False)
        assert result.returncode == 0, f"{name}: {test[1:]}: {result.stdout}{result.stderr}"
        assert health(cid) == "healthy", name


def test_lab_down_leaves_no_container_network_or_anonymous_volume(lab: Lab) -> None:
    volumes_before = set(docker("volume", "ls", "--quiet").split())
    containers = project_containers()
    anonymous = {
        m["Name"]
        for c in containers
        for m in inspect(c)["Mounts"]
        if m["Type"] == "volume" and len(m["Name"]) == 64
    }
    seconds = make("lab-down", timeout=180)
    label = f"label=com.docker.compose.project={PROJECT_NAME}"
    assert project_containers() == []
    assert docker("network", "ls", "--quiet", "--filter", label) == ""
    left = set(docker("volume", "ls", "--quiet").split())
    assert not anonymous & left
    assert docker("volume", "ls", "--quiet", "--filter", label) == ""
    lab.results.append(
        f"`make lab-down` ({seconds} s) left no container, network or volume of the project "
        f"({len(containers)} containers, {len(volumes_before - left)} volumes removed)."
    )
