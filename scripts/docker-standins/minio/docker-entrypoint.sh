#!/bin/sh
# `server …` is the server image's command; anything else is the client image's (`mc …`).
set -e
case "$1" in
  server) exec minio "$@" ;;
  minio | mc | sh | bash) exec "$@" ;;
  *) exec mc "$@" ;;
esac
