"""The lab's control API over a runner of real child processes: who may call it, what a hang and
a kill do to a process, and the state it reports."""

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from devkit.net import free_port
from devkit.wait import await_for
from launcher.lab import Lab, LabPlan
from launcher.plan import Service
from launcher.runner import Console, Runner

CHILD = str(Path(__file__).with_name("launcher_child.py"))
PAGE = "http://localhost:8082"


@pytest.fixture
async def lab(rabbit_url: str, run_id: str) -> AsyncIterator[tuple[Lab, str]]:
    port = free_port()
    service = Service(
        "first", [sys.executable, CHILD], f"http://127.0.0.1:{port}/ready", {"PORT": str(port)}
    )
    runner = Runner(Console(["first"]), ready_timeout=20, stop_grace=5)
    await runner.start_all([service])
    nowhere = f"http://127.0.0.1:{free_port()}"
    plan = LabPlan(
        port=free_port(),
        page_origins=(PAGE,),
        broker_url=nowhere,
        logger_url=nowhere,
        metrics={},
        rabbit_url=rabbit_url,
        queue=f"lab.{run_id}.missing",
        dead_queue=f"lab.{run_id}.missing.dead",
        delay=0.1,
    )
    lab = Lab(plan, runner, {})
    await lab.start()
    try:
        yield lab, f"http://127.0.0.1:{plan.port}"
    finally:
        await lab.stop()
        await runner.stop_all()


async def state_of(http: httpx.AsyncClient, url: str) -> str:
    data = (await http.get(url + "/lab/state")).json()["data"]
    return str(next(t["state"] for t in data["targets"] if t["name"] == "first"))


async def test_only_the_page_may_act_and_hang_kill_restart_show_in_the_state(
    lab: tuple[Lab, str],
) -> None:
    _, url = lab
    async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
        refused = await http.post(
            url + "/lab/first/hang", headers={"Origin": "http://evil.example"}
        )
        assert refused.status_code == 403
        assert await state_of(http, url) == "ready"

        page = {"Origin": PAGE}
        assert (await http.post(url + "/lab/first/hang", headers=page)).status_code == 200
        await await_for(lambda: _is(http, url, "hung"), 10, what="first hung")
        await http.post(url + "/lab/first/resume", headers=page)
        await await_for(lambda: _is(http, url, "ready"), 10, what="first ready again")
        await http.post(url + "/lab/first/kill", headers=page)
        await await_for(lambda: _is(http, url, "killed"), 10, what="first held down")
        await http.post(url + "/lab/first/restart", headers=page)
        await await_for(lambda: _is(http, url, "ready"), 15, what="first back")

        unknown = await http.post(url + "/lab/nobody/kill", headers=page)
        wrong = await http.post(url + "/lab/first/cut", headers=page)
        assert (unknown.status_code, wrong.status_code) == (404, 400)
        queues = (await http.get(url + "/lab/state")).json()["data"]["queues"]
        assert (queues["listener"], queues["dead"]) == (None, None)


async def _is(http: httpx.AsyncClient, url: str, state: str) -> bool:
    return await state_of(http, url) == state
