#!/usr/bin/env bash
# The app image's entrypoint (Dockerfile, target `app`):
#   docker_service.sh migrate                       migrate both databases, then exit
#   docker_service.sh auth|media [gunicorn options] run that service under gunicorn
#   docker_service.sh worker [celery options]       the media service's job worker (Celery)
# Compose runs `migrate` once as its own service and starts the services after it has succeeded,
# so replicas (`--scale media=3`) never race each other's migrations. The services listen on all
# interfaces of the container; only the gateway is published.
set -o errexit -o nounset -o pipefail

cd /app
service=${1:-}
case $service in
  migrate)
    # One after the other: with a shared DATABASE_URL both services migrate the same database.
    python auth_server/manage.py migrate --noinput
    exec python backend_server/manage.py migrate --noinput
    ;;
  worker)
    shift
    exec celery --workdir backend_server -A backend_server worker --queues media.accounts,media \
      --concurrency "${JOB_WORKER_CONCURRENCY:-2}" --loglevel INFO --without-gossip \
      --without-mingle "$@"
    ;;
  auth) project=auth_server port=${AUTH_PORT:-8000} ;;
  media) project=backend_server port=${MEDIA_PORT:-8001} ;;
  *)
    echo "usage: docker_service.sh migrate | auth|media [gunicorn options] | worker [options]" >&2
    exit 2
    ;;
esac
shift

# gateway/gunicorn.conf.py picks the worker class for the service (gthread for the media).
export GUNICORN_SERVICE=$service
exec gunicorn --config gateway/gunicorn.conf.py --chdir "$project" --bind "0.0.0.0:$port" \
  --worker-tmp-dir /dev/shm "$@" "$project.wsgi:application"
