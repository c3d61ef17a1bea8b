"""The Swarm stack's files checked without an engine: project/swarm.yml keeps every promise
docs/production.md makes of it, and Debian's caddy accepts caddy/Caddyfile.swarm in both of its
modes (the internal CA with plain HTTP kept, ACME with a redirect and HSTS). The stack itself
runs in test_swarm.py."""

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

PROJECT = Path(__file__).resolve().parents[1]
STACK = yaml.safe_load((PROJECT / "swarm.yml").read_text())
CADDYFILE = PROJECT / "caddy" / "Caddyfile.swarm"
OURS = [
    "broker-service",
    "authentication-service",
    "front-end",
    "mailer-service",
    "logger-service",
    "listener-service",
]
# Each credential's secret and the `*_FILE` setting that reads it, per service.
SECRET_FILES = {
    "authentication-service": {"DB_PASSWORD_FILE": "postgres_password"},
    "logger-service": {
        "MONGO_USERNAME_FILE": "mongo_username",
        "MONGO_PASSWORD_FILE": "mongo_password",
    },
    "mailer-service": {"MAIL_PASSWORD_FILE": "smtp_password"},
    "postgres": {"POSTGRES_PASSWORD_FILE": "postgres_password"},
    "mongo": {
        "MONGO_INITDB_ROOT_USERNAME_FILE": "mongo_username",
        "MONGO_INITDB_ROOT_PASSWORD_FILE": "mongo_password",
    },
}


def services() -> dict[str, Any]:
    found: dict[str, Any] = STACK["services"]
    return found


def test_every_service_is_reached_by_name_without_virtual_ips() -> None:
    for name, service in services().items():
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
        assert service["networks"] == ["backend"], name
    assert STACK["networks"]["backend"]["driver"] == "overlay"
    assert STACK["networks"]["backend"]["attachable"] is True
    # Only the proxy is published, on the host's own ports (no routing mesh).
    published = {n: s["ports"] for n, s in services().items() if "ports" in s}
    assert list(published) == ["proxy"]
    assert all(port["mode"] == "host" for port in published["proxy"])


def test_ours_roll_one_at_a_time_new_first_and_roll_back_by_themselves() -> None:
    for name in OURS:
        deploy = services()[name]["deploy"]
        update = deploy["update_config"]
        assert (update["parallelism"], update["order"]) == (1, "start-first"), name
        assert update["failure_action"] == "rollback", name
        assert deploy["rollback_config"]["parallelism"] == 1, name
        assert deploy["restart_policy"]["condition"] == "any", name
        assert {"limits", "reservations"} <= set(deploy["resources"]), name
        # Liveness, not readiness: one shared downstream's outage must not empty the upstreams.
        assert "/ping" in " ".join(services()[name]["healthcheck"]["test"]), name
    assert services()["broker-service"]["deploy"]["replicas"] == "${BROKER_REPLICAS:-3}"
    assert services()["listener-service"]["deploy"]["replicas"] == "${LISTENER_REPLICAS:-2}"


def test_stateful_services_are_pinned_and_never_run_twice_on_their_data() -> None:
    for name in ["postgres", "mongo", "rabbitmq"]:
        deploy = services()[name]["deploy"]
        assert deploy["placement"]["constraints"] == ["node.labels.go-micro.data == true"]
        assert deploy["update_config"]["order"] == "stop-first", name
        assert services()[name]["volumes"], name


def test_credentials_are_secrets_read_through_file_settings_never_environment_values() -> None:
    for name, files in SECRET_FILES.items():
        service = services()[name]
        for variable, secret in files.items():
            assert service["environment"][variable] == f"/run/secrets/{secret}", name
            assert secret in service["secrets"], name
    for name, service in services().items():
        for variable, value in service.get("environment", {}).items():
            if "PASSWORD" in variable:
                assert variable.endswith("_FILE"), (name, variable)
            assert "password=" not in str(value), (name, variable)
    assert set(STACK["secrets"]) == {s for f in SECRET_FILES.values() for s in f.values()}


def caddy(mode: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("caddy")
    if binary is None:
        pytest.fail("caddy is not installed: `apt-get install caddy` (.ci/run installs it)")
    return subprocess.run(
        [binary, *args, "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **mode},
        check=False,
    )


INTERNAL = {"HTTP_PORT": "8080", "HTTPS_PORT": "443", "PAGE_PORT": "8443"}
ACME = {**INTERNAL, "DOMAIN": "go-micro.example.com", "PROXY_TLS": "acme", "HTTP_PORT": "80"}


def adapted(mode: dict[str, str]) -> dict[str, Any]:
    done = caddy(mode, "adapt")
    assert done.returncode == 0, done.stderr
    servers: dict[str, Any] = json.loads(done.stdout)["apps"]["http"]["servers"]
    return servers


def server_on(servers: dict[str, Any], port: str) -> str:
    """The JSON of the server listening on `port`, as text to look into."""
    return next(json.dumps(s) for s in servers.values() if s["listen"] == [f":{port}"])


@pytest.mark.parametrize("mode", [INTERNAL, ACME], ids=["internal", "acme"])
def test_caddy_validates_the_swarm_caddyfile(mode: dict[str, str]) -> None:
    done = caddy(mode, "validate")
    assert done.returncode == 0, done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


def test_without_a_domain_localhost_gets_https_and_plain_http_keeps_the_broker() -> None:
    servers = adapted(INTERNAL)
    https, page, plain = (server_on(servers, p) for p in ("443", "8443", "8080"))
    for broker in (https, plain):
        assert '"name": "tasks.broker-service"' in broker
        assert '"refresh": 1000000000' in broker
        assert '"try_duration": 5000000000' in broker
    assert '"host": ["localhost"]' in https
    assert "front-end:8082" in page
    assert "Strict-Transport-Security" not in https + page
    assert '"nosniff"' in https
    assert '"nosniff"' in page


def test_with_a_domain_http_redirects_to_https_with_hsts() -> None:
    servers = adapted(ACME)
    https, page, plain = (server_on(servers, p) for p in ("443", "8443", "80"))
    assert '"host": ["go-micro.example.com"]' in https
    assert "Strict-Transport-Security" in https
    assert "Strict-Transport-Security" in page
    assert "tasks.broker-service" not in plain
    assert '"Location": ["https://{http.request.host}{http.request.uri}"]' in plain
    assert '"status_code": 301' in plain
