#!/usr/bin/env bash
# shellcheck disable=SC2034  # template values are read by name, ${!name}, in render()
# Renders the gateway's nginx configuration from gateway/templates/ and the environment:
#   gateway/render.sh OUT_DIR
# writes OUT_DIR/media-handler.conf (the site, http context) and OUT_DIR/nginx.conf (a whole
# nginx including that site). Used by run_with_gateway.sh, setup_nginx.sh and the gateway
# container, so the three cannot drift apart. Variables and defaults: .env.example, "Gateway".
set -o errexit -o nounset -o pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")

if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)

fail() {
  echo "gateway/render.sh: $*" >&2
  exit 1
}

GATEWAY_PORT=${GATEWAY_PORT:-3000}
AUTH_UPSTREAM=${AUTH_UPSTREAM:-127.0.0.1:${AUTH_PORT:-8000}}
MEDIA_UPSTREAM=${MEDIA_UPSTREAM:-127.0.0.1:${MEDIA_PORT:-8001}}
MEDIA_ROOT=${MEDIA_ROOT:-$repo/media}
MEDIA_ROOT=${MEDIA_ROOT%/}
MAX_UPLOAD_SIZE=${MAX_UPLOAD_SIZE:-1073741824}
X_ACCEL_REDIRECT_PREFIX=${X_ACCEL_REDIRECT_PREFIX:-/_protected_media/}
X_ACCEL_S3_PREFIX=${X_ACCEL_S3_PREFIX:-/_protected_s3/}
# The name server nginx asks for the object store's address (MEDIA_STORAGE=s3 with a host name):
# the system's first IPv4 one by default.
if [ -z "${GATEWAY_RESOLVER:-}" ]; then
  GATEWAY_RESOLVER=$(awk '$1 == "nameserver" && $2 ~ /^[0-9.]+$/ { print $2; exit }' \
    /etc/resolv.conf 2>/dev/null || true)
  GATEWAY_RESOLVER=${GATEWAY_RESOLVER:-127.0.0.1}
fi
GATEWAY_SERVER_NAME=${GATEWAY_SERVER_NAME:-_}
GATEWAY_PREFIX=${GATEWAY_PREFIX:-$repo/var/gateway}
GATEWAY_JS_DIR=${GATEWAY_JS_DIR:-$here}
# Where nginx keeps the token checks it remembers (media-handler.conf.template); nginx makes the
# directory (not its parents).
GATEWAY_TOKEN_CHECK_CACHE_DIR=${GATEWAY_TOKEN_CHECK_CACHE_DIR:-$GATEWAY_PREFIX/token-checks}
# The web app's build (scripts/build_web.sh); served at / when it is there.
GATEWAY_WEB_ROOT=${GATEWAY_WEB_ROOT:-$repo/web/dist}
GATEWAY_WEB_ROOT=${GATEWAY_WEB_ROOT%/}
GATEWAY_ACCESS_LOG=${GATEWAY_ACCESS_LOG:-$GATEWAY_PREFIX/logs/access.log}
GATEWAY_ERROR_LOG=${GATEWAY_ERROR_LOG:-stderr}
GATEWAY_WORKER_PROCESSES=${GATEWAY_WORKER_PROCESSES:-auto}
NGINX_MIME_TYPES=${NGINX_MIME_TYPES:-/etc/nginx/mime.types}
GATEWAY_SITE_CONF=$out/media-handler.conf

[[ $GATEWAY_PORT =~ ^[0-9]+$ ]] || fail "GATEWAY_PORT must be a port number, not '$GATEWAY_PORT'"
[[ $MAX_UPLOAD_SIZE =~ ^[0-9]+$ ]] || fail "MAX_UPLOAD_SIZE must be bytes, not '$MAX_UPLOAD_SIZE'"
[[ $MEDIA_ROOT == /* ]] || fail "MEDIA_ROOT must be an absolute path, not '$MEDIA_ROOT'"
[[ $GATEWAY_WEB_ROOT == /* ]] || fail "GATEWAY_WEB_ROOT must be an absolute path, not '$GATEWAY_WEB_ROOT'"
[[ $X_ACCEL_REDIRECT_PREFIX == /*/ ]] || fail "X_ACCEL_REDIRECT_PREFIX must start and end with /"
[[ $X_ACCEL_S3_PREFIX =~ ^/[A-Za-z0-9_/-]*/$ ]] ||
  fail "X_ACCEL_S3_PREFIX must start and end with / (letters, digits, _ and - between)"
