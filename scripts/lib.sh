# shellcheck shell=bash
# Shared by run_with_gateway.sh, run_local.sh and setup_nginx.sh (sourced, not run): the setup
# steps a clean clone needs, each reusing what an earlier run left behind.
# The caller sets `repo` (the checkout) and the shell options.

VENV=${VENV:-$repo/.venv}
ENV_FILE=${ENV_FILE:-$repo/.env}
export ENV_FILE

say() {
  printf '==> %s\n' "$*" >&2
}

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Python 3.11 or newer: $PYTHON, or the newest python3.x on the PATH.
find_python() {
  local candidate
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

# .venv with the pinned runtime requirements (the shared `common` package among them). A stamp
# holding the requirements' checksum makes a second run skip pip entirely.
ensure_venv() {
  local python stamp wanted
  if [ ! -x "$VENV/bin/python" ]; then
    python=$(find_python) || die "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."
    say "Creating the virtual environment $VENV with $python"
    "$python" -m venv "$VENV"
  fi
  stamp=$VENV/.runtime-requirements.sha256
  wanted=$(cat "$repo/requirements.txt" "$repo/constraints.txt" "$repo/common/pyproject.toml" |
    sha256sum | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
    say "Installing the pinned requirements into $VENV"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
      -r "$repo/requirements.txt"
    printf '%s\n' "$wanted" >"$stamp"
  fi
}

# A development .env when there is none: fresh secrets, one JWT signing key for both services.
ensure_env_file() {
  local name
  if [ -f "$ENV_FILE" ]; then
    return 0
  fi
  say "No $ENV_FILE: writing a development one with freshly generated secrets"
  say "(a development stack: SQLite databases, DEBUG off; every variable is in .env.example)"
  (
    umask 077
    {
      echo "# Development settings written by $(basename "$0") on $(date -u +%Y-%m-%dT%H:%MZ)."
      echo "# Private: these keys sign tokens and file URLs. All variables: .env.example."
      echo "# Development: every host and browser origin is allowed (production refuses that)."
      echo "MEDIA_HANDLER_ENV=development"
      for name in AUTH_SECRET_KEY BACKEND_SECRET_KEY JWT_SIGNING_KEY FILE_URL_SIGNING_KEY; do
        printf '%s=%s\n' "$name" \
          "$("$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
      done
    } >"$ENV_FILE.tmp"
  )
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# Exports the .env's variables that the environment does not set (the environment wins, as in
# the services), parsed once by django-environ, the services' own reader: the scripts render the
# gateway with the same MEDIA_ROOT and MAX_UPLOAD_SIZE the services use.
load_env_file() {
  local exports
  [ -f "$ENV_FILE" ] || return 0
  [ -x "$VENV/bin/python" ] ||
    die "reading $ENV_FILE needs the virtual environment $VENV: run make venv (or ./run_with_gateway.sh) first."
  exports=$("$VENV/bin/python" -m common.env_file "$ENV_FILE") || die "could not read $ENV_FILE (above)."
  eval "$exports"
}

# MEDIA_ROOT as the media service will see it, absolute (nginx aliases the same directory).
resolve_media_root() {
  MEDIA_ROOT=${MEDIA_ROOT:-$repo/media}
  case $MEDIA_ROOT in
    /*) ;;
    *) MEDIA_ROOT=$repo/$MEDIA_ROOT ;;
  esac
  mkdir -p "$MEDIA_ROOT"
  export MEDIA_ROOT
}

# One after the other: with a shared DATABASE_URL both services migrate the same database.
migrate_databases() {
  say "Migrating the auth database"
  "$VENV/bin/python" "$repo/auth_server/manage.py" migrate --noinput --verbosity 0
  say "Migrating the media database"
  "$VENV/bin/python" "$repo/backend_server/manage.py" migrate --noinput --verbosity 0
}

# Each service's static files (the admin's, the docs') under STATIC_DIR/<service>, with hashed
# names; the services serve them (WhiteNoise). Both at once: a few seconds each. The browsable
# API's files are left out (the services answer JSON only).
collect_static_files() {
  say "Collecting the static files into ${STATIC_DIR:-$repo/var/static}"
  local project failed=0
  local -a jobs=()
  for project in auth_server backend_server; do
    "$VENV/bin/python" "$repo/$project/manage.py" collectstatic --noinput --verbosity 0 \
      --ignore rest_framework &
    jobs+=($!)
  done
  for project in "${jobs[@]}"; do
    wait "$project" || failed=1
  done
  [ "$failed" -eq 0 ] || die "collectstatic failed (above)."
}

port_in_use() {
  (: <"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

require_free_ports() {
  local port
  for port in "$@"; do
    if port_in_use "$port"; then
      die "port $port is already in use (another run? see: ss -ltnp 'sport = :$port')."
    fi
  done
}

# 0 once every port is closed, 1 when some are still open after ~10 s.
wait_ports_closed() {
  local port _
  for _ in $(seq 1 100); do
    for port in "$@"; do
      if port_in_use "$port"; then
        sleep 0.1
        continue 2
      fi
    done
    return 0
  done
  return 1
}

is_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

# The HTTP status of a GET, or 000 when nothing answers.
http_status() {
  "$VENV/bin/python" - "$1" <<'PY'
import sys
import urllib.error
import urllib.request

try:
    with urllib.request.urlopen(sys.argv[1], timeout=3) as response:  # noqa: S310
        print(response.status)
except urllib.error.HTTPError as error:
    print(error.code)
except OSError:
    print("000")
PY
}

# A process and all of its descendants (the dev server's reloader forks a child).
signal_tree() {
  local signal=$1 pid=$2 child
  for child in $(ps -o pid= --ppid "$pid" 2>/dev/null); do
    signal_tree "$signal" "$child"
  done
  kill "-$signal" "$pid" 2>/dev/null || true
}

# Asks each process to stop, waits up to $STOP_TIMEOUT_SECONDS, then kills what is left.
stop_processes() {
  local pid _
  for pid in "$@"; do
    signal_tree TERM "$pid"
  done
  for _ in $(seq 1 $((${STOP_TIMEOUT_SECONDS:-15} * 10))); do
    for pid in "$@"; do
      if is_alive "$pid"; then
        sleep 0.1
        continue 2
      fi
    done
    break
  done
  for pid in "$@"; do
    if is_alive "$pid"; then
      say "process $pid did not stop in time; killing it"
      signal_tree KILL "$pid"
    fi
    wait "$pid" 2>/dev/null || true
  done
}

lan_address() {
  hostname -I 2>/dev/null | awk '{print $1}'
}
