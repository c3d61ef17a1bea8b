"""SecantusDB, a MongoDB-wire server on WiredTiger, as a process of its own.

The launcher runs it when no MongoDB answers, and the tests run one per session, so that
"MongoDB stopped" is a fault one can inject by stopping a process.
"""

import contextlib
import subprocess
from pathlib import Path

# The command line lives in the launcher, which runs it too and must not need devkit.
from launcher.secantus import secantus_argv as secantus_argv

from devkit.net import answers, free_port
from devkit.wait import wait_for


class SecantusProcess:
    """One server on a fixed port, so it can be stopped and started again at the same URL."""

    def __init__(self, data: Path, port: int | None = None, log: Path | None = None) -> None:
        self.data = data
        self.port = port or free_port()
        self.log = log or data.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> "SecantusProcess":
        self.data.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                secantus_argv("127.0.0.1", self.port, self.data),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def listening() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"SecantusDB exited with {self.proc.returncode}")
            return answers("127.0.0.1", self.port)

        wait_for(listening, timeout, what=f"SecantusDB on {self.port}")
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, the way an operator stops it; SIGKILL if it does not go in time."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)
