#!/opt/secantus/bin/python
"""The health check: `ping` answered, as the root user when there is one."""

import os
import sys
import urllib.parse
from pathlib import Path

import pymongo


def setting(name: str) -> str:
    # As the entrypoint reads them: `..._FILE` (a Docker secret) first.
    path = os.environ.get(name + "_FILE")
    return Path(path).read_text().rstrip("\r\n") if path else os.environ.get(name, "")


user = setting("MONGO_INITDB_ROOT_USERNAME")
password = setting("MONGO_INITDB_ROOT_PASSWORD")
credentials = (
    f"{urllib.parse.quote_plus(user)}:{urllib.parse.quote_plus(password)}@" if user else ""
)
url = f"mongodb://{credentials}127.0.0.1:27017/?authSource=admin&directConnection=true"
try:
    pymongo.MongoClient(url, serverSelectionTimeoutMS=3000).admin.command("ping")
except pymongo.errors.PyMongoError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
