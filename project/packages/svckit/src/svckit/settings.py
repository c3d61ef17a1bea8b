"""The settings base: every service reads its environment once, validated at start-up."""

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """Common settings; each service subclasses this and sets its own `port` default.

    Environment variable names are the field names in upper case (`PORT`, `LOG_LEVEL`, ...).
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
