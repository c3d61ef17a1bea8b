"""Every HTTP service's OpenAPI document is exact: schemathesis (`--checks all`) finds nothing.

The broker's world (every service as a process) is already running for these tests, so they
live here; the front-end joins it for this module. Schemathesis reaches each service through
a proxy whose connections come from 127.0.0.9, a client of its own: its made-up logins count
against that address, never against the other tests' 127.0.0.1.
"""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from devkit.process import ServiceProcess
from launcher.proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SERVICES = ["broker", "auth", "logger", "mail", "listener", "front-end"]


@pytest.fixture(scope="module")
def front_end(logs_dir: Path, broker_proc: ServiceProcess) -> Iterator[ServiceProcess]:
    svc = ServiceProcess(
        "front_end", {"BROKER_URL": broker_proc.url}, log_dir=logs_dir, name="contracts-front-end"
    ).start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def url_of(
    services: dict[str, ServiceProcess], front_end: ServiceProcess
) -> Iterator[Callable[[str], str]]:
    proxies = {
        name: TcpProxy("127.0.0.1", svc.port, source="127.0.0.9").open()
        for name, svc in {**services, "front-end": front_end}.items()
    }
    yield lambda name: f"http://127.0.0.1:{proxies[name].port}"
    for proxy in proxies.values():
        proxy.close()


@pytest.mark.parametrize("name", SERVICES)
def test_schemathesis_finds_nothing(
    name: str, url_of: Callable[[str], str], tmp_path: Path
) -> None:
    base = url_of(name)
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "run",
            f"{base}/openapi.json",
            "--url",
            base,
            "--checks",
            "all",
            "--max-examples",
            "60",
            "--request-timeout",
            "30",
            "--no-color",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "No issues found" in done.stdout
