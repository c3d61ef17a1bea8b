"""Free loopback ports for servers that will bind them a moment later, maybe in another process.

Binding port 0, reading the number and closing hands out a port nobody holds between the
close and the server's own bind. Two such calls can then return the same port (the kernel
picks bind(0) ports at random, odd ones first: about one clash in 200 among the dozen ports a
whole system needs), and any bind(0) or outgoing connection of another process may take it in
the meantime. So a port handed out here is never handed out twice by this process, and is
taken below the kernel's ephemeral range, where neither bind(0) nor connect() ever lands.
"""

import functools
import random
import socket
import threading
from pathlib import Path

_EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Above the well-known ports our own system and the shared servers use (5432, 5672, 8080...).
_LOWEST = 20000
_TRIES = 200

_given: set[int] = set()
_lock = threading.Lock()
# Its own generator: a test seeding the module-level one must not make processes pick alike.
_random = random.Random()


def _kernel_pick() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR: a port still in TIME_WAIT counts as taken, as it would for some servers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@functools.cache  # the range is the kernel's setting: read once, not on every port
def _below_ephemeral() -> range | None:
    try:
        low = int(_EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return range(_LOWEST, low) if low - _LOWEST >= 1000 else None


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1, never one this process handed out before."""
    pool = _below_ephemeral()
    with _lock:
        for _ in range(_TRIES):
            port = _random.choice(pool) if pool is not None else _kernel_pick()
            if port not in _given and _bindable(port):
                _given.add(port)
                return port
    raise RuntimeError(f"no free loopback port after {_TRIES} tries")
