"""The Dockerfiles' install step, proven without a Docker engine.

For each service, the build stage of its Dockerfile is replayed on this machine: every
`COPY` from the build context (the repository root, less .dockerignore) into a fresh folder,
every `RUN uv sync ...` there with the Dockerfile's `ENV` and the environment redirected into
a temporary venv. The service is then started from that venv alone, as the image's `CMD`
would, and must answer `/ping`. A file the Dockerfile forgets to copy, a dependency missing
from a service's pyproject, or a dev-only import at start-up fails here.
"""

import fnmatch
import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from devkit.net import free_port
from devkit.process import ServiceProcess
from devkit.wait import http_status

ROOT = Path(__file__).resolve().parents[2]
WORKDIR = "/src"

# folder -> package
SERVICES = {
    "broker-service": "broker_service",
    "authentication-service": "authentication_service",
    "front-end": "front_end",
    "mail-service": "mail_service",
    "logger-service": "logger_service",
    "listener-service": "listener_service",
}
# These can be given all they need here, so they must also be ready (the logger: SecantusDB).
NEEDS_NOTHING_BUT_TEST_SERVERS = {"front-end", "logger-service"}


def nowhere() -> str:
    return f"127.0.0.1:{free_port()}"


def settings_for(folder: str, secantus_url: str, mongo_database: str) -> dict[str, str]:
    """Each service's downstreams point where nothing listens, except the logger's own store."""
    if folder == "logger-service":
        return {
            "MONGO_URL": secantus_url,
            "MONGO_DATABASE": mongo_database,
            "RPC_PORT": str(free_port()),
            "GRPC_PORT": str(free_port()),
        }
    host, port = nowhere().split(":")
    return {
        "AUTH_URL": f"http://{nowhere()}",
        "MAIL_URL": f"http://{nowhere()}",
        "LOGGER_URL": f"http://{nowhere()}",
        "LOGGER_RPC_ADDR": nowhere(),
        "LOGGER_GRPC_ADDR": nowhere(),
        "RABBIT_URL": f"amqp://guest:guest@{nowhere()}/",
        "DSN": f"host={host} port={port} user=postgres dbname=users connect_timeout=1",
        "MAIL_HOST": host,
        "MAIL_PORT": port,
    }


def instructions(dockerfile: Path) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, shell-split arguments), continuation lines joined, comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in dockerfile.read_text().splitlines():
        if not pending and (not raw.strip() or raw.lstrip().startswith("#")):
            continue
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        lines.append(pending + raw)
        pending = ""
    found = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        found.append((word.upper(), shlex.split(rest)))
    return found


def build_stage(dockerfile: Path) -> list[tuple[str, list[str]]]:
    """The instructions of the stage named `build`, where the venv is built."""
    steps = instructions(dockerfile)
    starts = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    (first,) = [i for i in starts if steps[i][1][-2:] == ["AS", "build"]]
    end = next((i for i in starts if i > first), len(steps))
    return steps[first + 1 : end]


class DockerIgnore:
    """The .dockerignore patterns our file uses: `name`, `a/b` from the root, `**/name`."""

    def __init__(self, path: Path) -> None:
        lines = path.read_text().splitlines() if path.exists() else []
        self.patterns = [p.strip() for p in lines if p.strip() and not p.startswith("#")]

    def __call__(self, rel: Path) -> bool:
        parts = rel.parts
        for i in range(len(parts)):
            prefix = "/".join(parts[: i + 1])
            for pattern in self.patterns:
                if pattern.startswith("**/"):
                    if fnmatch.fnmatch(parts[i], pattern[3:]):
                        return True
                elif fnmatch.fnmatch(prefix, pattern):
                    return True
        return False


def copy_in(sources: list[str], dest: str, context: Path, ignored: DockerIgnore) -> None:
    """`COPY <sources> <dest>` with Docker's rules for files, folders and trailing slashes."""
    target = context / dest.removeprefix(WORKDIR).lstrip("/")
    for source in sources:
        origin = ROOT / source
        assert origin.exists(), f"COPY {source}: not in the build context"
        if origin.is_dir():
            for path in sorted(origin.rglob("*")):
                rel = path.relative_to(ROOT)
                if path.is_file() and not ignored(rel):
                    out = target / path.relative_to(origin)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, out)
        else:
            assert not ignored(origin.relative_to(ROOT)), f"COPY {source}: .dockerignore drops it"
            into_dir = dest.endswith("/") or len(sources) > 1
            out = target / origin.name if into_dir else target
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, out)


