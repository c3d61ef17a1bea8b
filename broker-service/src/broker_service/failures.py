"""Connection failures as a caller reads them (which service) and as an operator does (where)."""

import logging
import os

from svckit.errors import DownstreamUnavailable

log = logging.getLogger(__name__)


def cannot_connect(service: str, where: str, exc: OSError) -> DownstreamUnavailable:
    """502 `<service> is unavailable`; the address and the reason go to the log only."""
    reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
    return DownstreamUnavailable(service, detail=f"{reason} ({where})")
