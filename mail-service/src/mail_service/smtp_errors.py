"""The SMTP server's failures, translated in this one place: refusal or unreachable → 502, no
answer → 504. They name the mail server, never its address: the address goes to the log."""

import logging

from aiosmtplib import SMTPConnectError, SMTPException, SMTPRecipientsRefused, SMTPResponseException
from svckit.errors import DownstreamTimeout, DownstreamUnavailable, ServiceError, cannot_connect

log = logging.getLogger(__name__)

# What public messages call the SMTP server.
SERVER = "mail server"


def translate(exc: Exception, seconds: float, where: str) -> ServiceError:
    """What the caller is told of `exc`, met within a deadline of `seconds` talking to the
    server at `where`."""
    if isinstance(exc, ServiceError):
        return exc
    if isinstance(exc, TimeoutError):
        return DownstreamTimeout(SERVER, seconds)
    if isinstance(exc, SMTPRecipientsRefused) and exc.recipients:
        first = exc.recipients[0]
        return ServiceError(502, f"{SERVER} refused: {first.code} {first.message}")
    if isinstance(exc, SMTPResponseException):
        return ServiceError(502, f"{SERVER} refused: {exc.code} {exc.message}")
    if isinstance(exc, SMTPConnectError) and isinstance(exc.__cause__, OSError):
        return cannot_connect(SERVER, where, exc.__cause__)
    if isinstance(exc, SMTPException | OSError):
        return DownstreamUnavailable(SERVER, detail=f"{exc!r} ({where})")
    log.exception("unexpected failure talking to %s at %s", SERVER, where)
    return DownstreamUnavailable(SERVER)


def reason(exc: ServiceError) -> str:
    """The failure metric's label: timeout, unavailable or refused."""
    if isinstance(exc, DownstreamTimeout):
        return "timeout"
    if isinstance(exc, DownstreamUnavailable):
        return "unavailable"
    return "refused"
