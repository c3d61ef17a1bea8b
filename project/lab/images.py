"""`make -C project lab-images`: the images `make up_build` pulls, built here from Debian's
packages and PyPI only, for a machine that reaches no container registry.

Every image is named under our own prefix (`go-micro-py-lab/...`), never an official tag, so
nothing here can be mistaken for, or shadow, what a user pulls. The base image comes from
mmdebstrap and `docker import`; it is rebuilt only when its inputs change (their hash is the
image's label). Everything else is `docker build` of a stage of `project/lab/Dockerfile`, so
BuildKit's layer cache makes a warm rebuild a matter of seconds.

Writes the seconds each image took and the images' sizes to project/lab/.build/images.json.
"""

import concurrent.futures
import hashlib
import inspect
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

LAB = Path(__file__).resolve().parent
ROOT = LAB.parents[1]
OUT = LAB / ".build"
PREFIX = "go-micro-py-lab"
# Debian's docker CLI: BuildKit built in (RUN --mount, no frontend image to pull).
DOCKER = os.environ.get("LAB_DOCKER", "/usr/bin/docker")
SUITE = "bookworm"
MIRROR = os.environ.get("LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the services' Dockerfiles expect of python:3.11-slim-bookworm: Python 3.11 (bookworm's
# own), venv, and `groupadd`/`useradd` (minbase has them).
BASE_PACKAGES = ["python3", "python3-venv", "python-is-python3", "ca-certificates"]
# This machine's TLS-intercepting egress is trusted through these; the lab base carries them
# so uv and apt inside a build reach PyPI. Users' images never get them.
HOST_CAS = Path(os.environ.get("LAB_CA_DIR", "/usr/local/share/ca-certificates"))
UV_VERSION = "0.13.9"
HOST_DEBS = Path("/var/cache/apt/archives")

BASE = f"{PREFIX}/python:3.11"
# image -> the stage of project/lab/Dockerfile that builds it
STAGES = {
    f"{PREFIX}/uv:{UV_VERSION}": "uv",
    f"{PREFIX}/postgres:15": "postgres",
    f"{PREFIX}/mongo:secantus": "mongo",
    f"{PREFIX}/rabbitmq:3.10-management": "rabbitmq",
    f"{PREFIX}/mailhog:mailcatcher": "mailhog",
    f"{PREFIX}/caddy:2.6": "caddy",
    f"{PREFIX}/prometheus:2.42": "prometheus",
}


def docker(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([DOCKER, *args], text=True, check=True, **kwargs)  # type: ignore[call-overload, no-any-return]


def ca_files() -> list[Path]:
    return sorted(HOST_CAS.glob("*.crt")) if HOST_CAS.is_dir() else []


def base_inputs_hash() -> str:
    """What the base image is made of: a change to any of these rebuilds it."""
    digest = hashlib.sha256()
    digest.update(" ".join([SUITE, MIRROR, *BASE_PACKAGES]).encode())
    digest.update(inspect.getsource(build_base).encode())
    for ca in ca_files():
        digest.update(ca.name.encode() + ca.read_bytes())
    return digest.hexdigest()[:16]


def image_label(image: str, label: str) -> str | None:
    found = subprocess.run(
        [DOCKER, "image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', image],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def build_base() -> bool:
    """The Python base from Debian's packages; False when the existing one is current."""
    wanted = base_inputs_hash()
    if image_label(BASE, "lab.inputs") == wanted:
        return False
    hooks = []
    cas = ca_files()
    if cas:
        hooks += [
            "--customize-hook=copy-in "
            + " ".join(str(c) for c in cas)
            + " /usr/local/share/ca-certificates/",
            '--customize-hook=chroot "$1" update-ca-certificates',
        ]
    with tempfile.TemporaryDirectory() as tmp:
        tarball = Path(tmp) / "rootfs.tar"
        subprocess.run(
            [
                "mmdebstrap",
                "--quiet",
                "--variant=minbase",
                "--include=" + ",".join(BASE_PACKAGES),
                # No man pages, docs or locales: the image only runs Python.
                "--dpkgopt=path-exclude=/usr/share/man/*",
                "--dpkgopt=path-exclude=/usr/share/doc/*",
                "--dpkgopt=path-exclude=/usr/share/locale/*",
                # The .debs this machine already holds are hard-linked in, not downloaded
                # again (same file system; apt takes only those of the right version).
                *(
                    [
                        '--setup-hook=mkdir -p "$1"/var/cache/apt/archives',
                        f'--setup-hook=cp -al {HOST_DEBS}/*.deb "$1"/var/cache/apt/archives/ '
                        "2>/dev/null || true",
                        '--customize-hook=find "$1"/var/cache/apt/archives -name "*.deb" -delete',
                    ]
                    if any(HOST_DEBS.glob("*.deb"))
                    else []
                ),
                *hooks,
                SUITE,
                str(tarball),
                MIRROR,
            ],
            check=True,
        )
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            f"LABEL lab.inputs={wanted}",
            'CMD ["python3"]',
        ]
        if cas:
            # uv (rustls), pip and Python's ssl read these; apt uses the system store.
            bundle = "/etc/ssl/certs/ca-certificates.crt"
            changes += [f"ENV SSL_CERT_FILE={bundle} PIP_CERT={bundle} REQUESTS_CA_BUNDLE={bundle}"]
        args = [f"--change={c}" for c in changes]
        docker("import", *args, str(tarball), BASE, stdout=subprocess.DEVNULL)
    return True


def locked_version(package: str) -> str:
    """The version uv.lock pins for a package from PyPI."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    return next(str(p["version"]) for p in lock["package"] if p["name"] == package)


def build_stage(image: str, stage: str) -> None:
    docker(
        "build",
        "--quiet",
        "--file",
        str(LAB / "Dockerfile"),
        "--target",
        stage,
        "--build-arg",
        f"BASE_IMAGE={BASE}",
        "--build-arg",
        f"UV_VERSION={UV_VERSION}",
        "--build-arg",
        f"SECANTUS_VERSION={locked_version('secantusdb')}",
        "--tag",
        image,
        str(ROOT),
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
        stdout=subprocess.DEVNULL,
    )


def size_mb(image: str) -> float:
    out = docker("image", "inspect", "--format", "{{.Size}}", image, capture_output=True)
    return round(int(out.stdout) / 1e6, 1)


def main() -> int:
    if shutil.which(DOCKER) is None:
        print(f"lab: {DOCKER} is missing: apt-get install docker.io", file=sys.stderr)
        return 1
    OUT.mkdir(exist_ok=True)
    started = time.monotonic()
    seconds: dict[str, float] = {}
    t = time.monotonic()
    rebuilt = build_base()
    seconds[BASE] = round(time.monotonic() - t, 1)
    print(f"lab: {BASE} {'built' if rebuilt else 'up to date'} ({seconds[BASE]} s)")

    def timed(image: str, stage: str) -> None:
        t = time.monotonic()
        build_stage(image, stage)
        seconds[image] = round(time.monotonic() - t, 1)
        print(f"lab: {image} ({seconds[image]} s)", flush=True)

    # Side by side: BuildKit builds a stage the images share once, and the PyPI stages run
    # while the Debian ones wait for apt's cache.
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        for done in [pool.submit(timed, image, stage) for image, stage in STAGES.items()]:
            done.result()
    report = {
        "base_rebuilt": rebuilt,
        "seconds": round(time.monotonic() - started, 1),
        "image_seconds": seconds,
        "sizes_mb": {image: size_mb(image) for image in [BASE, *STAGES]},
    }
    (OUT / "images.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"lab: every image ready in {report['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
