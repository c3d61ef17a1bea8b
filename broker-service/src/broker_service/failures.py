"""Connection failures as a person reads them: what failed, where."""

import os

from svckit.errors import DownstreamUnavailable


def cannot_connect(service: str, where: str, exc: OSError) -> DownstreamUnavailable:
    """502 `<service> is unavailable: Connection refused (127.0.0.1:8081)`."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
    return DownstreamUnavailable(service, f"{reason} ({where})")
