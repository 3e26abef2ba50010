#!/usr/bin/env bash
# The seeded postgres:15 image's entrypoint (see the Dockerfile next to it): the official image's
# contract, written for this image. With `postgres` as the command:
#   root    -> make PGDATA and the socket directory the postgres user's, then run again as uid 999;
#   uid 999 -> an empty PGDATA is initialised once (POSTGRES_USER, default postgres; POSTGRES_PASSWORD,
#              required; POSTGRES_DB, default the user), then `postgres` runs in the foreground.
# The password goes to initdb through a pipe (never a command line) and is not logged.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" = postgres ]; then
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
  fi
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA" 2>/dev/null || :   # a volume root may refuse; initdb then says why
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    : "${POSTGRES_USER:=postgres}"
    : "${POSTGRES_DB:=$POSTGRES_USER}"
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
      echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" >&2
      echo "  set POSTGRES_PASSWORD to a non-empty value (the password of POSTGRES_USER)" >&2
      exit 1
    fi
    echo "initialising the database in $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of flags, as in the official image
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
      ${POSTGRES_INITDB_ARGS:-} >/dev/null
    printf '\nhost all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
    # A temporary server on the unix socket only: nobody reaches it over the network half-made.
    pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
      psql -v ON_ERROR_STOP=1 --username="$POSTGRES_USER" --no-password --dbname=postgres \
        --set db="$POSTGRES_DB" -q <<<'CREATE DATABASE :"db";'
    fi
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    echo "database initialised; starting the server"
  fi
fi

exec "$@"
