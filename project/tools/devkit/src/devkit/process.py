"""One of our services as a real process (`python -m <module>`), as the launcher runs it."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from devkit.net import free_port
from devkit.wait import http_status, wait_for


class ServiceProcess:
    """Started with `PORT` (a free one unless given) and text logs to a file of its own.

    `start()` waits for `ready_path` to answer 200: `/ready`, so a test never uses a service
    whose dependencies are not there yet.
    """

    def __init__(
        self,
        module: str,
        env: dict[str, str],
        *,
        port: int | None = None,
        ready_path: str = "/ready",
        log_dir: Path | None = None,
        name: str | None = None,
    ) -> None:
        self.module = module
        self.name = name or module
        self.port = port if port is not None else free_port()
        self.env = {**os.environ, "PORT": str(self.port), "LOG_FORMAT": "text", **env}
        self.ready_path = ready_path
        self.log_path = (log_dir or Path(tempfile.mkdtemp())) / f"{self.name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True, timeout: float = 60.0) -> "ServiceProcess":
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 60.0, path: str | None = None) -> None:
        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.output()}"
                )
            return http_status(self.url + (path or self.ready_path)) == 200

        try:
            wait_for(up, timeout, what=f"{self.name} on {self.url}{path or self.ready_path}")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n--- {self.name} output ---\n{self.output()}") from None

    def output(self, tail: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])
        return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait: the graceful path."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(
                f"{self.name} ignored SIGTERM for {timeout:g} s:\n{self.output()}"
            ) from None

    def kill(self) -> None:
        """SIGKILL: the crash path."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self, wait: bool = True) -> "ServiceProcess":
        self.stop()
        return self.start(wait)
