#!/usr/bin/env bash
# The whole stack from a clean clone, as a development stack: venv and pinned requirements, a
# development .env when there is none, migrations, both services under gunicorn on 127.0.0.1, the
# media service's job worker (Celery) and the nginx gateway on :3000. MEDIA_HANDLER_ENV defaults to `development` here (generated secrets,
# every host and origin allowed); with MEDIA_HANDLER_ENV=production the services refuse to start
# until real secrets, ALLOWED_HOSTS and CORS origins are set (common.checks).
# Stays in the foreground; Ctrl-C (or SIGTERM) stops everything it started. A service that dies
# is restarted after RESTART_DELAY_SECONDS; one that keeps dying stops the whole stack.
#
# Environment (all optional): GATEWAY_PORT=3000 AUTH_PORT=8000 MEDIA_PORT=8001, VAR_DIR=./var
# (pid files, rendered nginx config, logs, the job queue's files), ENV_FILE=./.env,
# GUNICORN_WORKERS, GUNICORN_THREADS, JOB_WORKER_CONCURRENCY, and everything in .env.example (the
# environment wins over .env).
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

# nginx lives in /usr/sbin, which an unprivileged user's PATH often lacks.
export PATH=$PATH:/usr/sbin:/sbin
if ! bash scripts/install_system_packages.sh; then
  die "the gateway needs nginx and its njs module (see above), or run ./run_local.sh without it."
fi
NGINX=${NGINX:-$(command -v nginx)}
# The web app the gateway serves at / (built when missing or out of date).
bash scripts/build_web.sh || die "the web app did not build (see above)."

ensure_venv
ensure_env_file
load_env_file
export MEDIA_HANDLER_ENV=${MEDIA_HANDLER_ENV:-development}
resolve_media_root
# Behind the gateway: links on the client's host, one trusted proxy, file bytes sent by nginx.
export USE_X_FORWARDED_HOST=true TRUSTED_PROXY_COUNT=1 USE_X_ACCEL_REDIRECT=true

GATEWAY_PORT=${GATEWAY_PORT:-3000}
AUTH_PORT=${AUTH_PORT:-8000}
MEDIA_PORT=${MEDIA_PORT:-8001}
VAR_DIR=${VAR_DIR:-$repo/var}
RESTART_DELAY_SECONDS=${RESTART_DELAY_SECONDS:-2}
READY_TIMEOUT_SECONDS=${READY_TIMEOUT_SECONDS:-60}
run_dir=$VAR_DIR/run
gateway_prefix=${GATEWAY_PREFIX:-$VAR_DIR/gateway}
# The throttle and count cache every worker shares (unless REDIS_URL is set).
export CACHE_DIR=${CACHE_DIR:-$VAR_DIR/cache}
# The job queue's messages when REDIS_URL is unset (both services publish, the worker consumes).
export JOB_QUEUE_DIR=${JOB_QUEUE_DIR:-$VAR_DIR/jobs}
# The static files the services serve (collect_static_files).
export STATIC_DIR=${STATIC_DIR:-$VAR_DIR/static}
export PYTHONUNBUFFERED=1

require_free_ports "$GATEWAY_PORT" "$AUTH_PORT" "$MEDIA_PORT"
mkdir -p "$run_dir" "$gateway_prefix/logs" "$gateway_prefix/tmp"
migrate_databases
collect_static_files

GATEWAY_PORT=$GATEWAY_PORT GATEWAY_PREFIX=$gateway_prefix AUTH_UPSTREAM=127.0.0.1:$AUTH_PORT \
  MEDIA_UPSTREAM=127.0.0.1:$MEDIA_PORT gateway/render.sh "$gateway_prefix/conf"
"$NGINX" -t -q -e stderr -p "$gateway_prefix" -c "$gateway_prefix/conf/nginx.conf"

declare -A pids=() restarts=()
ready=0

