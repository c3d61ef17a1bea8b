"""Connection failures as a person reads them: what failed, never where (the log says where)."""

import logging
import os

from svckit.errors import DownstreamUnavailable

log = logging.getLogger(__name__)


def cannot_connect(service: str, where: str, exc: OSError) -> DownstreamUnavailable:
    """502 `<service> is unavailable: Connection refused`; the address goes to the log."""
    reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
    log.warning("%s at %s: %s", service, where, reason)
    return DownstreamUnavailable(service, reason)
