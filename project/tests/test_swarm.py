"""The system on a real orchestrator: project/swarm.yml deployed by `make swarm-deploy` on a
one-node Docker Swarm (this engine's; `docker swarm init` when it is in none), with the offline
lab's images (project/lab/).

One stack for the module, under a name and on published ports of its own (not the system's
8080/443/8443), with secrets of its own. It must converge (every service at its replica count,
healthy), answer the README's calls through the proxy over HTTPS (the internal CA's root as the
only trust) and plain HTTP, serve the page whose every button works over HTTPS (CORS), and keep
a steady stream of `/handle` calls whole through a rolling update, a bad image rolled back by
Swarm itself, scaling to 5 and back to 2 and a killed task. No secret value may show in
`docker inspect`, `docker service inspect`, a container's environment or a log line. The figures
go to docs/swarm/report.md.

No Docker Engine and none can be started: skipped, saying why (devkit.docker).
"""

import asyncio
import contextlib
import datetime
import json
import os
import signal
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from devkit.browser import chromium, click_every_button, page_at
from devkit.docker import DOCKER, docker, run
from devkit.wait import await_for, http_status, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "project"
REPORT = ROOT / "docs" / "swarm" / "report.md"
STACK = "gomicro-test"
HTTP_PORT, HTTPS_PORT, PAGE_PORT = 18080, 18443, 18444
HTTP = f"http://localhost:{HTTP_PORT}"
HTTPS = f"https://localhost:{HTTPS_PORT}"
PAGE = f"https://localhost:{PAGE_PORT}"
BROKER = f"{STACK}_broker-service"
# What every stream sends: the README's `log` action (broker → logger over net/rpc → MongoDB).
LOG_CALL = {"action": "log", "log": {"name": "event", "data": "swarm stream"}}
# A bad release: an image whose command exits at once, so no task of it ever gets healthy.
BAD_IMAGE = "go-micro-py-lab/python:3.11"


@dataclass
class Stack:
    swarm_dir: Path
    figures: dict[str, Any] = field(default_factory=dict)
    results: list[str] = field(default_factory=list)

    def make(self, target: str, timeout: float = 900, **variables: str) -> float:
        """`make -C project <target>` for this stack; the seconds it took."""
        settings = {
            "STACK": STACK,
            "SWARM_DIR": str(self.swarm_dir),
            "SECRETS_DIR": str(self.swarm_dir / "secrets"),
            "HTTP_PORT": str(HTTP_PORT),
            "HTTPS_PORT": str(HTTPS_PORT),
            "PAGE_PORT": str(PAGE_PORT),
            **variables,
        }
        started = time.monotonic()
        cmd = ["make", "--no-print-directory", "-C", str(PROJECT), target]
        run([*cmd, *(f"{k}={v}" for k, v in settings.items())], timeout=timeout)
        return round(time.monotonic() - started, 1)

    @property
    def root_ca(self) -> Path:
        return self.swarm_dir / "caddy-root.crt"

    def secrets(self) -> dict[str, str]:
        folder = self.swarm_dir / "secrets"
        return {p.name: p.read_text().strip() for p in folder.iterdir()}


def services() -> dict[str, tuple[int, int]]:
    """Each service of the stack: (tasks running and healthy, replicas wanted)."""
    out = docker(
        "service", "ls", "--filter", f"label=com.docker.stack.namespace={STACK}",
        "--format", "{{.Name}} {{.Replicas}}",
    )  # fmt: skip
    found = {}
    for line in out.splitlines():
        name, replicas = line.split()[:2]
        running, wanted = replicas.split("/")
        found[name.removeprefix(STACK + "_")] = (int(running), int(wanted))
    return found


def converged() -> bool:
    found = services()
    return len(found) == 11 and all(r == w for r, w in found.values())


def task_containers(service: str) -> list[str]:
    return docker(
        "ps", "--quiet", "--filter", f"label=com.docker.swarm.service.name={STACK}_{service}"
    ).split()


def stack_containers() -> list[str]:
    label = f"label=com.docker.stack.namespace={STACK}"
    return docker("ps", "--all", "--quiet", "--filter", label).split()


def update_state(service: str) -> str:
    status = docker("service", "inspect", "--format", "{{json .UpdateStatus}}", service)
    found = json.loads(status) if status not in ("", "null") else None
    return str(found["State"]) if found else ""


def image_of(service: str) -> str:
    return docker(
        "service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service
    )