start_service() {
  local name=$1 project=$2 port=$3
  GUNICORN_SERVICE=$name "$VENV/bin/gunicorn" --config gateway/gunicorn.conf.py \
    --chdir "$project" --bind "127.0.0.1:$port" --pid "$run_dir/$name.pid" \
    "$project.wsgi:application" &
  pids[$name]=$!
}

# The media service's job worker (backend_server/celery.py): derivatives, clean-ups, and what
# the auth service asks of the media service. Its pid file is the Celery main process's. It
# also runs the schedule (--beat: the hourly sweep of expired resumable uploads, idempotency
# keys and old change-feed entries), one scheduler for the one worker a stack has.
start_worker() {
  "$VENV/bin/celery" --workdir backend_server -A backend_server worker \
    --queues media.accounts,media --concurrency "${JOB_WORKER_CONCURRENCY:-2}" --loglevel INFO \
    --without-gossip --without-mingle --hostname "media-jobs@%h:$MEDIA_PORT" \
    --beat --schedule "$run_dir/beat-schedule" --pidfile "$run_dir/worker.pid" &
  pids[worker]=$!
}

start_gateway() {
  "$NGINX" -e stderr -p "$gateway_prefix" -c "$gateway_prefix/conf/nginx.conf" -g 'daemon off;' &
  pids[gateway]=$!
  echo "${pids[gateway]}" >"$run_dir/gateway.pid"
}

start() {
  case $1 in
    auth) start_service auth auth_server "$AUTH_PORT" ;;
    media) start_service media backend_server "$MEDIA_PORT" ;;
    worker) start_worker ;;
    gateway) start_gateway ;;
  esac
}

