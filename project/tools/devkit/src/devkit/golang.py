"""Go peers for the tests: standard-library programs built with Debian's golang-go."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from devkit.wait import wait_for


def go_env() -> dict[str, str]:
    """The local toolchain only, no cgo; build caches in a scratch folder if HOME is read-only."""
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "", "CGO_ENABLED": "0"}
    home = os.environ.get("HOME", "")
    if not home or not os.access(home, os.W_OK):
        scratch = tempfile.mkdtemp(prefix="gopeer-")
        env |= {"GOCACHE": f"{scratch}/cache", "GOPATH": f"{scratch}/path"}
    return env


def go_build(module: Path, package: str, out_dir: Path) -> Path:
    """`go build ./<package>` of the Go module at `module`; the path of the program built."""
    go = shutil.which("go")
    assert go, "Go is not installed: `apt-get install golang-go` (the Go peer tests need it)"
    binary = out_dir / Path(package).name
    built = subprocess.run(
        [go, "build", "-o", str(binary), f"./{package}"],
        cwd=module,
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, f"go build ./{package} failed:\n{built.stdout}\n{built.stderr}"
    return binary


class GoServer:
    """A Go program serving on the address it is given, run as a process.

    It prints `listening <host:port>` once it accepts connections, then one JSON object a line
    for each thing it received; `received` holds those, read by a thread as they come.
    """

    def __init__(self, binary: Path, addr: str = "127.0.0.1:0", *args: str) -> None:
        self._argv = [str(binary), addr, *args]
        self._proc: subprocess.Popen[str] | None = None
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self.addr = ""

    def start(self, timeout: float = 20.0) -> "GoServer":
        self._proc = subprocess.Popen(
            self._argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True).start()

        def listening() -> str | None:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise AssertionError(f"{self._argv[0]} exited: {self.output()}")
            with self._lock:
                first = self._lines[0] if self._lines else ""
            return first.removeprefix("listening ") if first.startswith("listening ") else None

        self.addr = wait_for(listening, timeout, what=f"{self._argv[0]} listening")
        return self

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            with self._lock:
                self._lines.append(line.rstrip("\n"))

    @property
    def received(self) -> list[dict[str, Any]]:
        with self._lock:
            lines = self._lines[1:]
        return [json.loads(line) for line in lines if line.startswith("{")]

    def has_received(self, *wanted: dict[str, Any], timeout: float = 10.0) -> None:
        """Wait until every payload of `wanted` is among `received`: the server prints each as
        it answers, so a caller's answer can come before the reader thread has the line."""

        def missing() -> list[dict[str, Any]]:
            got = self.received
            return [w for w in wanted if w not in got]

        wait_for(lambda: not missing(), timeout, what=f"the Go server to print {wanted}")

    def output(self) -> str:
        with self._lock:
            return "\n".join(self._lines)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)
