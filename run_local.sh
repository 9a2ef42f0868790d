#!/usr/bin/env bash
# Both services with Django's development server (auto-reload), without the gateway:
# auth on :8000, media on :8001. Same setup steps as run_with_gateway.sh (venv, pinned
# requirements, a development .env when there is none, migrations). Ctrl-C stops both.
#
# Environment (all optional): AUTH_PORT=8000 MEDIA_PORT=8001, LOCAL_BIND_HOST=127.0.0.1
# (0.0.0.0 to reach them from a phone), ENV_FILE=./.env, and everything in .env.example.
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

ensure_venv
if ! "$VENV/bin/python" -c 'import magic' 2>/dev/null; then
  die "libmagic is missing (upload sniffing): sudo apt-get install -y libmagic1"
fi
ensure_env_file
load_env_file
export MEDIA_HANDLER_ENV=${MEDIA_HANDLER_ENV:-development}
resolve_media_root
# No gateway in front: Django sends the file bytes itself and trusts no forwarded headers.
export USE_X_FORWARDED_HOST=false TRUSTED_PROXY_COUNT=0 USE_X_ACCEL_REDIRECT=false

AUTH_PORT=${AUTH_PORT:-8000}
MEDIA_PORT=${MEDIA_PORT:-8001}
LOCAL_BIND_HOST=${LOCAL_BIND_HOST:-127.0.0.1}
export PYTHONUNBUFFERED=1
export JOB_QUEUE_DIR=${JOB_QUEUE_DIR:-$repo/var/jobs}

require_free_ports "$AUTH_PORT" "$MEDIA_PORT"
migrate_databases
collect_static_files

pids=()
# shellcheck disable=SC2329  # run by the EXIT trap
shutdown() {
  local status=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    say "Stopping both development servers and the job worker"
    stop_processes "${pids[@]}"
  fi
  wait_ports_closed "$AUTH_PORT" "$MEDIA_PORT" && say "Stopped; ports $AUTH_PORT and $MEDIA_PORT are free"
  exit "$status"
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$VENV/bin/python" auth_server/manage.py runserver "$LOCAL_BIND_HOST:$AUTH_PORT" &
pids+=($!)
"$VENV/bin/python" backend_server/manage.py runserver "$LOCAL_BIND_HOST:$MEDIA_PORT" &
pids+=($!)
# The media service's job worker (derivatives, clean-ups) and its hourly schedule (--beat);
# no auto-reload: restart after a change.
mkdir -p "$JOB_QUEUE_DIR"
"$VENV/bin/celery" --workdir backend_server -A backend_server worker --queues media.accounts,media \
  --concurrency "${JOB_WORKER_CONCURRENCY:-2}" --loglevel INFO --without-gossip --without-mingle \
  --beat --schedule "$JOB_QUEUE_DIR/beat-schedule" &
pids+=($!)

cat >&2 <<EOF

  Development servers (auto-reload; MEDIA_HANDLER_ENV=$MEDIA_HANDLER_ENV):
    auth   http://$LOCAL_BIND_HOST:$AUTH_PORT/api/auth/
    media  http://$LOCAL_BIND_HOST:$MEDIA_PORT/api/media/
    jobs   the media service's worker (celery; restart the script after changing a task)
  Ctrl-C stops all three.

EOF

# Any of them exiting (a crash the reloader cannot survive) stops the others.
wait -n || true
die "a development server exited; stopping the other."
