"""Offline checks of the deployment files: compose, Dockerfiles, Kubernetes manifests, Makefile,
and the configurations compose mounts (Caddy, Prometheus, Grafana).

No Docker engine runs here, so each file goes through the validator its tool would apply
(docker-compose's own, the compose spec's schema, hadolint, kubernetes-validate, caddy validate,
promtool), and the ports and names in every file are checked against docs/contracts.md.
"""

import ast
import copy
import functools
import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "project"
COMPOSE_FILE = PROJECT / "docker-compose.yml"
K8S = PROJECT / "k8s"
BIN = Path(sys.executable).parent

# folder -> (package, make target); compose names come from the contract.
SERVICES = {
    "broker-service": ("broker_service", "build_broker"),
    "authentication-service": ("authentication_service", "build_auth"),
    "front-end": ("front_end", "build_front"),
    "mail-service": ("mail_service", "build_mail"),
    "logger-service": ("logger_service", "build_logger"),
    "listener-service": ("listener_service", "build_listener"),
}
# In compose these publish nothing: the proxy publishes the broker's 8080 and balances its
# replicas; the listener's port serves only its probes and /metrics; only the broker calls auth
# (published, a host client would arrive from the gateway and could claim any address).
UNPUBLISHED = {"broker-service", "listener-service", "authentication-service"}
# Compose only: on Kubernetes the Service balances the broker, and the cluster brings its own
# Prometheus, Grafana and trace store.
COMPOSE_ONLY = {"proxy", "jaeger", "prometheus", "grafana", "loadgen"}
# No Kubernetes Service: nothing calls the listener (Prometheus finds its pods by annotation).
NO_SERVICE = {"listener-service"}
CADDYFILE = PROJECT / "caddy" / "Caddyfile"
PROMETHEUS_CONFIG = PROJECT / "prometheus" / "prometheus.yml"
GRAFANA = PROJECT / "grafana"


def contract() -> dict[str, tuple[str | None, list[int]]]:
    """compose name -> (service folder or None for data services, ports) from the contract."""
    text = (ROOT / "docs" / "contracts.md").read_text()
    table = text.split("## Ports and names", 1)[1].split("\n\n", 2)[1]
    rows: dict[str, tuple[str | None, list[int]]] = {}
    for line in table.splitlines()[2:]:
        folder, names_cell, ports_cell = (c.strip() for c in line.strip("|").split("|"))
        names = re.findall(r"`([^`]+)`", names_cell)
        port_groups = ports_cell.split(" / ") if len(names) > 1 else [ports_cell]
        assert len(port_groups) == len(names), f"cannot read the contract row: {line}"
        for name, group in zip(names, port_groups, strict=True):
            owner = folder if folder in SERVICES else None
            rows[name] = (owner, [int(p) for p in re.findall(r"\d+", group)])
    return rows


def compose_name(folder: str) -> str:
    return next(name for name, (owner, _) in contract().items() if owner == folder)


def load_compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def compose_default(value: str) -> str:
    """What compose makes of `${NAME:-default}` when NAME is not set."""
    found = re.fullmatch(r"\$\{[A-Z_]+:-(.*)\}", value)
    assert found, f"not a variable with a default: {value}"
    return found.group(1)


@functools.cache
def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    """Every manifest's documents, parsed once: copy before changing them."""
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, **kwargs)


def debian_tool(name: str, package: str) -> str:
    """The path of a program from Debian's packages; a clear failure when it is missing."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not installed: `apt-get install {package}`"
            " (`make -C project deps` installs it)"
        )
    return found


def docker_compose() -> str:
    return debian_tool("docker-compose", "docker-compose")


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        pytest.fail(f"{name} is missing from {BIN}: run `uv sync --frozen` (dev group)")
    return str(path)


BROKEN_COMPOSE = """\
services:
  web:
    image: nginx
    depends_on:
      db:
        condition: service_happy
  db:
    image: postgres
