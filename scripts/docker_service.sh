#!/usr/bin/env bash
# The app image's entrypoint (Dockerfile, target `app`): `docker_service.sh auth|media [gunicorn
# options]` migrates that service's database, then runs it under gunicorn on all interfaces of
# the container (only the gateway is published; the services stay on the compose network).
set -o errexit -o nounset -o pipefail

service=${1:-}
case $service in
  auth) project=auth_server port=${AUTH_PORT:-8000} ;;
  media) project=backend_server port=${MEDIA_PORT:-8001} ;;
  *)
    echo "usage: docker_service.sh auth|media [gunicorn options]" >&2
    exit 2
    ;;
esac
shift

cd /app
python "$project/manage.py" migrate --noinput
# gateway/gunicorn.conf.py picks the worker class for the service (gthread for the media).
export GUNICORN_SERVICE=$service
exec gunicorn --config gateway/gunicorn.conf.py --chdir "$project" --bind "0.0.0.0:$port" \
  --worker-tmp-dir /dev/shm "$@" "$project.wsgi:application"