resolver_pattern='^[][0-9A-Za-z.: -]+$'
[[ $GATEWAY_RESOLVER =~ $resolver_pattern ]] ||
  fail "GATEWAY_RESOLVER must be name server addresses, not '$GATEWAY_RESOLVER'"

# The store's certificate is checked against the system's CA bundle when the store is https
# (GATEWAY_CA_BUNDLE to name another); without a bundle nginx cannot check it, and says so here.
if [ -z "${GATEWAY_CA_BUNDLE:-}" ]; then
  for candidate in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt \
    /etc/ssl/cert.pem; do
    if [ -f "$candidate" ]; then
      GATEWAY_CA_BUNDLE=$candidate
      break
    fi
  done
fi
if [ -n "${GATEWAY_CA_BUNDLE:-}" ]; then
  [ -f "$GATEWAY_CA_BUNDLE" ] || fail "GATEWAY_CA_BUNDLE: no file $GATEWAY_CA_BUNDLE"
  GATEWAY_S3_TLS_VERIFY="proxy_ssl_verify on;
        proxy_ssl_verify_depth 4;
        proxy_ssl_trusted_certificate $GATEWAY_CA_BUNDLE;"
else
  GATEWAY_S3_TLS_VERIFY="# no CA bundle found (GATEWAY_CA_BUNDLE): an https store's certificate is not checked"
fi