def replay_build(dockerfile: Path, work: Path) -> tuple[Path, list[str]]:
    """Run the build stage's COPY and `uv sync` steps; returns the venv and what each step added."""
    context, venv = work / "src", work / "venv"
    context.mkdir()
    ignored = DockerIgnore(ROOT / ".dockerignore")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    installed: list[str] = []
    for word, args in build_stage(dockerfile):
        if word == "ENV":
            env.update(dict(arg.split("=", 1) for arg in args))
        elif word == "WORKDIR":
            assert args == [WORKDIR]
        elif word == "COPY" and not args[0].startswith("--from="):
            copy_in(args[:-1], args[-1], context, ignored)
        elif word == "RUN":
            command = [a for a in args if not a.startswith("--mount=")]
            assert command[:2] == ["uv", "sync"], f"unexpected build step: {args}"
            # The venv goes to the temp folder; how files get there (bytecode, copies) is the
            # image's business and would only cost time here.
            env.update(
                UV_PROJECT_ENVIRONMENT=str(venv), UV_COMPILE_BYTECODE="0", UV_LINK_MODE="hardlink"
            )
            result = subprocess.run(
                command, cwd=context, env=env, capture_output=True, text=True, timeout=300
            )
            assert result.returncode == 0, f"{shlex.join(command)}:\n{result.stderr}"
            installed.append(result.stderr)
    return venv, installed


def site_packages(venv: Path) -> set[str]:
    (lib,) = venv.glob("lib/python3*/site-packages")
    return {p.name.split("-")[0].lower() for p in lib.iterdir()}


class VenvService(ServiceProcess):
    """A service started by another interpreter than the test run's: the image's venv."""

    def __init__(self, python: Path, module: str, env: dict[str, str], **kwargs: Any) -> None:
        super().__init__(module, env, **kwargs)
        self.python = python

    def start(self, wait: bool = True, timeout: float = 30.0) -> "VenvService":
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", self.module],
                env=self.env,
                cwd=self.log_path.parent,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if wait:
            self.wait_ready(timeout)
        return self


@pytest.mark.slow
@pytest.mark.parametrize("folder", SERVICES)
def test_image_install_step_yields_a_venv_that_runs_the_service(
    folder: str, tmp_path: Path, logs_dir: Path, secantus_url: str, mongo_database: str
) -> None:
    package = SERVICES[folder]
    venv, steps = replay_build(ROOT / folder / "Dockerfile", tmp_path)
    assert len(steps) == 2, "two uv sync steps: dependencies, then the workspace's code"
    # Step one caches third-party packages only; our code comes in step two.
    assert "fastapi" in steps[0]
    assert package.replace("_", "-") not in steps[0]
    assert package.replace("_", "-") in steps[1]

    packages = site_packages(venv)
    assert {package, "svckit"} <= packages
    # --no-dev: the GPL SecantusDB, the test tools and the other services stay out.
    assert not {"secantus", "pytest", "mailcatcher", "ruff"} & packages
    assert not {p for p in SERVICES.values() if p != package} & packages

    env = {"LOG_FORMAT": "json", **settings_for(folder, secantus_url, mongo_database)}
    # Ready where it has all it needs; the others are only alive, their downstreams nowhere.
    probe = "/ready" if folder in NEEDS_NOTHING_BUT_TEST_SERVERS else "/ping"
    service = VenvService(
        venv / "bin" / "python", package, env, log_dir=logs_dir, name=folder, ready_path=probe
    )
    try:
        service.start(timeout=45)
        assert http_status(service.url + "/ping") == 200
    finally:
        exit_code = service.stop()
    # Uvicorn re-raises SIGTERM once its graceful shutdown is done, so -SIGTERM is a clean end.
    assert exit_code in (0, -signal.SIGTERM), f"{folder} ended {exit_code}:\n{service.output()}"