shutdown() {
  local status=$?
  trap - EXIT INT TERM
  if [ ${#pids[@]} -gt 0 ]; then
    say "Stopping the gateway, both services and the job worker"
    stop_processes "${pids[@]}"
  fi
  # nginx's workers outlive a master killed outright; they are of this run's process group,
  # so they are looked for there, and only there.
  pkill -KILL -g "$(ps -o pgid= -p $$ | tr -d ' ')" -f '^nginx: (worker|cache)' 2>/dev/null || true
  rm -f "$run_dir"/{auth,media,worker,gateway}.pid
  if wait_ports_closed "$GATEWAY_PORT" "$AUTH_PORT" "$MEDIA_PORT"; then
    say "Stopped; ports $GATEWAY_PORT, $AUTH_PORT and $MEDIA_PORT are free"
  else
    say "Stopped, but a port is still in use: ss -ltnp"
  fi
  exit "$status"
}
trap shutdown EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A process that ends while the stack starts crashed, unless it ended cleanly: nginx, gunicorn
# and celery exit 0 only when told to stop, so that was Ctrl-C reaching the whole group, which
# bash may not have passed on to its INT trap (when the command it was running, a `sleep` or a
# `curl`, ended normally: see gateway_exited below).
exited_while_starting() {
  local name=$1 status=0
  wait "${pids[$name]}" || status=$?
  unset "pids[$name]"
  if [ "$status" -eq 0 ]; then
    say "The $name process stopped while starting; stopping the rest."
    exit 130
  fi
  die "the $name process exited while starting ($status; its log is above)."
}

say "Starting the auth service (:$AUTH_PORT), the media service (:$MEDIA_PORT) and its job worker, the gateway (:$GATEWAY_PORT)"
start auth
start media
start worker

# The gateway starts once both services listen (so its log opens without connection errors),
# and the stack is ready when the gateway's /health says both answer.
for _ in $(seq 1 $((READY_TIMEOUT_SECONDS * 4))); do
  for name in "${!pids[@]}"; do
    is_alive "${pids[$name]}" || exited_while_starting "$name"
  done
  if [ -z "${pids[gateway]:-}" ] && port_in_use "$AUTH_PORT" && port_in_use "$MEDIA_PORT"; then
    start gateway
  elif [ -n "${pids[gateway]:-}" ] &&
    [ "$(http_status "http://127.0.0.1:$GATEWAY_PORT/health")" = 200 ]; then
    ready=1
    break
  fi
  sleep 0.25
done
[ "$ready" = 1 ] || die "/health did not answer 200 within ${READY_TIMEOUT_SECONDS}s (logs above)."

lan=$(lan_address)
stack="MEDIA_HANDLER_ENV=$MEDIA_HANDLER_ENV"
if [ "$MEDIA_HANDLER_ENV" = development ]; then
  stack="a development stack ($stack: generated secrets and any host or origin are accepted)"
fi
cat >&2 <<EOF

  Media Handler is up: $stack.
    gateway  http://localhost:$GATEWAY_PORT/            health: http://localhost:$GATEWAY_PORT/health
    ${lan:+phone    http://$lan:$GATEWAY_PORT/            (same Wi-Fi)}
    auth     http://127.0.0.1:$AUTH_PORT/api/auth/    (direct, this machine only)
    media    http://127.0.0.1:$MEDIA_PORT/api/media/   (direct, this machine only)
    jobs     one worker (celery, ${JOB_WORKER_CONCURRENCY:-2} processes) on ${CELERY_BROKER_URL:-${REDIS_URL:-files in $JOB_QUEUE_DIR}}
    media files in $MEDIA_ROOT; gateway access log $gateway_prefix/logs/access.log
  Ctrl-C stops everything.

EOF

# nginx exits 0 only when told to stop. Ctrl-C reaches it and this script together, and bash
# may let nginx's clean exit stand for the interrupt (it then never runs the INT trap): stop as
# for Ctrl-C then, and as for a crash otherwise.
gateway_exited() {
  if [ "$1" -eq 0 ]; then
    say "The gateway stopped; stopping the services."
    exit 130
  fi
  die "the gateway (nginx) exited ($1); stopping the services."
}

# Supervise: restart a service (or the worker) that dies (the gateway reports a service down
# meanwhile); give up when one dies five times within a minute, and stop everything when the
# gateway itself dies.
declare -A first_restart=()
on_exit() {
  local name=$1 status=$2 now
  unset "pids[$name]"
  if [ "$name" = gateway ]; then gateway_exited "$status"; fi
  now=$(date +%s)
  if [ $((now - ${first_restart[$name]:-0})) -gt 60 ]; then
    first_restart[$name]=$now
    restarts[$name]=0
  fi
  restarts[$name]=$((${restarts[$name]} + 1))
  if [ "${restarts[$name]}" -gt 5 ]; then
    die "the $name service keeps exiting; stopping everything."
  fi
  say "The $name service exited; restarting it in ${RESTART_DELAY_SECONDS}s"
  sleep "$RESTART_DELAY_SECONDS" &
  wait $! || true
  start "$name"
}

ticker=""
while true; do
  # `wait -n` may not report a child that ended before it was called (while the banner was
  # printed, during a restart's delay, or between this check and the `wait`): each one is
  # looked at first, and a ticker ending every five seconds wakes the `wait` up to look again
  # (a gateway killed in that gap once left this loop waiting for good). Not more often: each
  # look runs `ps` per service, which a benchmark on two cores would feel.
  for name in "${!pids[@]}"; do
    if ! is_alive "${pids[$name]}"; then
      status=0
      wait "${pids[$name]}" || status=$?
      on_exit "$name" "$status"
    fi
  done
  if [ -z "$ticker" ] || ! is_alive "$ticker"; then
    sleep 5 &
    ticker=$!
  fi
  exited="" exit_status=0
  wait -n -p exited || exit_status=$?
  [ -n "$exited" ] && [ "$exited" != "$ticker" ] || continue
  for name in "${!pids[@]}"; do
    if [ "${pids[$name]}" = "$exited" ]; then on_exit "$name" "$exit_status"; fi
  done
done