"""


# --- compose ---------------------------------------------------------------------------------


def test_compose_file_passes_docker_compose_config() -> None:
    result = run([docker_compose(), "--file", str(COMPOSE_FILE), "config", "--quiet"])
    assert result.returncode == 0, result.stderr


def test_the_labs_override_passes_docker_compose_config() -> None:
    override = PROJECT / "lab" / "docker-compose.lab.yml"
    cmd = [docker_compose(), "--file", str(COMPOSE_FILE), "--file", str(override), "config"]
    result = run([*cmd, "--quiet"])
    assert result.returncode == 0, result.stderr
    # Only the images change: no service of its own, every stand-in named under our prefix.
    services = yaml.safe_load(override.read_text())["services"]
    assert set(services) <= set(load_compose()["services"])
    for name, svc in services.items():
        if "image" in svc:
            assert svc["image"].startswith("go-micro-py-lab/"), name


def test_jaeger_and_grafana_are_the_observability_profile_make_up_starts() -> None:
    services = load_compose()["services"]
    profiled = {name for name, svc in services.items() if "profiles" in svc}
    assert profiled == {"jaeger", "grafana", "loadgen"}
    assert all(services[n]["profiles"] == ["observability"] for n in ("jaeger", "grafana"))
    # Load only when asked for: its own profile, which `make up_build` leaves out.
    assert services["loadgen"]["profiles"] == ["loadgen"]
    result = run(["make", "--no-print-directory", "-n", "-C", str(PROJECT), "up_build"])
    assert "--profile observability" in result.stdout
    assert "--profile loadgen" not in result.stdout


def test_compose_file_matches_the_compose_spec_schema() -> None:
    cmd = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)]
    result = run(cmd)
    assert result.returncode == 0, result.stdout + result.stderr


def test_both_compose_validators_refuse_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(BROKEN_COMPOSE)
    by_compose = run([docker_compose(), "--file", str(broken), "config", "--quiet"])
    assert by_compose.returncode != 0
    assert "service_happy" in by_compose.stderr
    schema = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)]
    by_schema = run(schema)
    assert by_schema.returncode != 0


def test_compose_names_and_ports_are_the_contracts_on_both_sides() -> None:
    services = load_compose()["services"]
    assert set(services) == set(contract())
    for name, (_, ports) in contract().items():
        mappings = [str(m) for m in services[name].get("ports", [])]
        pairs = [m.split(":") for m in mappings]
        assert all(host == inside for host, inside in pairs), f"{name}: {mappings}"
        published = [] if name in UNPUBLISHED else ports
        assert sorted(int(host) for host, _ in pairs) == sorted(published), name


def test_every_container_is_health_checked_restarted_and_started_in_order() -> None:
    services = load_compose()["services"]
    for name, svc in services.items():
        assert svc["healthcheck"]["test"][0] == "CMD", name
        assert svc["restart"] in ("unless-stopped", "always"), name
        # A fixed container name would forbid replicas.
        assert "container_name" not in svc, name
        for dependency, how in svc.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert how == {"condition": "service_healthy"}, f"{name} -> {dependency}"
    for folder in SERVICES:
        svc = services[compose_name(folder)]
        assert svc["build"] == {"context": "..", "dockerfile": f"{folder}/Dockerfile"}
        assert svc["image"] == f"go-micro-py/{folder}:latest"
        assert "/ready" in " ".join(svc["healthcheck"]["test"]), folder
        port = contract()[compose_name(folder)][1]
        assert svc["environment"]["PORT"] == str(port[0]), folder


def test_broker_and_listener_run_replicas_whose_count_is_a_variable() -> None:
    services = load_compose()["services"]
    for name, variable in (
        ("broker-service", "BROKER_REPLICAS"),
        ("listener-service", "LISTENER_REPLICAS"),
    ):
        replicas = services[name]["deploy"]["replicas"]
        assert replicas.startswith("${" + variable + ":-"), name
        assert int(compose_default(replicas)) >= 2, name
        assert "ports" not in services[name], name


def test_the_proxy_is_the_broker_replicas_one_door() -> None:
    services = load_compose()["services"]
    proxy, broker = services["proxy"], services["broker-service"]
    assert proxy["image"].startswith("caddy:2.")
    assert "./caddy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["depends_on"] == {"broker-service": {"condition": "service_healthy"}}
    assert services["front-end"]["depends_on"] == {"proxy": {"condition": "service_healthy"}}
    # By default the proxy checks every replica compose starts, by its container's name.
    count = int(compose_default(broker["deploy"]["replicas"]))
    upstreams = compose_default(proxy["environment"]["BROKER_UPSTREAMS"]).split()
    assert upstreams == [f"go-micro-py-broker-service-{n}:8080" for n in range(1, count + 1)]
    # The broker believes X-Forwarded-For from the proxy alone, whose address Docker never
    # hands to another container.
    address = ipaddress.ip_address(proxy["networks"]["default"]["ipv4_address"])
    assert broker["environment"]["FORWARDED_ALLOW_IPS"] == str(address)
    (pool,) = load_compose()["networks"]["default"]["ipam"]["config"]
    assert address in ipaddress.ip_network(pool["subnet"])
    assert address not in ipaddress.ip_network(pool["ip_range"])
    assert proxy["environment"]["PROXY_PORT"] == "8080"


def networks_of(svc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """network -> its settings for a compose service (`default` when none are named)."""
    named = svc.get("networks") or {"default": {}}
    return {net: (how or {}) for net, how in named.items()}


def test_auth_believes_x_forwarded_for_from_the_broker_replicas_alone() -> None:
    compose = load_compose()
    services = compose["services"]
    auth = services["authentication-service"]
    trusted = ipaddress.ip_network(auth["environment"]["FORWARDED_ALLOW_IPS"])
    # Auth lives on one network, so whoever reaches it arrives from an address there.
    (network,) = networks_of(auth)
    (pool,) = compose["networks"][network]["ipam"]["config"]
    subnet = ipaddress.ip_network(pool["subnet"])
    # What auth believes is exactly the range Docker hands out there, which holds neither the
    # gateway (where a host client arrives from) nor any fixed address.
    assert trusted == ipaddress.ip_network(pool["ip_range"])
    assert next(subnet.hosts()) not in trusted
    members = {name: svc for name, svc in services.items() if network in networks_of(svc)}
    dynamic = {
        name for name, svc in members.items() if "ipv4_address" not in networks_of(svc)[network]
    }
    assert dynamic == {"broker-service"}
    for name, svc in members.items():
        if name in dynamic:
            continue
        address = ipaddress.ip_address(networks_of(svc)[network]["ipv4_address"])
        assert address in subnet, name
        assert address not in trusted, name
    # Nobody reaches auth from outside Docker.
    assert "ports" not in auth
    assert services["broker-service"]["environment"]["AUTH_URL"].startswith(
        "http://authentication-service:"
    )


def test_nothing_believes_x_forwarded_for_beyond_the_proxy_and_the_broker() -> None:
    services = load_compose()["services"]
    believing = {
        name
        for name, svc in services.items()
        if "FORWARDED_ALLOW_IPS" in svc.get("environment", {})
    }
    assert believing == {"broker-service", "authentication-service"}


def test_metrics_are_served_to_prometheus_alone_and_prometheus_scrapes_every_service() -> None:
    services = load_compose()["services"]
    prometheus = networks_of(services["prometheus"])
    fixed = {ipaddress.ip_address(how["ipv4_address"]) for how in prometheus.values()}
    for folder in SERVICES:
        name = compose_name(folder)
        allowed = services[name]["environment"]["METRICS_ALLOW_IPS"].split(",")
        assert {ipaddress.ip_address(a) for a in allowed} == fixed, name
        # Prometheus shares a network with each service it scrapes.
        assert networks_of(services[name]).keys() & prometheus.keys(), name


def test_grpc_reflection_is_off_wherever_the_logger_is_deployed() -> None:
    assert load_compose()["services"]["logger-service"]["environment"]["GRPC_REFLECTION"] == "false"
    [logger] = [t for name, t in pod_templates() if name == "logger-service"]
    env = {e["name"]: e.get("value") for e in logger["spec"]["containers"][0]["env"]}
    assert env["GRPC_REFLECTION"] == "false"


def test_every_service_sends_its_traces_to_jaeger_under_its_compose_name() -> None:
    services = load_compose()["services"]
    for folder in SERVICES:
        name = compose_name(folder)
        settings = services[name]["environment"]
        assert settings["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317", name
        assert settings["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc", name
        assert settings["OTEL_SERVICE_NAME"] == name
    assert services["front-end"]["environment"]["TRACE_UI_URL"] == "http://localhost:16686"


def test_rabbitmq_runs_its_prometheus_plugin() -> None:
    rabbitmq = load_compose()["services"]["rabbitmq"]
    mount = "./rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro"
    assert mount in rabbitmq["volumes"]
    plugins = (PROJECT / "rabbitmq" / "enabled_plugins").read_text()
    assert re.fullmatch(r"\[([a-z_]+,)*[a-z_]+\]\.\n", plugins), plugins
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= set(re.findall(r"[a-z_]+", plugins))


def test_data_lives_in_named_volumes() -> None:
    compose = load_compose()
    declared = set(compose["volumes"])
    for name in ("postgres", "mongo", "rabbitmq"):
        volumes = compose["services"][name]["volumes"]
        # Configuration comes from the repository, read-only; data lives in named volumes.
        data = [v for v in volumes if not v.startswith("./")]
        assert data, name
        assert all(v.split(":")[0] in declared for v in data), name
        assert all(v.endswith(":ro") for v in volumes if v.startswith("./")), name


def test_compose_settings_use_the_originals_credentials() -> None:
    services = load_compose()["services"]
    dsn = services["authentication-service"]["environment"]["DSN"]
    assert dsn.startswith("host=postgres port=5432 user=postgres password=password dbname=users")
    mongo = services["mongo"]["environment"]
    assert (mongo["MONGO_INITDB_ROOT_USERNAME"], mongo["MONGO_INITDB_ROOT_PASSWORD"]) == (
        "admin",
        "password",
    )
    assert services["logger-service"]["environment"]["MONGO_URL"].startswith(
        "mongodb://admin:password@mongo:27017/"
    )
    assert services["front-end"]["environment"]["BROKER_URL"] == "http://localhost:8080"


def addresses(settings: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(setting, host, port) for every address a setting names."""
    found = []
    for key, value in settings.items():
        text = str(value)
        for host, port in re.findall(r"(?:^|//|@)([a-z][a-z-]*):(\d+)", text):
            found.append((key, host, int(port)))
        for host, port in re.findall(r"host=(\S+) port=(\d+)", text):
            found.append((key, host, int(port)))
    if "MAIL_HOST" in settings:
        found.append(("MAIL_HOST", str(settings["MAIL_HOST"]), int(settings["MAIL_PORT"])))
    return found