@pytest.fixture(scope="module")
def stack(docker_engine: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack deployed and converged; removed (with its volumes) and reported at the end."""
    stack = Stack(tmp_path_factory.mktemp("swarm"))
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}}")
    initialised_here = state != "active"
    with contextlib.suppress(pytest.fail.Exception):
        stack.make("swarm-down", timeout=180)  # a stack a killed run left
    stack.figures["images_warm"] = stack.make("swarm-images", timeout=900)
    stack.make("swarm-secrets")
    started = time.monotonic()
    stack.figures["deploy"] = stack.make("swarm-deploy", timeout=120)
    try:
        wait_for(converged, timeout=240, interval=0.5, what="every service converged")
    except AssertionError:
        pytest.fail(f"the stack did not converge: {services()}")
    stack.figures["converge"] = round(time.monotonic() - started, 1)
    # Healthy is /ping (alive); /ready also waits for every downstream a broker calls, and each
    # broker connects on its own back-off: ready when every replica says so, i.e. /ready answers
    # 200 through the proxy twice as many times in a row as there are brokers.
    wait_for(
        lambda: all(http_status(HTTP + "/ready", timeout=2) == 200 for _ in range(6)),
        timeout=120,
        interval=0.5,
        what="every broker's /ready through the proxy",
    )
    stack.figures["ready"] = round(time.monotonic() - started, 1)
    stack.make("swarm-ca", timeout=90)
    try:
        yield stack
    finally:
        stack.make("swarm-down", timeout=180)
        for volume in docker("volume", "ls", "--quiet", "--filter", f"name={STACK}_").split():
            docker("volume", "rm", volume, check=False)
        if initialised_here:
            docker("swarm", "leave", "--force", check=False)
        write_report(stack)


def write_report(stack: Stack) -> None:
    f = stack.figures
    if "converge" not in f:
        return
    lines = [
        "# The Swarm stack, measured",
        "",
        f"Written by `project/tests/test_swarm.py` on {datetime.date.today().isoformat()} from its",
        "run on a one-node Docker Swarm on this machine (2 shared cores), with the offline lab's",
        "images; each stream is one `POST /handle` log call after another through the proxy.",
        "",
        "| what | figure |",
        "| --- | --- |",
        f"| `make swarm-images` (warm: every image already built once) | {f['images_warm']} s |",
        f"| `make swarm-deploy` until every service is at its replica count and healthy"
        f" | {f['converge']} s |",
        f"| `make swarm-deploy` until every broker's `/ready` answers 200 through the proxy"
        f" | {f.get('ready', 'not reached')} s |",
        *(f"| {what} | {figure} |" for what, figure in f.get("rows", [])),
        "",
        *(f"- {r}" for r in stack.results),
        "",
    ]
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines))


@pytest.fixture(scope="module")
async def https(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """A client that trusts the proxy's internal CA and nothing else."""
    trust = ssl.create_default_context(cafile=str(stack.root_ca))
    async with httpx.AsyncClient(verify=trust, timeout=10, trust_env=False) as client:
        yield client


@pytest.fixture(scope="module")
async def http(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        yield client


@dataclass
class Stream:
    """One `/handle` call after another until stopped: each one's status (0: no answer)."""

    client: httpx.AsyncClient
    outcomes: list[int] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                resp = await self.client.post(HTTP + "/handle", json=LOG_CALL, timeout=10)
                self.outcomes.append(resp.status_code)
            except httpx.HTTPError:
                self.outcomes.append(0)
            await asyncio.sleep(0.01)

    @property
    def failed(self) -> int:
        return sum(1 for s in self.outcomes if s != 202)

    def summary(self) -> str:
        return f"{self.failed}/{len(self.outcomes)} failed"


@contextlib.asynccontextmanager
async def streaming(client: httpx.AsyncClient) -> AsyncIterator[Stream]:
    """A stream running for the block (and a second before, to be steady when it starts)."""
    stream, stop = Stream(client), asyncio.Event()
    task = asyncio.create_task(stream.run(stop))

    async def flowing() -> bool:
        return len(stream.outcomes) >= 20

    await await_for(flowing, timeout=30, what="the stream flowing")
    try:
        yield stream
    finally:
        stop.set()
        await task


async def until(check: Any, timeout: float, what: str) -> float:
    """Polls the blocking `check` off the event loop (the stream keeps going); seconds taken."""
    started = time.monotonic()

    async def done() -> bool:
        return bool(await asyncio.to_thread(check))

    await await_for(done, timeout=timeout, interval=0.5, what=what)
    return round(time.monotonic() - started, 1)


def logs_of(cid: str, *args: str) -> str:
    """A container's log (our services write theirs to stderr)."""
    out = run([DOCKER, "logs", *args, cid], check=False, timeout=60)
    return out.stdout + out.stderr


def handled(cid: str, since: str) -> int:
    """The `POST /handle` access lines a container logged since `since` (RFC 3339)."""
    return logs_of(cid, "--since", since).count('"message":"POST /handle 202')


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


# --- through the doors a user uses ------------------------------------------------------------


async def test_the_readmes_calls_answer_through_the_proxy_over_https_and_http(
    stack: Stack, https: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    auth = {"email": "admin@example.com", "password": "verysecret"}
    subject = f"swarm {uuid.uuid4().hex[:8]}"
    mail = {"from": "me@example.com", "to": "you@there.com", "subject": subject, "message": "Hi"}
    calls = [
        ({"action": "auth", "auth": auth}, "Authenticated!"),
        (LOG_CALL, "Processed payload via RPC:event"),
        ({"action": "mail", "mail": mail}, "Message sent to you@there.com"),
    ]
    for base, client in ((HTTPS, https), (HTTP, http)):
        hit = await client.post(base + "/")
        assert (hit.status_code, hit.json()["message"]) == (200, "Hit the broker"), base
        for body, message in calls:
            resp = await client.post(base + "/handle", json=body)
            assert (resp.status_code, resp.json()["message"]) == (202, message), (base, body)
        ready = await client.get(base + "/ready")
        assert ready.status_code == 200, ready.text
    hit = await https.post(HTTPS + "/")
    assert hit.headers["x-content-type-options"] == "nosniff"
    assert hit.headers["x-frame-options"] == "DENY"
    assert "strict-transport-security" not in hit.headers  # localhost: no HSTS
    # Both mails in the catcher, whose API only the overlay reaches: asked from its container.
    catcher = task_containers("mailhog")[0]
    api = "http://127.0.0.1:8025/api/v2/messages"
    assert docker("exec", catcher, "wget", "-q", "-O", "-", api).count(subject) >= 2
    # Nobody else's trust: the certificate is the internal CA's, refused without its root.
    async with httpx.AsyncClient(trust_env=False) as untrusting:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await untrusting.post(HTTPS + "/")


async def test_the_page_over_https_works_every_button_against_the_https_broker(
    stack: Stack, https: httpx.AsyncClient
) -> None:
    page_html = await https.get(PAGE + "/")
    assert page_html.status_code == 200
    assert f'content="{HTTPS}"' in page_html.text
    preflight = await https.options(
        HTTPS + "/handle",
        headers={
            "Origin": PAGE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.headers.get("access-control-allow-origin") == PAGE
    # Chromium does not know the internal CA (httpx above checked the chain against it).
    async with (
        chromium() as browser,
        page_at(browser, PAGE + "/", ignore_https_errors=True) as page,
    ):
        await click_every_button(page)


# --- the orchestrator at work, under a steady stream ------------------------------------------


async def test_a_rolling_update_of_the_broker_fails_no_request(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    before = set(task_containers("broker-service"))
    async with streaming(http) as stream:
        await asyncio.to_thread(docker, "service", "update", "--force", "--detach", BROKER)
        seconds = await until(
            lambda: update_state(BROKER) == "completed", 300, "the rolling update completed"
        )
        await until(converged, 60, "every service converged again")
    after = set(task_containers("broker-service"))
    stack.figures.setdefault("rows", []).append(
        ("rolling update of 3 broker tasks (`docker service update --force`), start-first",
         f"{seconds} s, {stream.summary()}")
    )  # fmt: skip
    assert not before & after, "every task was replaced"
    assert stream.failed == 0, stream.summary()
    assert len(stream.outcomes) > 100


async def test_a_bad_image_rolls_back_by_itself_and_fails_no_request(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    good = image_of(BROKER)
    async with streaming(http) as stream:
        await asyncio.to_thread(
            docker, "service", "update", "--detach", "--image", BAD_IMAGE, BROKER
        )
        seconds = await until(
            lambda: update_state(BROKER) == "rollback_completed", 300, "Swarm's own rollback"
        )
        await until(converged, 60, "every service converged again")
    stack.figures.setdefault("rows", []).append(
        ("update to an image that never gets healthy, until Swarm rolled it back",
         f"{seconds} s, {stream.summary()}")
    )  # fmt: skip
    assert image_of(BROKER) == good
    assert stream.failed == 0, stream.summary()
    assert len(stream.outcomes) > 50


async def test_scaling_to_five_and_back_to_two_fails_no_request_and_new_tasks_serve(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    before = set(task_containers("broker-service"))
    async with streaming(http) as up:
        await asyncio.to_thread(docker, "service", "scale", "--detach", f"{BROKER}=5")
        up_seconds = await until(lambda: services()["broker-service"] == (5, 5), 120, "5 tasks")
        scaled_at = now()
        new = sorted(set(task_containers("broker-service")) - before)
        served = await until(
            lambda: all(handled(cid, scaled_at) for cid in new), 30, "the new tasks serving"
        )
    async with streaming(http) as down:
        await asyncio.to_thread(docker, "service", "scale", "--detach", f"{BROKER}=2")
        down_seconds = await until(lambda: services()["broker-service"] == (2, 2), 120, "2 tasks")
        await until(lambda: len(task_containers("broker-service")) == 2, 60, "3 tasks gone")
        # And a little after, while the proxy's list catches up with the DNS.
        await asyncio.sleep(3)
    stack.figures.setdefault("rows", []).append(
        ("`docker service scale` of the broker 3 → 5, until both new tasks served",
         f"{up_seconds} s + {served} s, {up.summary()}")
    )  # fmt: skip
    stack.figures["rows"].append(
        ("`docker service scale` of the broker 5 → 2", f"{down_seconds} s, {down.summary()}")
    )
    assert len(new) == 2
    assert up.failed == 0, up.summary()
    assert down.failed == 0, down.summary()


async def test_a_killed_task_is_replaced_and_costs_at_most_one_request(
    stack: Stack, http: httpx.AsyncClient
) -> None:
    victim = task_containers("broker-service")[0]
    pid = int(docker("inspect", "--format", "{{.State.Pid}}", victim))
    async with streaming(http) as stream:
        # A crash: SIGKILL of the task's process, as the kernel's OOM killer would.
        os.kill(pid, signal.SIGKILL)

        def replaced() -> bool:
            running = task_containers("broker-service")
            return victim not in running and services()["broker-service"] == (2, 2)

        seconds = await until(replaced, 120, "a new task healthy in place of the killed one")
        await asyncio.sleep(2)  # and the stream goes on with the new one
    stack.results.append(
        f"SIGKILL of one of 2 broker tasks' process under the stream: Swarm had a new task"
        f" healthy {seconds} s later; {stream.summary()} (at most 1 allowed: the one in flight)."
    )
    assert stream.failed <= 1, stream.summary()
    assert len(stream.outcomes) > 50


# --- secrets ----------------------------------------------------------------------------------


def test_no_secret_shows_in_inspect_the_environment_or_any_log_line(stack: Stack) -> None:
    secrets = {n: v for n, v in stack.secrets().items() if n != "mongo_username"}
    assert len(secrets) == 3
    containers = stack_containers()
    shown = {
        "docker inspect": docker("inspect", *containers),
        "docker service inspect": docker(
            "service", "inspect", *(f"{STACK}_{s}" for s in services())
        ),
        "docker secret inspect": docker(
            "secret", "inspect", *(f"{STACK}_{s}" for s in stack.secrets())
        ),
    }
    shown["/ready"] = httpx.get(HTTP + "/ready", timeout=10, trust_env=False).text
    for cid in task_containers("broker-service") + task_containers("authentication-service"):
        shown[f"env of {cid}"] = docker("exec", cid, "cat", "/proc/1/environ")
    for cid in containers:
        shown[f"logs of {cid}"] = logs_of(cid)
    for where, text in shown.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} shows in {where}"
    # The services did read them: the database and Mongo took the passwords.
    assert docker("exec", task_containers("authentication-service")[0], "cat",
                  "/run/secrets/postgres_password") == secrets["postgres_password"]  # fmt: skip
    stack.results.append(
        f"No value of the {len(secrets)} secrets in `docker inspect` of {len(containers)}"
        " containers, `docker service inspect`, `docker secret inspect`, the environment of the"
        " broker and auth tasks, `/ready`, or any container's log."
    )
