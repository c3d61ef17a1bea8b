"""The launcher's own settings: `LAUNCHER_*`; the services' settings pass through untouched."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# src/launcher/settings.py → the repository root (the launcher runs from the workspace).
REPO_ROOT = Path(__file__).resolve().parents[5]


class LauncherSettings(BaseSettings):
    """Each port defaults to the contract's port plus `port_offset`; each can be set alone."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHER_", extra="ignore")

    port_offset: int = Field(
        0,
        description="added to every default port below (e.g. `1000`: broker 9080, logger RPC 6001)",
    )
    broker_port: int | None = Field(None, description="broker HTTP; unset: 8080 + the offset")
    auth_port: int | None = Field(
        None, description="authentication-service HTTP; unset: 8081 + the offset"
    )
    front_end_port: int | None = Field(
        None, description="front-end HTTP (the page); unset: 8082 + the offset"
    )
    mail_port: int | None = Field(None, description="mail-service HTTP; unset: 8083 + the offset")
    logger_port: int | None = Field(None, description="logger HTTP; unset: 8084 + the offset")
    logger_rpc_port: int | None = Field(
        None, description="logger net/rpc (gob and jsonrpc); unset: 5001 + the offset"
    )
    logger_grpc_port: int | None = Field(None, description="logger gRPC; unset: 50001 + the offset")
    listener_port: int | None = Field(
        None, description="listener probes and `/metrics`; unset: 8085 + the offset"
    )
    catcher_smtp_port: int | None = Field(
        None,
        description="the mail server looked for, or the catcher's SMTP; unset: 1025 + the offset",
    )
    catcher_http_port: int | None = Field(
        None, description="the catcher's page and API; unset: 8025 + the offset"
    )
    mongo_port: int | None = Field(
        None,
        description="the MongoDB looked for, or where SecantusDB is started; unset: 27017 + the"
        " offset",
    )
    prometheus_port: int | None = Field(
        None,
        description="where Prometheus listens, when the launcher runs it; unset: 9090 + the offset",
    )
    prometheus: bool = Field(
        True, description="run Debian's Prometheus when it is installed (`false`: never)"
    )
    host: str = Field(
        "127.0.0.1",
        description="the interface every service binds; loopback keeps a developer's copy off"
        " the network",
    )
    ready_timeout: float = Field(90.0, description="seconds each service may take to become ready")
    stop_grace: float = Field(
        15.0, description="seconds each service may take to stop after SIGTERM before it is killed"
    )
    # compose's `restart: unless-stopped`, with back-off.
    restart_delay: float = Field(
        0.5, description="seconds before a service that exited is started again"
    )
    restart_max_delay: float = Field(
        30.0,
        description="the most that delay grows to, doubling with each exit in a row",
    )
    restart_reset: float = Field(
        10.0, description="seconds of readiness after which the delay starts over"
    )
    data_dir: Path = Field(
        REPO_ROOT / "project" / ".data",
        description="where the embedded stand-ins (SecantusDB, Prometheus) keep their data",
    )

    lab: bool = Field(
        True,
        description="Lab controls: a control API on 127.0.0.1, fault proxies in front of "
        "PostgreSQL and RabbitMQ, and the page's Lab panel (kill, hang, resume, restart, cut, "
        "delay, a steady trickle). `false`: none of them, the services reach the servers directly.",
    )
    lab_port: int | None = Field(
        None,
        description="The lab control API's port (default 8086 + `LAUNCHER_PORT_OFFSET`); it "
        "always binds 127.0.0.1 and answers only the page's origin.",
    )
    lab_delay: float = Field(
        0.5,
        ge=0,
        description="Seconds the lab's `delay` holds every chunk passing a fault proxy, each way.",
    )

    def port(self, name: str, default: int) -> int:
        value: int | None = getattr(self, f"{name}_port")
        return value if value is not None else default + self.port_offset