ADDRESS_SETTINGS = {
    "AUTH_URL",
    "MAIL_URL",
    "LOGGER_URL",
    "LOGGER_RPC_ADDR",
    "LOGGER_GRPC_ADDR",
    "RABBIT_URL",
    "DSN",
    "MONGO_URL",
    "MAIL_HOST",
}


def check_addresses(where: str, settings: dict[str, Any]) -> set[str]:
    """The settings whose addresses were checked against the contract."""
    ports = {name: p for name, (_, p) in contract().items()}
    checked = set()
    for key, host, port in addresses(settings):
        if host == "localhost":
            continue  # addresses the browser uses (BROKER_URL, CORS_ORIGINS)
        assert host in ports, f"{where} {key}: {host} is not a service of the contract"
        assert port in ports[host], f"{where} {key}: {host} does not listen on {port}"
        checked.add(key)
    return checked


def test_every_address_in_compose_names_a_contract_service_and_port() -> None:
    checked = set().union(
        *(
            check_addresses(f"compose {name}", svc.get("environment", {}))
            for name, svc in load_compose()["services"].items()
        )
    )
    assert checked == ADDRESS_SETTINGS | {"OTEL_EXPORTER_OTLP_ENDPOINT", "LOCUST_HOST"}


# --- Dockerfiles -----------------------------------------------------------------------------


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n\s*", "", dockerfile.read_text())
    found = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


# Every Dockerfile in the repository: the services' and the offline lab's.
DOCKERFILES = sorted(
    str(p.relative_to(ROOT))
    for p in ROOT.rglob("Dockerfile")
    if not {".venv", "node_modules", ".git"} & set(p.parts)
)


def test_every_service_and_the_lab_has_a_dockerfile() -> None:
    assert {f"{folder}/Dockerfile" for folder in SERVICES} | {"project/lab/Dockerfile"} <= set(
        DOCKERFILES
    )


@pytest.mark.parametrize("dockerfile", DOCKERFILES)
def test_dockerfile_passes_hadolint(dockerfile: str) -> None:
    result = run([tool("hadolint"), "--no-color", str(ROOT / dockerfile)])
    findings = result.stdout + result.stderr
    assert result.returncode == 0, findings
    assert not result.stdout.strip(), findings


def test_hadolint_flags_a_careless_dockerfile(tmp_path: Path) -> None:
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install fastapi\nCMD python app.py\n")
    result = run([tool("hadolint"), "--no-color", str(careless)])
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # the `latest` tag


def workspace_members() -> set[str]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    globs = root["tool"]["uv"]["workspace"]["members"]
    return {
        str(p.parent.relative_to(ROOT)) for g in globs for p in ROOT.glob(f"{g}/pyproject.toml")
    }


@pytest.mark.parametrize("folder", SERVICES)
def test_dockerfile_copies_every_workspace_members_pyproject_before_the_first_sync(
    folder: str,
) -> None:
    """uv checks the lock against every member: a member added to the workspace must be here."""
    steps = instructions(ROOT / folder / "Dockerfile")
    first_sync = next(i for i, (w, a) in enumerate(steps) if w == "RUN" and "uv sync" in a)
    copied = {
        args.split()[0].removesuffix("/pyproject.toml")
        for word, args in steps[:first_sync]
        if word == "COPY" and args.split()[0].endswith("/pyproject.toml")
    }
    missing = workspace_members() - copied
    assert not missing, f"add `COPY <member>/pyproject.toml <member>/` for: {sorted(missing)}"


@pytest.mark.parametrize("folder", SERVICES)
def test_dockerfile_follows_the_image_recipe(folder: str) -> None:
    package = SERVICES[folder][0]
    steps = instructions(ROOT / folder / "Dockerfile")
    # The base images are build arguments (the offline lab swaps them); users get the defaults.
    defaults = dict(args.split("=", 1) for word, args in steps if word == "ARG" and "=" in args)
    assert defaults["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+", defaults["UV_IMAGE"])
    froms = [args for word, args in steps if word == "FROM"]
    assert froms == ["${UV_IMAGE} AS uv", "${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE}"]
    copies = [args for word, args in steps if word == "COPY"]
    assert copies[0] == "--from=uv /uv /bin/"
    syncs = [args for word, args in steps if word == "RUN" and "uv sync" in args]
    assert len(syncs) == 2
    for sync in syncs:
        assert "--locked" in sync
        assert "--no-dev" in sync
        assert "--no-editable" in sync
        assert f"--package {folder}" in sync
    assert "--no-install-workspace" in syncs[0]
    assert "--no-install-workspace" not in syncs[1]
    user = [args for word, args in steps if word == "USER"]
    assert user
    assert user[-1].split(":")[0] not in ("0", "root")
    health = " ".join(args for word, args in steps if word == "HEALTHCHECK")
    assert "urllib" in health
    assert "/ping" in health
    exposed = sorted(int(p) for word, args in steps if word == "EXPOSE" for p in args.split())
    assert exposed == sorted(contract()[compose_name(folder)][1])
    assert steps[-1] == ("CMD", f'["python", "-m", "{package}"]')


# --- What ships and what does not ----------------------------------------------------------
# The top level (proto, svckit, the services) is what an image holds; project/tools is what runs,
# tests and measures it. Nothing that ships may need a tool, and the launcher needs no test kit.


def member_name(folder: str) -> str:
    return str(tomllib.loads((ROOT / folder / "pyproject.toml").read_text())["project"]["name"])


def locked_closure(name: str) -> set[str]:
    """Every package `name` needs at run time, as uv.lock resolves it (itself included)."""
    locked = tomllib.loads((ROOT / "uv.lock").read_text())["package"]
    needs = {p["name"]: {d["name"] for d in p.get("dependencies", [])} for p in locked}
    seen, todo = set(), [name]
    while todo:
        if (current := todo.pop()) not in seen:
            seen.add(current)
            todo.extend(needs.get(current, ()))
    return seen


def imported_roots(src: Path) -> set[str]:
    """The top-level modules the code under `src` imports."""
    roots = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                roots |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                roots.add(node.module.split(".")[0])
    return roots


SHIPPED = sorted(m for m in workspace_members() if "/" not in m)
TOOLS = sorted(m for m in workspace_members() if "/" in m)


def test_every_workspace_member_ships_at_the_top_level_or_is_a_tool() -> None:
    assert set(SHIPPED) == {"proto", "svckit", *SERVICES}
    assert {str(Path(m).parent) for m in TOOLS} == {"project/tools"}


