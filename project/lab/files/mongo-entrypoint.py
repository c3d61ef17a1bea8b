#!/opt/secantus/bin/python
"""SecantusDB set up as the official mongo image sets up MongoDB: on an empty data directory,
a root user MONGO_INITDB_ROOT_USERNAME/PASSWORD is created (by a server on loopback only),
then the server runs with authentication on every address. Either may come from a file
(`..._FILE`, a Docker secret), as the official image allows."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pymongo

DATA = Path(os.environ.get("MONGO_DATA", "/data/db"))
MARKER = DATA / ".lab-initialized"


def argv(host: str, port: int, auth: bool) -> list[str]:
    cmd = [sys.executable, "-m", "secantus", "--host", host, "--port", str(port)]
    cmd += ["--storage-path", str(DATA), "--standalone", "--log-level", "WARNING"]
    return cmd + (["--auth"] if auth else [])


def create_root_user(user: str, password: str) -> None:
    server = subprocess.Popen(argv("127.0.0.1", 27018, auth=False))
    try:
        client: pymongo.MongoClient[dict[str, object]] = pymongo.MongoClient(
            "mongodb://127.0.0.1:27018/?directConnection=true", serverSelectionTimeoutMS=1000
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                client.admin.command("ping")
                break
            except pymongo.errors.PyMongoError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        client.admin.command("createUser", user, pwd=password, roles=["root"])
        client.close()
    finally:
        server.terminate()
        server.wait(30)


def setting(name: str) -> str:
    path = os.environ.get(name + "_FILE")
    return Path(path).read_text().rstrip("\r\n") if path else os.environ.get(name, "")


def main() -> None:
    user = setting("MONGO_INITDB_ROOT_USERNAME")
    password = setting("MONGO_INITDB_ROOT_PASSWORD")
    if user and not MARKER.exists():
        create_root_user(user, password)
        MARKER.write_text("root user created\n")
    auth = MARKER.exists()
    os.execv(sys.executable, argv("0.0.0.0", 27017, auth))


if __name__ == "__main__":
    main()
