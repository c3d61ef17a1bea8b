#!/opt/secantus/bin/python
"""The health check: `ping` answered, as the root user when there is one."""

import os
import sys
import urllib.parse

import pymongo

user = os.environ.get("MONGO_INITDB_ROOT_USERNAME", "")
password = os.environ.get("MONGO_INITDB_ROOT_PASSWORD", "")
credentials = (
    f"{urllib.parse.quote_plus(user)}:{urllib.parse.quote_plus(password)}@" if user else ""
)
url = f"mongodb://{credentials}127.0.0.1:27017/?authSource=admin&directConnection=true"
try:
    pymongo.MongoClient(url, serverSelectionTimeoutMS=3000).admin.command("ping")
except pymongo.errors.PyMongoError as error:
    print(error, file=sys.stderr)
    sys.exit(1)
