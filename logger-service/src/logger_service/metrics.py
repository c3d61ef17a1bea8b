"""The logger's own figures: writes by door and outcome, and how long the store takes."""

from prometheus_client import Counter, Histogram
from svckit.metrics import service

WRITES = Counter(
    "logger_writes", "Log entries written, by door and outcome", ["service", "door", "outcome"]
)
STORE_WRITE = Histogram(
    "logger_store_write_duration_seconds",
    "Time one store write takes (one command, for every entry of its batch)",
    ["service"],
)
STORE_BATCH = Histogram(
    "logger_store_batch_size",
    "Entries per store write: those that arrived while the previous write was in flight",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024),
)


def written(door: str, ok: bool) -> None:
    WRITES.labels(service(), door, "ok" if ok else "error").inc()
