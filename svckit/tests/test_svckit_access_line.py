"""The JSON access line, written straight to the stream, is the line `logging` would write:
same fields, same order, same values, the request's trace ids included."""

import json
import re
import subprocess
import sys

# In a process of its own: `configure_logging` takes over the root logger and stderr.
SCRIPT = """
import logging
from opentelemetry import context
from svckit.logs import configure_logging, log_access
from svckit.tracing import ids_context

configure_logging("svc", "INFO", "json")
served, _ = ids_context({"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
token = context.attach(served)
log_access("POST", "/handle", 202, 0.012345, quiet=False)
logging.getLogger("access").info(
    "POST /handle 202 12.3 ms",
    extra={"method": "POST", "route": "/handle", "status": 202, "duration_ms": 12.35},
)
log_access("GET", "/ping", 200, 0.001, quiet=True)  # DEBUG: not written at INFO
context.detach(token)
"""


def test_the_direct_access_line_is_the_one_logging_writes() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=60
    )
    direct, through_logging = (json.loads(line) for line in done.stderr.splitlines())
    assert list(direct) == list(through_logging)
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"  # logging's default, local time
    assert re.fullmatch(stamp, direct.pop("time"))
    assert re.fullmatch(stamp, through_logging.pop("time"))
    assert direct == through_logging
    assert direct["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
