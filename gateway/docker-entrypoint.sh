#!/usr/bin/env bash
# The gateway container's entrypoint (Dockerfile, target `gateway`): renders the same template
# the scripts use from the container's environment, checks it, and runs nginx in the foreground.
set -o errexit -o nounset -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export GATEWAY_PREFIX=${GATEWAY_PREFIX:-/var/cache/nginx/media-handler}
mkdir -p "$GATEWAY_PREFIX/logs" "$GATEWAY_PREFIX/tmp" "$GATEWAY_PREFIX/conf"
"$here/render.sh" "$GATEWAY_PREFIX/conf"
nginx -t -q -p "$GATEWAY_PREFIX" -c "$GATEWAY_PREFIX/conf/nginx.conf"
exec nginx -p "$GATEWAY_PREFIX" -c "$GATEWAY_PREFIX/conf/nginx.conf" -g 'daemon off;'
