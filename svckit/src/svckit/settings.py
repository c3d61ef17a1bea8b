"""The settings base: every service reads its environment once, validated at start-up."""

import ipaddress
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Loopback and the private ranges: where a Prometheus of a demo, compose or a cluster scrapes
# from, and no caller on the internet does.
PRIVATE_NETWORKS = "127.0.0.0/8,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7"


class ServiceSettings(BaseSettings):
    """Common settings; each service subclasses this and sets its own `port` default.

    Environment variable names are the field names in upper case (`PORT`, `LOG_LEVEL`, ...).
    The HTTP door's limits are explained in svckit's README.
    """

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    host: str = "0.0.0.0"
    port: int = 8080
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "text"] = "json"
    # Seconds uvicorn waits for in-flight requests after SIGTERM before it closes them.
    shutdown_grace: int = 10
    # Peers whose X-Forwarded-For is believed (uvicorn's meaning: addresses, networks, or *):
    # the client address then comes from that header, skipping these peers, else it is the peer.
    forwarded_allow_ips: str = "127.0.0.1"

    # The HTTP door's bounds (svckit.http_limits), so no client holds it with slow or big
    # requests. Open connections plus running requests beyond this are answered 503.
    limit_concurrency: int = Field(default=1000, ge=1)
    # Request line and headers together; more is answered 431 (Go's MaxHeaderBytes).
    max_header_bytes: int = Field(default=64 * 1024, ge=1024)
    # Seconds from a connection's (or a request's) first byte to its last header line
    # (Go's ReadHeaderTimeout); a connection still sending them is closed.
    header_timeout: float = Field(default=10.0, gt=0)
    # Seconds from the headers to the body's last byte; a body still arriving gets 408.
    body_timeout: float = Field(default=30.0, gt=0)
    # Seconds an idle keep-alive connection is kept (uvicorn's timeout_keep_alive).
    keep_alive_timeout: int = Field(default=5, ge=1)
    # Who may read /metrics: comma-separated addresses or networks of the client (after
    # FORWARDED_ALLOW_IPS), `*` for anyone, empty to turn /metrics off.
    metrics_allow_ips: str = PRIVATE_NETWORKS

    @field_validator("metrics_allow_ips")
    @classmethod
    def _networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip() not in ("", "*"):
                ipaddress.ip_network(item.strip(), strict=False)
        return value

    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network] | None:
        """The networks /metrics answers, None for anyone; an empty list: /metrics is off."""
        items = [item.strip() for item in self.metrics_allow_ips.split(",") if item.strip()]
        if "*" in items:
            return None
        return [ipaddress.ip_network(item, strict=False) for item in items]
