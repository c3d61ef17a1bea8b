"""What `make -C project run` starts: each service's command, settings and what it waits for."""

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from launcher import prometheus
from launcher.probes import DEFAULT_RABBIT_URL
from launcher.secantus import secantus_argv
from launcher.settings import LauncherSettings


@dataclass(frozen=True)
class Service:
    """One process: started once all its `needs` are ready; ready when `ready_url` answers 200
    (an `http://` URL), or accepts a connection (a `tcp://host:port` one)."""

    name: str
    argv: list[str]
    ready_url: str
    env: dict[str, str] = field(default_factory=dict)
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    services: list[Service]
    # What a person opens once everything is ready: (what, address).
    addresses: list[tuple[str, str]]
    # Each HTTP service's base URL, by service name.
    urls: dict[str, str] = field(default_factory=dict)
    # The page's origins, which alone may call the broker from a browser (and the lab).
    page_origins: tuple[str, ...] = ()


def _python(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def build_plan(
    settings: LauncherSettings,
    *,
    start_catcher: bool,
    start_mongo: bool = False,
    prometheus: str | None = None,
    rabbitmq_metrics: str | None = None,
    environ: Mapping[str, str] | None = None,
    through: Mapping[str, str] | None = None,
) -> Plan:
    """The services in dependency order, each told where its downstreams listen; `through`
    (the lab's proxied `DSN` and `RABBIT_URL`) overrides the environment for every one."""
    env = os.environ if environ is None else environ
    host = settings.host
    local = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    ports = {
        "broker": settings.port("broker", 8080),
        "auth": settings.port("auth", 8081),
        "front_end": settings.port("front_end", 8082),
        "mail": settings.port("mail", 8083),
        "logger": settings.port("logger", 8084),
        "listener": settings.port("listener", 8085),
        "logger_rpc": settings.port("logger_rpc", 5001),
        "logger_grpc": settings.port("logger_grpc", 50001),
        "catcher_smtp": settings.port("catcher_smtp", 1025),
        "catcher_http": settings.port("catcher_http", 8025),
        "mongo": settings.port("mongo", 27017),
        "prometheus": settings.port("prometheus", 9090),
        "lab": settings.port("lab", 8086),
    }
    url = {name: f"http://{local}:{port}" for name, port in ports.items()}
    services: list[Service] = []
    logger_needs: tuple[str, ...] = ()
    if start_mongo:
        services.append(
            Service(
                "mongo",
                secantus_argv(local, ports["mongo"], settings.data_dir / "mongo"),
                f"tcp://{local}:{ports['mongo']}",
            )
        )
        logger_needs = ("mongo",)
    mongo_url = env.get("MONGO_URL") or f"mongodb://{local}:{ports['mongo']}/?directConnection=true"
    mail_needs: tuple[str, ...] = ()
    if start_catcher:
        services.append(
            Service(
                "mailcatcher",
                _python("mailcatcher"),
                url["catcher_http"] + "/api/v2/messages",
                {
                    "CATCHER_HOST": host,
                    "CATCHER_SMTP_PORT": str(ports["catcher_smtp"]),
                    "CATCHER_HTTP_PORT": str(ports["catcher_http"]),
                },
            )
        )
        mail_needs = ("mailcatcher",)
    mail_server = (
        {"MAIL_HOST": local, "MAIL_PORT": str(ports["catcher_smtp"])}
        if not (env.get("MAIL_HOST") or env.get("MAIL_PORT"))
        else {}
    )
    front_origins = [
        f"http://localhost:{ports['front_end']}",
        f"http://127.0.0.1:{ports['front_end']}",
    ]
    cors = ",".join(filter(None, [env.get("CORS_ORIGINS", ""), *front_origins]))

    def service(
        name: str, module: str, port: str, extra: dict[str, str], needs: tuple[str, ...] = ()
    ) -> Service:
        bind = {"HOST": host, "PORT": str(ports[port])}
        return Service(
            name, _python(module), url[port] + "/ready", {**bind, **(through or {}), **extra}, needs
        )

    services += [
        service(
            "logger",
            "logger_service",
            "logger",
            {
                "RPC_PORT": str(ports["logger_rpc"]),
                "GRPC_PORT": str(ports["logger_grpc"]),
                "MONGO_URL": mongo_url,
            },
            logger_needs,
        ),
        service(
            "auth", "authentication_service", "auth", {"LOGGER_URL": url["logger"]}, ("logger",)
        ),
        service("mail", "mail_service", "mail", mail_server, mail_needs),
        service(
            "listener", "listener_service", "listener", {"LOGGER_URL": url["logger"]}, ("logger",)
        ),
        service(
            "broker",
            "broker_service",
            "broker",
            {
                "AUTH_URL": url["auth"],
                "MAIL_URL": url["mail"],
                "LOGGER_URL": url["logger"],
                "LOGGER_RPC_ADDR": f"{local}:{ports['logger_rpc']}",
                "LOGGER_GRPC_ADDR": f"{local}:{ports['logger_grpc']}",
                "CORS_ORIGINS": cors,
            },
            ("auth", "mail", "logger", "listener"),
        ),
        service(
            "front-end",
            "front_end",
            "front_end",
            {
                "BROKER_URL": f"http://localhost:{ports['broker']}",
                **({"LAB_URL": f"http://localhost:{ports['lab']}"} if settings.lab else {}),
            },
            ("broker",),
        ),
    ]
    if prometheus is not None:
        services.append(_prometheus(settings, prometheus, services, ports, local, rabbitmq_metrics))
    rabbit_host = urlsplit(env.get("RABBIT_URL") or DEFAULT_RABBIT_URL).hostname or "localhost"
    mail_ui = (
        f"http://localhost:{ports['catcher_http']}" if start_catcher else "http://localhost:8025"
    )
    addresses = [
        ("page", f"http://localhost:{ports['front_end']}"),
        ("broker", f"http://localhost:{ports['broker']}"),
        ("RabbitMQ console", f"http://{_browser_host(rabbit_host)}:15672"),
        ("mail UI", mail_ui),
    ]
    if prometheus is not None:
        addresses.append(("Prometheus", f"http://localhost:{ports['prometheus']}"))
    if settings.lab:
        addresses.append(
            ("lab controls", f"the page's Lab panel (API http://127.0.0.1:{ports['lab']})")
        )
    names = {"broker", "auth", "mail", "logger", "listener", "front-end"}
    urls = {s.name: s.ready_url.removesuffix("/ready") for s in services if s.name in names}
    return Plan(services, addresses, urls, tuple(front_origins))


# The compose names, as the Prometheus of compose calls its jobs.
_JOBS = {
    "broker": "broker-service",
    "auth": "authentication-service",
    "front-end": "front-end",
    "mail": "mailer-service",
    "logger": "logger-service",
    "listener": "listener-service",
}


def _prometheus(
    settings: LauncherSettings,
    program: str,
    services: list[Service],
    ports: dict[str, int],
    local: str,
    rabbitmq_metrics: str | None,
) -> Service:
    """Prometheus scraping every service of the plan; it needs none of them to start."""
    folder = settings.data_dir / "prometheus"
    folder.mkdir(parents=True, exist_ok=True)
    targets = {_JOBS[s.name]: urlsplit(s.ready_url).netloc for s in services if s.name in _JOBS}
    config_file = folder / "prometheus.yml"
    config_file.write_text(prometheus.config(targets, rabbitmq_metrics))
    listen = f"{local}:{ports['prometheus']}"
    return Service(
        "prometheus",
        prometheus.argv(program, config_file, folder / "data", listen),
        f"http://{listen}/-/ready",
    )


def _browser_host(host: str) -> str:
    return "localhost" if host in ("127.0.0.1", "::1") else host
