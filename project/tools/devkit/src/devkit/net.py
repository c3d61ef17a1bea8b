"""Ports: a free one to listen on, and whether something answers on one."""

import socket

# The probe lives in the launcher, which needs it and must not need devkit.
from launcher.probes import answers as answers


def free_port() -> int:
    """A TCP port nobody listens on right now (bind to 0, read it, release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
