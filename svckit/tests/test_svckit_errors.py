"""A connection that cannot be made: the caller reads which service, the log reads where and
why, in the words that say it (errno's, the resolver's, TLS's)."""

import asyncio
import socket
import ssl

import pytest
from devkit.net import free_port
from svckit.errors import cannot_connect


async def test_a_refused_connection_says_so_and_where_but_only_to_the_log() -> None:
    port = free_port()
    with pytest.raises(ConnectionRefusedError) as caught:
        await asyncio.open_connection("127.0.0.1", port)
    refused = cannot_connect("logger-service", f"127.0.0.1:{port}", caught.value)
    assert (refused.status, refused.message) == (502, "logger-service is unavailable")
    assert refused.detail == f"Connection refused (127.0.0.1:{port})"


def test_a_name_that_does_not_resolve_keeps_the_resolver_s_words() -> None:
    exc = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    assert cannot_connect("mail server", "nowhere:25", exc).detail == (
        "Name or service not known (nowhere:25)"
    )


def test_a_refused_certificate_keeps_tls_s_words() -> None:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed: self-signed certificate")
    detail = cannot_connect("mail server", "smtp:465", exc).detail
    assert detail == "certificate verify failed: self-signed certificate (smtp:465)"