@pytest.mark.parametrize("folder", SHIPPED)
def test_what_ships_needs_nothing_from_project_tools(folder: str) -> None:
    tools = {member_name(m) for m in TOOLS}
    assert not locked_closure(member_name(folder)) & tools
    assert not imported_roots(ROOT / folder / "src") & {t.replace("-", "_") for t in tools}


def test_the_launcher_needs_nothing_from_devkit() -> None:
    assert "devkit" not in locked_closure("launcher")
    assert "devkit" not in imported_roots(ROOT / "project/tools/launcher/src")


# --- Kubernetes ------------------------------------------------------------------------------


def test_k8s_manifests_pass_kubernetes_validate() -> None:
    files = sorted({str(path) for path, _ in k8s_documents()})
    result = run([tool("kubernetes-validate"), "--strict", "--quiet", *files])
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_refuses_a_wrong_manifest(tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: eighty\n"
    )
    result = run([tool("kubernetes-validate"), "--strict", "--quiet", str(wrong)])
    assert result.returncode != 0


def test_kustomization_applies_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = {K8S / r for r in kustomization["resources"]}
    present = {p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert listed == present
    namespaces = {doc["metadata"].get("namespace") for _, doc in k8s_documents()} - {None}
    assert namespaces == {kustomization["namespace"]}


def test_k8s_services_agree_with_the_contract() -> None:
    docs = k8s_documents()
    services = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}
    assert not services.keys() & (COMPOSE_ONLY | NO_SERVICE)
    for name, (_, ports) in contract().items():
        if name not in COMPOSE_ONLY | NO_SERVICE:
            found = sorted(p["port"] for p in services[name]["spec"]["ports"])
            assert found == sorted(ports), name


