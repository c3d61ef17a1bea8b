"""SecantusDB, a MongoDB-wire server on WiredTiger, as a process of its own.

The launcher runs it when no MongoDB answers, and the tests run one per session, so that
"MongoDB stopped" is a fault one can inject by stopping a process.
"""

import contextlib
import subprocess
import sys
from pathlib import Path

from devkit.net import answers, free_port
from devkit.wait import wait_for


def secantus_argv(
    host: str, port: int, data: Path, *, cache_size: str = "256M", log_level: str = "WARNING"
) -> list[str]:
    """The command line of a standalone SecantusDB keeping its data in `data`.

    Standalone: in its default replica-set mode every insert also feeds an oplog, and the
    insert rate falls as a collection grows (measured: 900/s at 800 documents, 140/s at 6,400).
    """
    return [
        sys.executable,
        "-m",
        "secantus",
        "--host",
        host,
        "--port",
        str(port),
        "--storage-path",
        str(data),
        "--standalone",
        "--cache-size",
        cache_size,
        "--log-level",
        log_level,
    ]


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
