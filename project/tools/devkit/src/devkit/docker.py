"""A Docker Engine for the container tests (the lab's compose system, the Swarm stack).

`docker_engine` (a session fixture of the devkit plugin): this machine's engine when one
answers; else, as root, a dockerd started for the session with a data root of its own
(`LAB_DOCKER_DATA_ROOT`, so images and build cache stay there for the next run's warm build),
stopped at the end. No engine and none can be started (a laptop without one): the test is
skipped, saying why; in CI (CI=true) that is a failure.
"""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from devkit.wait import wait_for

# Debian's CLI: BuildKit built in (the one in /usr/local/bin may lack buildx).
DOCKER = "/usr/bin/docker"
DATA_ROOT = os.environ.get("LAB_DOCKER_DATA_ROOT", "/var/lib/docker-lab")
ENV = {**os.environ, "PATH": "/usr/bin:" + os.environ.get("PATH", "")}


def run(
    cmd: list[str], timeout: float = 60, check: bool = True, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`cmd` with Debian's docker first on PATH; a failure fails the test with its output."""
    result = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**ENV, **(env or {})},
    )
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} ended {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def docker(*args: str, timeout: float = 60, check: bool = True) -> str:
    return run([DOCKER, *args], timeout=timeout, check=check).stdout.strip()


def engine_answers() -> bool:
    if not os.access(DOCKER, os.X_OK):
        return False
    return run([DOCKER, "info"], timeout=20, check=False).returncode == 0


def no_engine(why: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the containers: {why}")
    pytest.skip(f"no Docker Engine: {why}")


@pytest.fixture(scope="session")
def docker_engine(logs_dir: Path) -> Iterator[None]:
    """A Docker Engine that answers: this machine's, or a dockerd started for the session."""
    if engine_answers():
        yield
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or not os.access(DOCKER, os.X_OK):
        no_engine("dockerd and /usr/bin/docker are not installed (apt-get install docker.io)")
    if os.geteuid() != 0:
        no_engine("none answers and starting dockerd needs root")
    log = (logs_dir / "dockerd.log").open("ab")
    proc = subprocess.Popen(
        [str(dockerd), "--data-root", DATA_ROOT], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(
            lambda: proc.poll() is None and engine_answers(), timeout=60, what="dockerd to answer"
        )
    except Exception as error:
        proc.terminate()
        no_engine(f"dockerd did not start ({error}); see {log.name}")
    try:
        yield
    finally:
        proc.terminate()
        proc.wait(60)
        log.close()