def test_k8s_deployments_probe_readiness_and_liveness() -> None:
    docs = k8s_documents()
    deployments = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Deployment"}
    configmaps = {d["metadata"]["name"]: d["data"] for _, d in docs if d["kind"] == "ConfigMap"}
    for folder in SERVICES:
        name = compose_name(folder)
        pod = deployments[name]["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == f"go-micro-py/{folder}:latest"
        assert pod["securityContext"]["runAsNonRoot"] is True
        # The broker aggregates every downstream: its pods stay ready through one's outage.
        ready_path = "/ping" if folder == "broker-service" else "/ready"
        assert container["readinessProbe"]["httpGet"]["path"] == ready_path
        if folder == "logger-service":
            assert container["livenessProbe"]["grpc"]["port"] == 50001
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
        expected = contract()[name][1]
        assert sorted(p["containerPort"] for p in container["ports"]) == sorted(expected)
        assert configmaps[name]["PORT"] == str(expected[0])


def test_every_address_in_the_k8s_settings_names_a_contract_service_and_port() -> None:
    checked = set().union(
        *(check_addresses(f"k8s {name}", settings) for name, settings in k8s_settings().items())
    )
    assert checked == ADDRESS_SETTINGS


# What the NetworkPolicies admit is computed from them as (from, to, port) edges, in and out: a
# workload's name, or `<namespace>/<app>` for a pod outside go-micro; "*" where a policy admits
# anyone or any port; a port other than TCP as `<port>/<protocol>`. The expected sets are
# written out, so a widened policy fails the equality.
APP_LABEL = "app.kubernetes.io/name"
# The labels naming a pod outside go-micro: ours, and CoreDNS' (`k8s-app: kube-dns`).
POD_NAME_LABELS = {APP_LABEL, "k8s-app"}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
INGRESS_CONTROLLER = "ingress-nginx/ingress-nginx"
PROMETHEUS = "monitoring/prometheus"
CLUSTER_DNS = "kube-system/kube-dns"
Edge = tuple[str, str, int | str]
SCRAPED_PORTS = {
    "broker-service": 8080,
    "authentication-service": 8081,
    "front-end": 8082,
    "mailer-service": 8083,
    "logger-service": 8084,
    "listener-service": 8085,
    "rabbitmq": 15692,
}
EXPECTED_EDGES: set[Edge] = {
    (INGRESS_CONTROLLER, "broker-service", 8080),
    (INGRESS_CONTROLLER, "front-end", 8082),
    ("broker-service", "authentication-service", 8081),
    ("broker-service", "mailer-service", 8083),
    ("broker-service", "logger-service", 8084),
    ("broker-service", "logger-service", 5001),
    ("broker-service", "logger-service", 50001),
    # Auth's activity log and the listener's forwarded events, both over HTTP.
    ("authentication-service", "logger-service", 8084),
    ("listener-service", "logger-service", 8084),
    ("authentication-service", "postgres", 5432),
    ("logger-service", "mongo", 27017),
    ("mailer-service", "mailhog", 1025),
    ("broker-service", "rabbitmq", 5672),
    ("listener-service", "rabbitmq", 5672),
    *((PROMETHEUS, name, port) for name, port in SCRAPED_PORTS.items()),
}
# The doors that face users, each reached through one proxy (auth's: the broker).
PROXY_OF = {
    "broker-service": INGRESS_CONTROLLER,
    "front-end": INGRESS_CONTROLLER,
    "authentication-service": "broker-service",
}


def pod_templates(
    docs: list[tuple[Path, dict[str, Any]]] | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """(workload name, pod template) for every Deployment and StatefulSet."""
    return [
        (d["metadata"]["name"], d["spec"]["template"])
        for _, d in (k8s_documents() if docs is None else docs)
        if d["kind"] in ("Deployment", "StatefulSet")
    ]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) selects these labels."""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, operator, values = expr["key"], expr["operator"], expr.get("values", [])
        found = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not found:
            return False
    return True


def only_label(selector: dict[str, Any] | None, keys: set[str]) -> str:
    """The value of the one label (of `keys`) a selector names, or "*" for any wider one."""
    labels = (selector or {}).get("matchLabels", {})
    if not selector or selector.get("matchExpressions") or len(labels) != 1 or labels.keys() - keys:
        return "*"
    return str(*labels.values())


def peers_of(
    peer: dict[str, Any], namespace: str, workloads: dict[str, dict[str, str]]
) -> set[str]:
    """Who one `from` or `to` entry names: our workloads, `<namespace>/<app>` or an address."""
    if "ipBlock" in peer:
        return {"ip:" + peer["ipBlock"]["cidr"]}
    pods = peer.get("podSelector", {})
    if "namespaceSelector" in peer:
        elsewhere = only_label(peer["namespaceSelector"], {NAMESPACE_LABEL})
        if elsewhere != namespace:
            return {f"{elsewhere}/{only_label(pods, POD_NAME_LABELS)}"}
    return {name for name, labels in workloads.items() if selects(pods, labels)}


def ports_of(rule: dict[str, Any], container_ports: dict[str, int]) -> set[int | str]:
    """The ports a rule opens (a named one by the pod's `container_ports`); "*" for all."""
    if not rule.get("ports"):
        return {"*"}
    found: set[int | str] = set()
    for port in rule["ports"]:
        if "port" not in port:
            found.add("*")
            continue
        if (protocol := port.get("protocol", "TCP")) != "TCP":
            found.add(f"{port['port']}/{protocol}")
            continue
        first = container_ports.get(port["port"], port["port"])
        found.update(range(int(first), int(port.get("endPort", first)) + 1))
    return found


def admitted_edges(
    docs: list[tuple[Path, dict[str, Any]]], direction: str = "Ingress"
) -> set[Edge]:
    """Every (from, to, port) the NetworkPolicies let in (`Ingress`) or out (`Egress`); a pod
    that no policy of that direction selects is open to all."""
    templates = dict(pod_templates(docs))
    workloads = {name: t["metadata"]["labels"] for name, t in templates.items()}
    rules_key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated: set[str] = set()
    edges: set[Edge] = set()
    for _, policy in docs:
        if policy["kind"] != "NetworkPolicy":
            continue
        spec, namespace = policy["spec"], policy["metadata"]["namespace"]
        # Kubernetes' default: Ingress always, Egress when the policy has egress rules.
        types = spec.get("policyTypes") or ["Ingress", *(["Egress"] if "egress" in spec else [])]
        if direction not in types:
            continue
        pods = {name for name, labels in workloads.items() if selects(spec["podSelector"], labels)}
        isolated |= pods
        for rule in spec.get(rules_key, []):
            peers = (
                set().union(*(peers_of(p, namespace, workloads) for p in rule[peers_key]))
                if rule.get(peers_key)
                else {"*"}
            )
            for pod in pods:
                if direction == "Egress":
                    edges |= {(pod, peer, port) for peer in peers for port in ports_of(rule, {})}
                    continue
                named = {
                    p["name"]: p["containerPort"]
                    for c in templates[pod]["spec"]["containers"]
                    for p in c.get("ports", [])
                    if "name" in p
                }
                edges |= {(peer, pod, port) for peer in peers for port in ports_of(rule, named)}
    unisolated = workloads.keys() - isolated
    if direction == "Ingress":
        return edges | {("*", name, "*") for name in unisolated}
    return edges | {(name, "*", "*") for name in unisolated}


def secrets() -> dict[str, dict[str, str]]:
    return {
        d["metadata"]["name"]: d["stringData"] for _, d in k8s_documents() if d["kind"] == "Secret"
    }


def secret_mounts(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """mount path -> (the mount, its secret volume) for every Secret the container mounts."""
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    return {
        m["mountPath"]: (m, volumes[m["name"]]["secret"])
        for m in container.get("volumeMounts", [])
        if "secret" in volumes.get(m["name"], {})
    }


def secret_file(pod: dict[str, Any], container: dict[str, Any], path: str) -> str | None:
    """The Secret value a file of a mounted secret volume holds (None: no such file)."""
    folder, _, name = path.rpartition("/")
    if folder not in (mounts := secret_mounts(pod, container)):
        return None
    secret = mounts[folder][1]
    keys = {i["path"]: i["key"] for i in secret.get("items", [])} or {name: name}
    return secrets()[secret["secretName"]].get(keys.get(name, ""))


def k8s_settings() -> dict[str, dict[str, Any]]:
    """workload -> the settings its container sees: ConfigMaps, env, and `X` for `X_FILE`."""
    docs = k8s_documents()
    configmaps = {d["metadata"]["name"]: d["data"] for _, d in docs if d["kind"] == "ConfigMap"}
    found = {}
    for name, template in pod_templates():
        (container, *_) = template["spec"]["containers"]
        settings: dict[str, Any] = {}
        for source in container.get("envFrom", []):
            settings |= configmaps[source["configMapRef"]["name"]]
        for env in container.get("env", []):
            value = secret_file(template["spec"], container, env.get("value", ""))
            if env["name"].endswith("_FILE") and value is not None:
                settings[env["name"].removesuffix("_FILE")] = value
        found[name] = settings
    return found


def callers_by_target() -> dict[tuple[str, int], set[str]]:
    """(workload, port) -> the workloads whose settings name it."""
    found: dict[tuple[str, int], set[str]] = {}
    for name, settings in k8s_settings().items():
        for _, host, port in addresses(settings):
            if host != "localhost":
                found.setdefault((host, port), set()).add(name)
    return found


def expected_egress() -> set[Edge]:
    """Each call leaves its caller as it enters its callee; every pod asks the cluster's DNS."""
    calls = {edge for edge in EXPECTED_EDGES if "/" not in edge[0]}
    dns = {(name, CLUSTER_DNS, port) for name, _ in pod_templates() for port in (53, "53/UDP")}
    return calls | dns


@pytest.mark.parametrize("direction", ["Ingress", "Egress"])
def test_k8s_network_policies_admit_exactly_the_expected_edges(direction: str) -> None:
    admitted = admitted_edges(k8s_documents(), direction)
    expected = EXPECTED_EDGES if direction == "Ingress" else expected_egress()
    assert admitted - expected == set(), "admitted, not expected"
    assert expected - admitted == set(), "expected, not admitted"


def test_the_expected_edges_are_the_calls_the_settings_make_and_the_scrapes() -> None:
    called = {
        (caller, target, port)
        for (target, port), callers in callers_by_target().items()
        for caller in callers
    }
    assert {e for e in EXPECTED_EDGES if "/" not in e[0]} == called
    scraped = {
        (name, int(template["metadata"]["annotations"]["prometheus.io/port"]))
        for name, template in pod_templates()
        if template["metadata"].get("annotations", {}).get("prometheus.io/scrape") == "true"
    }
    assert scraped == set(SCRAPED_PORTS.items())


def widen(docs: list[tuple[Path, dict[str, Any]]], how: str) -> str:
    """Change one policy in place the way a careless edit would; the direction it widens."""
    policies = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "NetworkPolicy"}
    if how == "a rule without ports":
        del policies["authentication-service"]["spec"]["ingress"][0]["ports"]
    elif how == "every pod of the namespace":
        policies["postgres"]["spec"]["ingress"][0]["from"] = [{"podSelector": {}}]
    elif how == "any namespace":
        peer = policies["broker-service"]["spec"]["ingress"][0]["from"][0]
        peer["namespaceSelector"] = {}
    elif how == "one more port":
        policies["mongo"]["spec"]["ingress"][0]["ports"].append({"port": 27018, "endPort": 27019})
    elif how == "no default deny, and a workload without a policy":
        for name in ("default-deny", "mailhog"):
            docs.remove(next(item for item in docs if item[1] is policies[name]))
    elif how == "calls out anywhere":
        del policies["front-end"]["spec"]["policyTypes"]
        policies["front-end"]["spec"]["egress"] = [{"ports": [{"port": 443}]}]
        return "Egress"
    elif how == "DNS from any namespace":
        policies["dns"]["spec"]["egress"][0]["to"][0]["namespaceSelector"] = {}
        return "Egress"
    return "Ingress"


@pytest.mark.parametrize(
    ("how", "appears"),
    [
        ("a rule without ports", ("broker-service", "authentication-service", "*")),
        ("every pod of the namespace", ("front-end", "postgres", 5432)),
        ("any namespace", ("*/ingress-nginx", "broker-service", 8080)),
        ("one more port", ("logger-service", "mongo", 27019)),
        ("no default deny, and a workload without a policy", ("*", "mailhog", "*")),
        ("calls out anywhere", ("front-end", "*", 443)),
        ("DNS from any namespace", ("postgres", "*/kube-dns", "53/UDP")),
    ],
)
def test_a_widened_policy_admits_an_edge_beyond_the_expected(how: str, appears: Edge) -> None:
    docs = copy.deepcopy(k8s_documents())
    direction = widen(docs, how)
    expected = EXPECTED_EDGES if direction == "Ingress" else expected_egress()
    assert appears in admitted_edges(docs, direction) - expected


def test_k8s_denies_every_pod_what_no_policy_allows() -> None:
    policies = [d for _, d in k8s_documents() if d["kind"] == "NetworkPolicy"]
    default_deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {} and not {"ingress", "egress"} & p["spec"].keys()
    ]
    assert len(default_deny) == 1
    assert default_deny[0]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    # Every workload has its own policy (a pod with none would be unreachable, probes aside).
    selected = {
        p["spec"]["podSelector"]["matchLabels"][APP_LABEL]
        for p in policies
        if p["spec"]["podSelector"]
    }
    assert selected == {name for name, _ in pod_templates()}


def test_k8s_x_forwarded_for_is_believed_only_where_the_policies_admit_a_proxy_alone() -> None:
    docs = k8s_documents()
    configmaps = {d["metadata"]["name"]: d["data"] for _, d in docs if d["kind"] == "ConfigMap"}
    believing = {name for name, data in configmaps.items() if "FORWARDED_ALLOW_IPS" in data}
    assert believing == set(PROXY_OF)
    admitted = admitted_edges(docs)
    for name, proxy in PROXY_OF.items():
        port = contract()[name][1][0]
        # Who reaches the port: the one proxy and Prometheus (which sends no X-Forwarded-For).
        assert {f for f, to, p in admitted if (to, p) == (name, port)} == {proxy, PROMETHEUS}


# --- Kubernetes: the public doors ----------------------------------------------------------


def test_the_ingress_serves_the_page_and_the_api_over_tls_from_cert_manager() -> None:
    docs = k8s_documents()
    (ingress,) = [d for _, d in docs if d["kind"] == "Ingress"]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    # ingress-nginx's class: the controller the policies let in (INGRESS_CONTROLLER).
    assert ingress["spec"]["ingressClassName"] == "nginx"
    backends = {}
    for rule in ingress["spec"]["rules"]:
        (path,) = rule["http"]["paths"]
        assert (path["path"], path["pathType"]) == ("/", "Prefix")
        backends[rule["host"]] = path["backend"]["service"]
    (tls,) = ingress["spec"]["tls"]
    assert set(tls["hosts"]) == set(backends)
    assert tls["secretName"]
    by_service = {b["name"]: host for host, b in backends.items()}
    assert set(by_service) == {"front-end", "broker-service"}
    services = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Service"}
    for backend in backends.values():
        names = {p["name"] for p in services[backend["name"]]["spec"]["ports"]}
        assert backend["port"]["name"] in names
    # The page calls the API host, which lets the page's origin in.
    configmaps = {d["metadata"]["name"]: d["data"] for _, d in docs if d["kind"] == "ConfigMap"}
    assert configmaps["front-end"]["BROKER_URL"] == f"https://{by_service['broker-service']}"
    origins = configmaps["broker-service"]["CORS_ORIGINS"].split(",")
    assert f"https://{by_service['front-end']}" in origins


def test_a_headless_service_names_every_broker_pod_for_a_dns_balancing_proxy() -> None:
    docs = k8s_documents()
    services = {d["metadata"]["name"]: d["spec"] for _, d in docs if d["kind"] == "Service"}
    headless = services["broker-service-pods"]
    assert headless["clusterIP"] == "None"
    # Only ready pods answer (the default), so a dying replica leaves the rotation.
    assert not headless.get("publishNotReadyAddresses", False)
    assert headless["selector"] == services["broker-service"]["selector"]
    assert [p["port"] for p in headless["ports"]] == [8080]


# --- Kubernetes: credentials -----------------------------------------------------------------

# The credentials each workload reads from a file, by the setting naming the file.
CREDENTIAL_FILES = {
    "authentication-service": {"DB_PASSWORD_FILE"},
    "logger-service": {"MONGO_PASSWORD_FILE"},
    "mailer-service": {"MAIL_PASSWORD_FILE"},
    "broker-service": {"RABBIT_URL_FILE"},
    "listener-service": {"RABBIT_URL_FILE"},
    "postgres": {"POSTGRES_PASSWORD_FILE"},
    "mongo": {"MONGO_INITDB_ROOT_PASSWORD_FILE"},
    "rabbitmq": {"RABBITMQ_DEFAULT_PASS_FILE"},
}
CREDENTIAL_NAME = re.compile(r"PASS|SECRET|TOKEN|CREDENTIAL")


def containers() -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec, container) for every container of every pod template."""
    return [
        (name, template["spec"], container)
        for name, template in pod_templates()
        for container in template["spec"]["containers"]
    ]


def test_no_secret_value_appears_outside_the_secrets() -> None:
    values = {v for data in secrets().values() for v in data.values() if v}
    # Something to look for: the development passwords of PostgreSQL, MongoDB and RabbitMQ.
    assert len({data["password"] for data in secrets().values()} & values) == 3
    others = [(p, d) for p, d in k8s_documents() if d["kind"] != "Secret"]
    for path, doc in others:
        text = yaml.safe_dump(doc)
        for value in values:
            assert value not in text, f"{path.name} {doc['metadata']['name']} holds a secret"
    # Each env value and ConfigMap value by itself, too (a DSN or URL with a password in it).
    settings = [e.get("value", "") for _, _, c in containers() for e in c.get("env", [])]
    settings += [v for _, d in others if d["kind"] == "ConfigMap" for v in d["data"].values()]
    for value in settings:
        assert not re.search(r"password=|://[^/@\s]*:[^/@\s]*@", value), value


def test_every_credential_is_a_file_of_a_secret_volume_mounted_read_only() -> None:
    found: dict[str, set[str]] = {}
    for name, pod, container in containers():
        for mount, secret in secret_mounts(pod, container).values():
            assert mount.get("readOnly") is True, name
            assert secret["defaultMode"] == 0o400, name
            # 0400 files belong to root unless the pod's group owns them.
            assert pod["securityContext"]["fsGroup"] == pod["securityContext"]["runAsGroup"]
        # No Secret reaches a container through its environment.
        assert "secretRef" not in str(container.get("envFrom", [])), name
        for env in container.get("env", []):
            assert "valueFrom" not in env, f"{name} {env['name']}"
            if CREDENTIAL_NAME.search(env["name"]):
                assert env["name"].endswith("_FILE"), f"{name} {env['name']}"
            if secret_file(pod, container, env["value"]) is not None:
                assert env["name"].endswith("_FILE"), f"{name} {env['name']}"
                found.setdefault(name, set()).add(env["name"])
            else:
                assert "/run/secrets/" not in env["value"], f"{name} {env['name']}: no such file"
    assert found == CREDENTIAL_FILES
    configmap_keys = {k for _, d in k8s_documents() if d["kind"] == "ConfigMap" for k in d["data"]}
    assert not {k for k in configmap_keys if CREDENTIAL_NAME.search(k)}


def test_each_server_and_its_clients_name_the_same_user() -> None:
    docs = k8s_documents()
    configmaps = {d["metadata"]["name"]: d["data"] for _, d in docs if d["kind"] == "ConfigMap"}
    env = {
        (name, e["name"]): e.get("value") for name, _, c in containers() for e in c.get("env", [])
    }
    dsn = dict(pair.split("=", 1) for pair in configmaps["authentication-service"]["DSN"].split())
    assert dsn["user"] == env[("postgres", "POSTGRES_USER")]
    mongo_user = env[("mongo", "MONGO_INITDB_ROOT_USERNAME")]
    assert configmaps["logger-service"]["MONGO_USERNAME"] == mongo_user
    rabbit = secrets()["rabbitmq-credentials"]
    user = env[("rabbitmq", "RABBITMQ_DEFAULT_USER")]
    assert rabbit["url"].startswith(f"amqp://{user}:{rabbit['password']}@rabbitmq:5672/")


# --- Kubernetes: every container ---------------------------------------------------------------

# Left writable: RabbitMQ's image is not known to start on a read-only root (data/rabbitmq.yaml).
WRITABLE_ROOT = {"rabbitmq"}


def test_every_k8s_container_is_probed_and_runs_unprivileged() -> None:
    # The six services' and the four data stores'.
    assert len(containers()) == len(SERVICES) + 4
    for name, pod, container in containers():
        assert "readinessProbe" in container, name
        assert "livenessProbe" in container, name
        user = pod["securityContext"] | container.get("securityContext", {})
        assert user["runAsNonRoot"] is True, name
        # A number: the kubelet cannot check a user name against runAsNonRoot.
        assert isinstance(user["runAsUser"], int), name
        assert user["runAsUser"] > 0, name
        assert user["seccompProfile"] == {"type": "RuntimeDefault"}, name
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        assert context["readOnlyRootFilesystem"] is (name not in WRITABLE_ROOT), name


def test_every_k8s_container_has_cpu_and_memory_requests_and_limits() -> None:
    for name, template in pod_templates():
        for container in template["spec"]["containers"]:
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert set(resources.get(kind, {})) == {"cpu", "memory"}, f"{name} {kind}"


def autoscalers() -> dict[str, dict[str, Any]]:
    """Deployment name -> the HorizontalPodAutoscaler's spec that scales it."""
    found = {}
    for _, doc in k8s_documents():
        if doc["kind"] == "HorizontalPodAutoscaler":
            target = doc["spec"]["scaleTargetRef"]
            assert (target["apiVersion"], target["kind"]) == ("apps/v1", "Deployment")
            found[target["name"]] = doc["spec"]
    return found


