#!/usr/bin/env bash
# As the official redis image's entrypoint: options alone mean redis-server; redis-server runs as
# the redis user in /data, and without protected mode (the official build turns it off: the
# server is reached over the container network, with no password by default).
set -o errexit -o nounset -o pipefail

if [ "${1:0:1}" = - ] || [[ ${1:-} == *.conf ]]; then
  set -- redis-server "$@"
fi
if [ "${1:-}" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi
if [ "${1:-}" = redis-server ] && [[ " $* " != *protected-mode* ]] && [[ ${2:-} != *.conf ]]; then
  set -- "$@" --protected-mode no
fi
exec "$@"
