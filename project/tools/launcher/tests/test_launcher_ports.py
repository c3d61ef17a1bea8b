"""Ports handed to servers that bind them later: never twice, never where the kernel hands out
its own."""

import socket
from pathlib import Path

from launcher.ports import free_port


def test_a_thousand_ports_are_distinct_free_and_outside_the_ephemeral_range() -> None:
    low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    # Held open meanwhile, as a dozen servers started one after another would hold theirs.
    held = []
    try:
        for _ in range(1000):
            port = free_port()
            assert not low <= port <= high, port
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(s)
            s.bind(("127.0.0.1", port))  # raises if another handed-out port was the same
    finally:
        for s in held:
            s.close()


def test_a_port_handed_out_and_released_is_not_handed_out_again() -> None:
    first = free_port()
    assert first not in {free_port() for _ in range(2000)}
