"""Offline checks of the deployment files: compose, Dockerfiles, Kubernetes manifests, Makefile.

No Docker engine runs here, so each file goes through the validator its tool would apply
(docker-compose's own, the compose spec's schema, hadolint, kubernetes-validate), and the
ports and names in every file are checked against docs/contracts.md.
"""

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
# The listener publishes nothing (contract); its own port serves only its probes.
PROBE_ONLY_PORT = {"listener-service": 8085}
DATA_SERVICES = {"postgres", "mongo", "rabbitmq", "mailhog"}


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


def k8s_documents() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, doc) for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False, **kwargs)


def docker_compose() -> str:
    found = shutil.which("docker-compose")
    if found is None:
        pytest.fail(
            "docker-compose is not installed: `apt-get install docker-compose` "
            "(Debian's package; .ci/run installs it) to validate project/docker-compose.yml"
        )
    return found


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
        assert sorted(int(host) for host, _ in pairs) == sorted(ports), name


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
        port = contract()[compose_name(folder)][1] or [PROBE_ONLY_PORT[folder]]
        assert svc["environment"]["PORT"] == str(port[0]), folder


def test_broker_and_listener_can_have_replicas() -> None:
    services = load_compose()["services"]
    assert services["listener-service"]["deploy"]["replicas"] >= 2
    assert "ports" not in services["listener-service"]
    assert services["broker-service"]["deploy"]["replicas"] >= 1


def test_data_lives_in_named_volumes() -> None:
    compose = load_compose()
    declared = set(compose["volumes"])
    for name in ("postgres", "mongo", "rabbitmq"):
        volumes = compose["services"][name]["volumes"]
        assert volumes, name
        assert all(v.split(":")[0] in declared for v in volumes), name


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
    assert checked == ADDRESS_SETTINGS


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


@pytest.mark.parametrize("folder", SERVICES)
def test_dockerfile_passes_hadolint(folder: str) -> None:
    result = run([tool("hadolint"), "--no-color", str(ROOT / folder / "Dockerfile")])
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
    froms = [args for word, args in steps if word == "FROM"]
    assert froms
    assert all(f.startswith("python:3.11-slim") for f in froms)
    copies = [args for word, args in steps if word == "COPY"]
    assert re.match(r"--from=ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+ /uv /bin/$", copies[0])
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
    assert exposed == sorted(contract()[compose_name(folder)][1] or [PROBE_ONLY_PORT[folder]])
    assert steps[-1] == ("CMD", f'["python", "-m", "{package}"]')


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
    for name, (_, ports) in contract().items():
        if not ports:
            assert name not in services, f"{name} publishes nothing in the contract"
            continue
        assert sorted(p["port"] for p in services[name]["spec"]["ports"]) == sorted(ports), name


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
        assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
        if folder == "logger-service":
            assert container["livenessProbe"]["grpc"]["port"] == 50001
        else:
            assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
        expected = contract()[name][1] or [PROBE_ONLY_PORT[folder]]
        assert sorted(p["containerPort"] for p in container["ports"]) == sorted(expected)
        assert configmaps[name]["PORT"] == str(expected[0])


def test_every_address_in_the_k8s_settings_names_a_contract_service_and_port() -> None:
    docs = k8s_documents()
    checked = set().union(
        *(
            check_addresses(f"k8s {d['metadata']['name']}", d.get("data") or d["stringData"])
            for _, d in docs
            if d["kind"] in ("ConfigMap", "Secret")
        )
    )
    assert checked == ADDRESS_SETTINGS


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
