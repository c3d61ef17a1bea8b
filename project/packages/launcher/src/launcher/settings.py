"""The launcher's own settings: `LAUNCHER_*`; the services' settings pass through untouched."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# src/launcher/settings.py → the repository root (the launcher runs from the workspace).
REPO_ROOT = Path(__file__).resolve().parents[5]


class LauncherSettings(BaseSettings):
    """Each port defaults to the contract's port plus `port_offset`; each can be set alone."""

    model_config = SettingsConfigDict(env_prefix="LAUNCHER_", extra="ignore")

    port_offset: int = 0
    broker_port: int | None = None
    auth_port: int | None = None
    front_end_port: int | None = None
    mail_port: int | None = None
    logger_port: int | None = None
    logger_rpc_port: int | None = None
    logger_grpc_port: int | None = None
    listener_port: int | None = None
    catcher_smtp_port: int | None = None
    catcher_http_port: int | None = None
    mongo_port: int | None = None
    prometheus_port: int | None = None
    # Start Debian's Prometheus when it is installed (false: never).
    prometheus: bool = True
    # The interface every service binds; loopback keeps a developer's copy off the network.
    host: str = "127.0.0.1"
    # Seconds a service may take to become ready.
    ready_timeout: float = 90.0
    # Seconds a service may take to stop after SIGTERM before it is killed.
    stop_grace: float = 15.0
    # A service that exits is started again after `restart_delay` seconds, doubled for each
    # exit in a row up to `restart_max_delay`; back to `restart_delay` once it stayed ready for
    # `restart_reset` seconds (compose's `restart: unless-stopped`).
    restart_delay: float = 0.5
    restart_max_delay: float = 30.0
    restart_reset: float = 10.0
    data_dir: Path = REPO_ROOT / "project" / ".data"
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