def test_broker_and_listener_scale_by_cpu_between_sensible_bounds() -> None:
    docs = k8s_documents()
    deployments = {d["metadata"]["name"]: d for _, d in docs if d["kind"] == "Deployment"}
    hpas = autoscalers()
    assert set(hpas) == {"broker-service", "listener-service"}
    assert all(
        d["apiVersion"] == "autoscaling/v2"
        for _, d in docs
        if d["kind"] == "HorizontalPodAutoscaler"
    )
    for name, spec in hpas.items():
        assert name in deployments, f"the autoscaler scales {name}, which is no Deployment"
        assert 2 <= spec["minReplicas"] < spec["maxReplicas"] <= 20, name
        (metric,) = spec["metrics"]
        assert metric["resource"]["name"] == "cpu", name
        assert 50 <= metric["resource"]["target"]["averageUtilization"] <= 90, name
        # A count in the Deployment would undo the autoscaler's on every `kubectl apply`.
        assert "replicas" not in deployments[name]["spec"], name
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert "cpu" in container["resources"]["requests"], f"{name}: utilization needs a request"


def replicas_of(deployment: dict[str, Any]) -> int:
    hpa = autoscalers().get(deployment["metadata"]["name"])
    return int(hpa["minReplicas"] if hpa else deployment["spec"].get("replicas", 1))