# `server` lines of an upstream from a comma- or space-separated list of host:port.
host_port_pattern='^[][A-Za-z0-9.:_-]+$'
upstream_servers() {
  local variable=$1 list=$2 servers="" node
  for node in ${list//,/ }; do
    [[ $node =~ $host_port_pattern ]] || fail "$variable: '$node' is not a host:port"
    servers+="    server $node max_fails=1 fail_timeout=5s;"$'\n'
  done
  [ -n "$servers" ] || fail "$variable names no server"
  printf '%s' "${servers%$'\n'}"
}
AUTH_UPSTREAM_SERVERS=$(upstream_servers AUTH_UPSTREAM "$AUTH_UPSTREAM")
MEDIA_UPSTREAM_SERVERS=$(upstream_servers MEDIA_UPSTREAM "$MEDIA_UPSTREAM")

# Room above the file limit for the multipart framing and the other form fields: the same room
# the media service allows (MULTIPART_OVERHEAD_BYTES), so whatever body the service would refuse
# by its length alone, nginx refuses first, before any of it is streamed upstream.
CLIENT_MAX_BODY_SIZE=${CLIENT_MAX_BODY_SIZE:-$((MAX_UPLOAD_SIZE + 65536))}

# Connections: plenty per worker (idle ones are cheap), each using two descriptors when proxied.
GATEWAY_WORKER_CONNECTIONS=${GATEWAY_WORKER_CONNECTIONS:-8192}
[[ $GATEWAY_WORKER_CONNECTIONS =~ ^[0-9]+$ ]] ||
  fail "GATEWAY_WORKER_CONNECTIONS must be a number, not '$GATEWAY_WORKER_CONNECTIONS'"
hard_nofile=$(ulimit -Hn)
wanted_nofile=$((2 * GATEWAY_WORKER_CONNECTIONS + 1024))
if [[ $hard_nofile =~ ^[0-9]+$ ]] && ((wanted_nofile > hard_nofile)); then
  wanted_nofile=$hard_nofile
fi
GATEWAY_WORKER_RLIMIT_NOFILE=${GATEWAY_WORKER_RLIMIT_NOFILE:-$wanted_nofile}
# Requests in progress from one client address at once.
GATEWAY_CONNECTIONS_PER_ADDRESS=${GATEWAY_CONNECTIONS_PER_ADDRESS:-256}
[[ $GATEWAY_CONNECTIONS_PER_ADDRESS =~ ^[1-9][0-9]*$ ]] ||
  fail "GATEWAY_CONNECTIONS_PER_ADDRESS must be a positive number"

# Who may reach the Django admin through the gateway: addresses or CIDR ranges separated by
# spaces or commas, `all`, or `none`. By default only this machine.
GATEWAY_ADMIN_ALLOW=${GATEWAY_ADMIN_ALLOW:-127.0.0.1 ::1}
case $GATEWAY_ADMIN_ALLOW in
  all) GATEWAY_ADMIN_ACCESS="        # GATEWAY_ADMIN_ALLOW=all: open to every address" ;;
  none) GATEWAY_ADMIN_ACCESS="        deny all;" ;;
  *)
    GATEWAY_ADMIN_ACCESS=""
    for address in ${GATEWAY_ADMIN_ALLOW//,/ }; do
      [[ $address =~ ^[0-9A-Fa-f.:/]+$ ]] ||
        fail "GATEWAY_ADMIN_ALLOW: '$address' is not an address or CIDR range (or all, none)"
      GATEWAY_ADMIN_ACCESS+="        allow $address;"$'\n'
    done
    GATEWAY_ADMIN_ACCESS+="        deny all;"
    ;;
esac

# Uploads streamed to the media service at once; more are buffered first, as every other body.
# By default one thread fewer per worker than the media service has (counted as
# gateway/gunicorn.conf.py counts them), so slow uploads always leave threads for the rest.
# CORS on the answers nginx makes itself (its JSON errors: a token refused before an upload's
# body, 413, 429, a service down), for the origins the services allow (common/base_settings.py:
# CORS_ALLOWED_ORIGINS, comma-separated; every origin when CORS_ALLOW_ALL_ORIGINS, which is the
# default exactly when no origin is listed). Without it a browser on another origin sees a
# network error instead of the status: no refresh on a 401, no wait on a 429. The services
# answer CORS for everything they answer themselves.
CORS_ALLOWED_ORIGINS=${CORS_ALLOWED_ORIGINS:-}
if [ -z "$CORS_ALLOWED_ORIGINS" ]; then
  allow_all=${CORS_ALLOW_ALL_ORIGINS:-true}
else
  allow_all=${CORS_ALLOW_ALL_ORIGINS:-false}
fi
# True as django-environ reads it (anything else is false).
case ${allow_all,,} in
  true | on | ok | y | yes | 1)
    GATEWAY_CORS_ORIGINS='    "" "";
    default "*";'
    ;;
  *)
    GATEWAY_CORS_ORIGINS='    default "";'
    # scheme://host[:port], an IPv6 host in brackets; nothing nginx would read as syntax.
    origin_pattern='^[A-Za-z][A-Za-z0-9+.-]*://[][A-Za-z0-9.:_-]+$'
    for origin in ${CORS_ALLOWED_ORIGINS//,/ }; do
      [[ $origin =~ $origin_pattern ]] ||
        fail "CORS_ALLOWED_ORIGINS: '$origin' is not an origin (scheme://host[:port])"
      GATEWAY_CORS_ORIGINS+=$'\n'"    \"$origin\" \$http_origin;"
    done
    ;;
esac

# Where the web app's pictures and videos may come from besides the gateway: the store's origin
# with S3_REDIRECT_DOWNLOADS=true (a signed URL redirects there, and the page's CSP applies to
# the redirect's target too). Space- or comma-separated origins.
GATEWAY_WEB_MEDIA_SOURCES=""
GATEWAY_WEB_MEDIA_ORIGINS=${GATEWAY_WEB_MEDIA_ORIGINS:-}
for origin in ${GATEWAY_WEB_MEDIA_ORIGINS//,/ }; do
  [[ $origin =~ ^https?://[][A-Za-z0-9.:_-]+$ ]] ||
    fail "GATEWAY_WEB_MEDIA_ORIGINS: '$origin' is not an origin (http(s)://host[:port])"
  GATEWAY_WEB_MEDIA_SOURCES+=" $origin"
done

cores=$(nproc 2>/dev/null || echo 1)
media_workers=${GUNICORN_WORKERS:-$((2 * cores + 1 < 9 ? 2 * cores + 1 : 9))}
media_threads=${GUNICORN_THREADS:-4}
[[ $media_workers =~ ^[0-9]+$ && $media_threads =~ ^[0-9]+$ ]] ||
  fail "GUNICORN_WORKERS and GUNICORN_THREADS must be numbers"
MEDIA_STREAMED_UPLOADS=${MEDIA_STREAMED_UPLOADS:-$((media_workers * (media_threads - 1)))}
[[ $MEDIA_STREAMED_UPLOADS =~ ^[0-9]+$ ]] ||
  fail "MEDIA_STREAMED_UPLOADS must be a number, not '$MEDIA_STREAMED_UPLOADS'"
# nginx refuses a limit of 0: one streamed upload at least.
((MEDIA_STREAMED_UPLOADS > 0)) || MEDIA_STREAMED_UPLOADS=1
if ((MAX_UPLOAD_SIZE >= 1073741824 && MAX_UPLOAD_SIZE % 1073741824 == 0)); then
  MAX_UPLOAD_SIZE_HUMAN="$((MAX_UPLOAD_SIZE / 1073741824)) GiB"
elif ((MAX_UPLOAD_SIZE >= 1048576 && MAX_UPLOAD_SIZE % 1048576 == 0)); then
  MAX_UPLOAD_SIZE_HUMAN="$((MAX_UPLOAD_SIZE / 1048576)) MiB"
else
  MAX_UPLOAD_SIZE_HUMAN="$MAX_UPLOAD_SIZE bytes"
fi

if [ -z "${NJS_MODULE:-}" ]; then
  for candidate in /usr/lib/nginx/modules/ngx_http_js_module.so \
    /etc/nginx/modules/ngx_http_js_module.so /usr/lib64/nginx/modules/ngx_http_js_module.so; do
    if [ -f "$candidate" ]; then
      NJS_MODULE=$candidate
      break
    fi
  done
fi
[ -n "${NJS_MODULE:-}" ] || fail "the njs module is missing: apt-get install libnginx-mod-http-js"

# Only a master started as root switches users; its workers must read the uploads, which the
# services (running as the same user) write with mode 0640.
if [ "$(id -u)" -eq 0 ]; then
  GATEWAY_USER_DIRECTIVE="user ${GATEWAY_USER:-root};"
else
  GATEWAY_USER_DIRECTIVE="# not started as root: nginx keeps the current user"
fi

names=(
  GATEWAY_PORT AUTH_UPSTREAM MEDIA_UPSTREAM MEDIA_ROOT MAX_UPLOAD_SIZE_HUMAN
  AUTH_UPSTREAM_SERVERS MEDIA_UPSTREAM_SERVERS X_ACCEL_S3_PREFIX GATEWAY_RESOLVER
  GATEWAY_S3_TLS_VERIFY
  X_ACCEL_REDIRECT_PREFIX GATEWAY_SERVER_NAME GATEWAY_PREFIX GATEWAY_JS_DIR GATEWAY_ACCESS_LOG
  GATEWAY_TOKEN_CHECK_CACHE_DIR
  GATEWAY_ERROR_LOG GATEWAY_WORKER_PROCESSES NGINX_MIME_TYPES GATEWAY_SITE_CONF
  CLIENT_MAX_BODY_SIZE MEDIA_STREAMED_UPLOADS NJS_MODULE GATEWAY_USER_DIRECTIVE
  GATEWAY_WORKER_CONNECTIONS GATEWAY_WORKER_RLIMIT_NOFILE GATEWAY_CONNECTIONS_PER_ADDRESS
  GATEWAY_ADMIN_ACCESS
  GATEWAY_WEB_ROOT GATEWAY_CORS_ORIGINS GATEWAY_WEB_MEDIA_SOURCES
)

# The template's text with every known ${NAME} replaced.
render_text() {
  local template=$1 content name placeholder
  content=$(<"$template")
  for name in "${names[@]}"; do
    placeholder="\${$name}"
    content=${content//"$placeholder"/"${!name}"}
  done
  if [[ $content =~ \$\{[A-Z_]+\} ]]; then
    fail "$template uses ${BASH_REMATCH[0]}, which render.sh does not know"
  fi
  printf '%s' "$content"
}

render() {
  local template=$1 target=$2
  render_text "$template" >"$target.tmp"
  printf '\n' >>"$target.tmp"
  mv "$target.tmp" "$target"
}

# Snippets inlined in several places of the site (rendered first: they use the names above).
# (A snippet's own comment lines, '#' in the first column, describe it, not where it goes.)
MEDIA_CREATE_PROXY=$(render_text "$here/templates/media-create-proxy.conf.template" | grep -v '^#')
names+=(MEDIA_CREATE_PROXY)

render "$here/templates/media-handler.conf.template" "$out/media-handler.conf"
render "$here/templates/nginx.conf.template" "$out/nginx.conf"
