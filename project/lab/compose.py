"""Writes the lab's compose file: docker-compose.yml with docker-compose.lab.yml on top (as
`docker-compose config` merges them), less what an override cannot take away in Compose 1.29:
the host ports this machine's own services hold (Compose v2's `ports: !reset` would do it)
and the services of a profile (the lab builds no Jaeger nor Grafana).

Usage: python compose.py OUT [HOST_PORT ...] (default 5432 5672).
"""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

LAB = Path(__file__).resolve().parent
PROJECT = LAB.parent


def merged() -> dict[str, Any]:
    files = [PROJECT / "docker-compose.yml", LAB / "docker-compose.lab.yml"]
    cmd = ["docker-compose", *(a for f in files for a in ("--file", str(f))), "config"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=60).stdout
    config: dict[str, Any] = yaml.safe_load(out)
    return config


def published(mapping: Any) -> int | None:
    if isinstance(mapping, dict):
        return int(mapping["published"]) if mapping.get("published") else None
    host = str(mapping).rsplit(":", 1)[0].rsplit(":", 1)[-1]
    return int(host) if host.isdigit() else None


def lab_config(config: dict[str, Any], held: set[int]) -> dict[str, Any]:
    services = config["services"]
    for name in [n for n, s in services.items() if s.get("profiles")]:
        del services[name]
    for service in services.values():
        if "ports" in service:
            service["ports"] = [p for p in service["ports"] if published(p) not in held]
            if not service["ports"]:
                del service["ports"]
        for dependency in [d for d in service.get("depends_on", {}) if d not in services]:
            del service["depends_on"][dependency]
    return config


def main() -> None:
    out = Path(sys.argv[1])
    held = {int(p) for p in sys.argv[2:]} or {5432, 5672}
    config = lab_config(merged(), held)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(config, sort_keys=False))
    os.chmod(out, 0o644)


if __name__ == "__main__":
    main()
