"""SecantusDB's command line: the launcher runs it when no MongoDB answers (devkit's tests and
the benches run it too, from here)."""

import sys
from pathlib import Path


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
