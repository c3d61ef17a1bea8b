"""Debian's Prometheus for `make -C project run`: the compose file's jobs, on local ports.

The job names are the compose names, so the Grafana dashboard's queries and a person's habits
carry over; each target is the service's local `/metrics`. The launcher writes the file into
its data folder at every start.
"""

import shutil
from pathlib import Path

INSTALL_HINT = (
    "Prometheus is not installed: `sudo apt-get install prometheus` and the next run starts it "
    "with every service as a target"
)


def binary() -> str | None:
    """Debian's `prometheus`, when it is installed."""
    return shutil.which("prometheus")


def config(targets: dict[str, str], rabbitmq: str | None) -> str:
    """The scrape configuration: a job per service (`name` → `host:port`), RabbitMQ's plugin
    when it answers (`rabbitmq`, its `host:port`)."""
    jobs = [
        f'  - job_name: {name}\n    static_configs:\n      - targets: ["{target}"]\n'
        for name, target in targets.items()
    ]
    if rabbitmq is not None:
        jobs.append(
            "  - job_name: rabbitmq\n    metrics_path: /metrics/detailed\n"
            "    params:\n      family: [queue_coarse_metrics, queue_consumer_count]\n"
            f'    static_configs:\n      - targets: ["{rabbitmq}"]\n'
        )
    return (
        "# Written by the launcher at each start (project/tools/launcher/prometheus.py).\n"
        "global:\n  scrape_interval: 5s\n  scrape_timeout: 4s\n\nscrape_configs:\n" + "".join(jobs)
    )


def argv(program: str, config_file: Path, data: Path, listen: str) -> list[str]:
    return [
        program,
        f"--config.file={config_file}",
        f"--storage.tsdb.path={data}",
        "--storage.tsdb.retention.time=2d",
        f"--web.listen-address={listen}",
    ]