def test_every_deployment_with_replicas_has_a_disruption_budget_and_spreads() -> None:
    docs = k8s_documents()
    budgets = [d for _, d in docs if d["kind"] == "PodDisruptionBudget"]
    several = [d for _, d in docs if d["kind"] == "Deployment" and replicas_of(d) > 1]
    assert {d["metadata"]["name"] for d in several} == {"broker-service", "listener-service"}
    for deployment in several:
        name = deployment["metadata"]["name"]
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        (budget,) = [b for b in budgets if b["spec"]["selector"]["matchLabels"] == labels]
        assert budget["apiVersion"] == "policy/v1"
        assert budget["spec"]["maxUnavailable"] < replicas_of(deployment), name
        spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
        keys = {c["topologyKey"] for c in spread if c["labelSelector"]["matchLabels"] == labels}
        assert "kubernetes.io/hostname" in keys, name


def test_every_service_pod_is_annotated_for_prometheus() -> None:
    templates = dict(pod_templates())
    for folder in SERVICES:
        name = compose_name(folder)
        annotations = templates[name]["metadata"]["annotations"]
        (container,) = templates[name]["spec"]["containers"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/path"] == "/metrics", name
        http_port = next(p["containerPort"] for p in container["ports"] if p["name"] == "http")
        assert annotations["prometheus.io/port"] == str(http_port), name


# --- Makefile --------------------------------------------------------------------------------

ORIGINAL_TARGETS = ["up", "up_build", "down", *(t for _, t in SERVICES.values()), "start", "stop"]


def test_make_help_lists_the_originals_targets_beside_ours() -> None:
    result = run(["make", "--no-print-directory", "-C", str(PROJECT), "help"])
    assert result.returncode == 0, result.stderr
    listed = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert set(ORIGINAL_TARGETS) | {"run", "test", "bench", "lint"} <= listed


@pytest.mark.parametrize("folder", SERVICES)
def test_make_build_target_builds_that_services_image(folder: str) -> None:
    target = SERVICES[folder][1]
    result = run(["make", "--no-print-directory", "-n", "-C", str(PROJECT), target])
    assert result.returncode == 0, result.stderr
    assert str(COMPOSE_FILE) in result.stdout
    assert result.stdout.split()[-2:] == ["build", compose_name(folder)]


def test_make_up_build_rebuilds_then_starts_detached() -> None:
    result = run(["make", "--no-print-directory", "-n", "-C", str(PROJECT), "up_build"])
    commands = [line for line in result.stdout.splitlines() if str(COMPOSE_FILE) in line]
    assert [c.split()[-2:] for c in commands] == [
        [str(COMPOSE_FILE), "down"],
        [str(COMPOSE_FILE), "build"],
        ["up", "--detach"],
    ]


def test_make_passes_the_replica_counts_and_names_every_broker_replica_to_the_proxy() -> None:
    show = 'show: ; @echo "$$BROKER_REPLICAS $$LISTENER_REPLICAS $$BROKER_UPSTREAMS"'
    cmd = ["make", "-s", "--no-print-directory", "-C", str(PROJECT), "--eval", show, "show"]
    defaults = run(cmd).stdout.split()
    assert defaults[:2] == ["3", "2"]
    scaled = run([*cmd, "BROKER_REPLICAS=5", "LISTENER_REPLICAS=4"]).stdout.split()
    assert scaled[:2] == ["5", "4"]
    # docker compose names replica n <project>-<service>-n; the old docker-compose uses `_`.
    v2 = run(["sh", "-c", "docker compose version >/dev/null 2>&1"]).returncode == 0
    sep = "-" if v2 else "_"
    names = [f"go-micro-py{sep}broker-service{sep}{n}:8080" for n in range(1, 6)]
    assert scaled[2:] == names


def test_make_help_says_how_to_change_the_replica_counts() -> None:
    result = run(["make", "--no-print-directory", "-C", str(PROJECT), "help"])
    assert "BROKER_REPLICAS" in result.stdout
    assert "LISTENER_REPLICAS" in result.stdout


# --- what compose mounts: the proxy's, Prometheus' and Grafana's configuration ---------------


def caddy() -> str:
    return debian_tool("caddy", "caddy")


def caddy_validate(caddyfile: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "BROKER_UPSTREAMS": "127.0.0.1:1 127.0.0.1:2"}
    cmd = [caddy(), "validate", "--config", str(caddyfile), "--adapter", "caddyfile"]
    return run(cmd, env=env)


def test_the_proxy_accepts_its_configuration() -> None:
    result = caddy_validate(CADDYFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid configuration" in result.stdout + result.stderr


def test_caddy_validate_refuses_a_wrong_directive(tmp_path: Path) -> None:
    wrong = tmp_path / "Caddyfile"
    wrong.write_text(CADDYFILE.read_text().replace("health_interval", "health_intervall"))
    result = caddy_validate(wrong)
    assert result.returncode != 0
    assert "health_intervall" in result.stdout + result.stderr


def test_the_caddyfile_takes_every_address_from_the_environment() -> None:
    text = CADDYFILE.read_text()
    placeholders = set(re.findall(r"\{\$([A-Z_]+)", text))
    proxy = load_compose()["services"]["proxy"]
    assert placeholders == {*proxy["environment"], "PROXY_LOG_LEVEL"}
    metrics_port = proxy["environment"]["PROXY_METRICS_PORT"]
    assert metrics_port in " ".join(proxy["healthcheck"]["test"])


def promtool() -> str:
    return debian_tool("promtool", "prometheus")


def test_prometheus_config_passes_promtool() -> None:
    result = run([promtool(), "check", "config", str(PROMETHEUS_CONFIG)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_refuses_a_wrong_config(tmp_path: Path) -> None:
    wrong = tmp_path / "prometheus.yml"
    wrong.write_text(PROMETHEUS_CONFIG.read_text().replace("type: A", "type: CNAME"))
    assert run([promtool(), "check", "config", str(wrong)]).returncode != 0


def scrape_targets() -> dict[str, tuple[str, list[str]]]:
    """job -> ("dns" or "static", its host:port targets)."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    found = {}
    for job in config["scrape_configs"]:
        if "dns_sd_configs" in job:
            (sd,) = job["dns_sd_configs"]
            found[job["job_name"]] = ("dns", [f"{n}:{sd['port']}" for n in sd["names"]])
        else:
            (static,) = job["static_configs"]
            found[job["job_name"]] = ("static", static["targets"])
    return found


def test_prometheus_scrapes_every_service_each_replica_rabbitmq_and_the_proxy() -> None:
    targets = scrape_targets()
    services = load_compose()["services"]
    for folder in SERVICES:
        name = compose_name(folder)
        how = "dns" if "deploy" in services[name] else "static"
        assert targets[name] == (how, [f"{name}:{contract()[name][1][0]}"]), name
    assert targets["rabbitmq"] == ("static", ["rabbitmq:15692"])
    assert targets["proxy"] == (
        "static",
        [f"proxy:{services['proxy']['environment']['PROXY_METRICS_PORT']}"],
    )
    mount = "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro"
    assert mount in services["prometheus"]["volumes"]


# The metric names the services expose (issue 15), RabbitMQ's plugin and Caddy's.
SERVICE_METRICS = {
    "http_server_requests_total",
    "http_server_request_duration_seconds",
    "downstream_requests_total",
    "downstream_request_duration_seconds",
    "logger_writes_total",
    "logger_store_write_duration_seconds",
    "listener_messages_consumed_total",
    "listener_messages_stored_total",
    "listener_messages_redelivered_total",
    "listener_messages_dead_lettered_total",
    "listener_publish_to_stored_seconds",
    "auth_password_check_duration_seconds",
    "auth_logins_total",
    "auth_rate_limit_refusals_total",
    "mail_smtp_send_duration_seconds",
    "mail_smtp_failures_total",
}
OTHER_METRICS = {
    "rabbitmq_detailed_queue_messages_ready",
    "rabbitmq_detailed_queue_messages_unacked",
    "rabbitmq_detailed_queue_consumers",
    "caddy_reverse_proxy_upstreams_healthy",
}


def dashboard_panels() -> list[dict[str, Any]]:
    dashboard = json.loads((GRAFANA / "dashboards" / "go-micro.json").read_text())
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def metrics_named(expr: str) -> set[str]:
    """The metric names in a PromQL expression (a histogram's series by its family's name)."""
    words = set(re.findall(r"[a-z_]+", re.sub(r"\{[^}]*\}|\[[^]]*\]", "", expr)))
    return {re.sub(r"_bucket$", "", w) for w in words} & (SERVICE_METRICS | OTHER_METRICS)


def test_every_dashboard_panel_asks_prometheus_for_known_metrics() -> None:
    datasource = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    (source,) = datasource["datasources"]
    assert (source["type"], source["url"]) == ("prometheus", "http://prometheus:9090")
    panels = dashboard_panels()
    assert len({p["id"] for p in panels}) == len(panels)
    shown = set()
    for panel in panels:
        assert panel["datasource"]["uid"] == source["uid"], panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            named = metrics_named(target["expr"])
            assert named, f"{panel['title']}: {target['expr']} names no known metric"
            shown |= named
    # Rate, errors and duration per service and door, the queue, logins and mail: all shown.
    assert shown >= SERVICE_METRICS


def test_grafana_provisions_the_dashboard_from_the_repository() -> None:
    grafana = load_compose()["services"]["grafana"]
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/go-micro.yml").read_text())
    (source,) = provider["providers"]
    mounts = dict(v.removesuffix(":ro").split(":") for v in grafana["volumes"])
    assert mounts["./grafana/dashboards"] == source["options"]["path"]
    assert mounts["./grafana/provisioning"] == "/etc/grafana/provisioning"
