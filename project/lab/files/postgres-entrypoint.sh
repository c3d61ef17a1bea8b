#!/bin/sh
# Debian's PostgreSQL set up as the official image does it: on an empty data directory, a
# cluster whose superuser is POSTGRES_USER with POSTGRES_PASSWORD and a database POSTGRES_DB;
# then the server on every address, password-checked from the network. The password may come
# from a file (POSTGRES_PASSWORD_FILE, a Docker secret), as the official image allows.
set -eu
if [ -n "${POSTGRES_PASSWORD_FILE:-}" ]; then
  POSTGRES_PASSWORD="$(cat "$POSTGRES_PASSWORD_FILE")"
fi
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE must be set}"
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pwfile="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb --pgdata="$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$db" != postgres ]; then
    # Socket only while it is being set up: the TCP health check must not see it yet.
    pg_ctl --pgdata="$PGDATA" --options="-c listen_addresses=''" --wait --silent start
    psql --username="$user" --dbname=postgres --quiet --command="CREATE DATABASE \"$db\""
    pg_ctl --pgdata="$PGDATA" --wait --silent stop
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
