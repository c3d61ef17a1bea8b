"""The runner with real processes: readiness ordering, failures named, restarts with back-off,
nothing left running."""

import asyncio
import io
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest
from devkit.net import free_port
from devkit.wait import await_for, http_status
from launcher.plan import Service
from launcher.runner import Console, Restarts, Runner, StartFailed

CHILD = str(Path(__file__).with_name("launcher_child.py"))


def child(name: str, needs: tuple[str, ...] = (), **env: str) -> Service:
    port = free_port()
    return Service(
        name,
        [sys.executable, CHILD],
        f"http://127.0.0.1:{port}/ready",
        {"PORT": str(port), **env},
        needs,
    )


def alive(pid: int) -> bool:
    """Running or sleeping; a zombie (dead, not yet reaped by init) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def make_runner(restarts: Restarts | None = None, **kwargs: float) -> tuple[Runner, io.StringIO]:
    out = io.StringIO()
    options = {"ready_timeout": 20.0, "stop_grace": 5.0, **kwargs}
    return Runner(Console(["first", "second"], output=out), restarts=restarts, **options), out


def pids(runner: Runner) -> dict[str, int]:
    return {name: proc.pid for name, proc in runner.started}


async def ready(service: Service) -> bool:
    return await asyncio.to_thread(http_status, service.ready_url) == 200


async def back_again(runner: Runner, service: Service, old_pid: int) -> None:
    """Until the runner has started `service` anew and it is ready."""

    async def restarted() -> bool:
        running = runner.running[service.name]
        return running.proc.pid != old_pid and running.ready_at is not None

    await await_for(restarted, 15, what=f"{service.name} started again and ready")


async def crash(runner: Runner, service: Service, code: int) -> None:
    """The child ends itself with `code`; returns once it is back."""
    old_pid = runner.running[service.name].proc.pid
    await asyncio.to_thread(http_status, service.ready_url.replace("/ready", f"/exit/{code}"))
    await back_again(runner, service, old_pid)


async def test_a_service_starts_only_once_what_it_needs_is_ready(tmp_path: Path) -> None:
    gate = tmp_path / "first-is-ready"
    first = child("first", READY_FILE=str(gate))
    second = child("second", needs=("first",))
    runner, out = make_runner()
    starting = asyncio.create_task(runner.start_all([second, first]))
    try:
        await await_for(
            lambda: asyncio.to_thread(http_status, first.ready_url),
            timeout=20,
            what="first answering 503",
        )
        assert http_status(first.ready_url) == 503
        assert [name for name, _ in runner.started] == ["first"]
        gate.touch()
        await asyncio.wait_for(starting, 20)
        assert [name for name, _ in runner.started] == ["first", "second"]
        assert http_status(second.ready_url) == 200
        log = out.getvalue()
        assert log.index("first is ready") < log.index("started second")
    finally:
        starting.cancel()
        await runner.stop_all()


async def test_every_output_line_carries_the_service_name() -> None:
    runner, out = make_runner()
    try:
        await runner.start_all([child("first")])
        await await_for(lambda: asyncio.sleep(0, "listening on" in out.getvalue()), 10)
    finally:
        await runner.stop_all()
    assert re.search(r"^\d\d:\d\d:\d\d first +\| listening on \d+$", out.getvalue(), re.M)


async def test_a_service_that_exits_before_it_is_ready_fails_the_start() -> None:
    crash = Service("first", [sys.executable, "-c", "raise SystemExit(3)"], "http://127.0.0.1:9/")
    runner, _ = make_runner()
    try:
        with pytest.raises(StartFailed, match="first exited with code 3 before it was ready"):
            await runner.start_all([crash])
    finally:
        await runner.stop_all()


async def test_a_service_never_ready_fails_the_start_with_its_last_answer(tmp_path: Path) -> None:
    runner, _ = make_runner(ready_timeout=1.5)
    never = child("first", READY_FILE=str(tmp_path / "never"))
    try:
        with pytest.raises(StartFailed, match=r"first was not ready within 1.5 s .*503 not yet"):
            await runner.start_all([never])
    finally:
        await runner.stop_all()


async def test_a_need_missing_from_the_plan_is_refused_before_anything_starts() -> None:
    runner, _ = make_runner()
    with pytest.raises(StartFailed, match="second needs ghost"):
        await runner.start_all([child("second", needs=("ghost",))])
    assert runner.started == []
    await runner.stop_all()


async def test_stop_all_leaves_no_process_behind_even_one_that_ignores_sigterm(
    tmp_path: Path,
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    polite = child("first")
    stubborn = child("second", IGNORE_TERM="1", GRANDCHILD_PID_FILE=str(pid_file))
    runner, out = make_runner(stop_grace=1.0)
    await runner.start_all([polite, stubborn])
    pids = [proc.pid for _, proc in runner.started] + [int(pid_file.read_text())]
    assert all(alive(pid) for pid in pids)

    await runner.stop_all()

    # SIGKILL is delivered at once but a process takes a moment to die.
    await await_for(lambda: asyncio.sleep(0, not any(map(alive, pids))), 5, what="no process")
    assert "second ignored SIGTERM for 1 s: killing it" in out.getvalue()
    assert "first stopped (by SIGTERM)" in out.getvalue()
    assert http_status(polite.ready_url) is None


async def test_a_service_killed_by_sigkill_comes_back_and_no_other_pid_changes() -> None:
    first, second = child("first"), child("second")
    runner, out = make_runner()
    await runner.start_all([first, second])
    try:
        before = pids(runner)
        os.kill(before["first"], signal.SIGKILL)
        await back_again(runner, first, before["first"])
        after = pids(runner)
        assert after["second"] == before["second"]
        assert await ready(first)
        assert await ready(second)
    finally:
        await runner.stop_all()
    log = out.getvalue()
    assert re.search(
        r"\| first exited \(by SIGKILL\) after \d+\.\d s ready: restart 1 in 0.5 s$", log, re.M
    ), log
    assert (
        f"| started first (pid {after['first']}): restart 1, 0.5 s after it exited (by SIGKILL)"
        in log
    )
    assert "| first is ready again (" in log
    assert "second exited" not in log


async def test_exits_in_a_row_double_the_delay_to_the_cap_and_a_stable_run_resets_it() -> None:
    service = child("first")
    runner, out = make_runner(Restarts(delay=0.1, max_delay=0.4, reset_after=1.0))
    await runner.start_all([service])
    try:
        for code in (3, 4, 5, 6):
            await crash(runner, service, code)

        async def stable() -> bool:
            ready_at = runner.running["first"].ready_at
            return ready_at is not None and time.monotonic() - ready_at > 1.2

        await await_for(stable, 5, what="first ready for longer than the reset")
        await crash(runner, service, 7)
    finally:
        await runner.stop_all()
    exits = re.findall(
        r"\| first exited \(exit code (\d)\) .*: restart (\d) in (\S+) s$", out.getvalue(), re.M
    )
    assert exits == [
        ("3", "1", "0.1"),
        ("4", "2", "0.2"),
        ("5", "3", "0.4"),
        ("6", "4", "0.4"),
        ("7", "5", "0.1"),
    ]


async def test_a_stop_during_the_back_off_starts_nothing_more() -> None:
    service = child("first")
    runner, out = make_runner(Restarts(delay=30))
    await runner.start_all([service])
    pid = pids(runner)["first"]
    os.kill(pid, signal.SIGKILL)
    await await_for(
        lambda: asyncio.sleep(0, "restart 1 in 30 s" in out.getvalue()), 10, what="the exit line"
    )
    began = time.monotonic()
    await runner.stop_all()
    assert time.monotonic() - began < 5
    assert pids(runner) == {"first": pid}
    assert out.getvalue().count("started first") == 1
    assert not await ready(service)


async def test_a_held_service_stays_down_until_released_then_starts_at_once() -> None:
    first, second = child("first"), child("second")
    runner, out = make_runner(Restarts(delay=0.05))
    await runner.start_all([first, second])
    try:
        before = pids(runner)
        runner.hold("first")
        os.kill(before["first"], signal.SIGKILL)

        async def held() -> bool:
            return "| first exited (by SIGKILL)" in out.getvalue()

        await await_for(held, 15, what="the exit seen")
        assert runner.held("first")
        assert runner.running["first"].proc.pid == before["first"]
        assert runner.release("first")
        await back_again(runner, first, before["first"])
        assert not runner.held("first")
        assert not runner.release("first")
        assert pids(runner)["second"] == before["second"]
    finally:
        await runner.stop_all()
    log = out.getvalue()
    assert re.search(
        r"\| first exited \(by SIGKILL\) after .*: held until the lab restarts it$", log, re.M
    ), log
    assert re.search(
        r"\| started first \(pid \d+\): restart 1, by the lab \(by SIGKILL\)$", log, re.M
    ), log
