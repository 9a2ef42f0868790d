#!/usr/bin/env bash
# As the official postgres image's entrypoint, for what compose files use of it: on an empty
# PGDATA, initdb with POSTGRES_USER/POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust),
# POSTGRES_DB created, /docker-entrypoint-initdb.d run against a server listening on its socket
# only; then `postgres` as the postgres user, listening on all interfaces.
set -o errexit -o nounset -o pipefail

if [ "${1:0:1}" = - ]; then
  set -- postgres "$@"
fi
if [ "${1:-}" != postgres ]; then
  exec "$@"
fi
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
auth_method=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}

initialise() {
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth_method" != trust ]; then
    echo "Database is uninitialized and superuser password is not specified." >&2
    echo "Set POSTGRES_PASSWORD (or POSTGRES_HOST_AUTH_METHOD=trust)." >&2
    exit 1
  fi
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of options, as in the official image
  if [ -n "${POSTGRES_PASSWORD:-}" ]; then
    initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
      ${POSTGRES_INITDB_ARGS:-}
  else
    initdb --username="$POSTGRES_USER" ${POSTGRES_INITDB_ARGS:-}
  fi
  printf '\nhost all all all %s\n' "$auth_method" >>"$PGDATA/pg_hba.conf"

  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -p 5432" -w start
  local psql=(psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc)
  if [ "$POSTGRES_DB" != postgres ]; then
    "${psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
  fi
  local file
  shopt -s nullglob
  # shellcheck disable=SC1090  # the init scripts sourced are the user's
  for file in /docker-entrypoint-initdb.d/*; do
    case $file in
      *.sh) echo "running $file" && . "$file" ;;
      *.sql) echo "running $file" && "${psql[@]}" --dbname "$POSTGRES_DB" -f "$file" ;;
      *.sql.gz) echo "running $file" && gunzip -c "$file" | "${psql[@]}" --dbname "$POSTGRES_DB" ;;
      *) echo "ignoring $file" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  initialise
fi
exec "$@"
