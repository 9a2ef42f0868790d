#!/usr/bin/env bash
# Installs the gateway as a system nginx site (Debian/Ubuntu layout) on port 80: the same
# template as ./run_with_gateway.sh's gateway, rendered for the system nginx, checked with
# `nginx -t`, then nginx is reloaded (or started). Safe to run again; `--remove` undoes it.
# Needs root. The services themselves must run on 127.0.0.1:$AUTH_PORT and :$MEDIA_PORT with
# USE_X_FORWARDED_HOST=true, TRUSTED_PROXY_COUNT=1 and USE_X_ACCEL_REDIRECT=true.
#
# Environment (all optional): SITE_PORT=80, GATEWAY_SERVER_NAME=_ (your domain), AUTH_PORT=8000,
# MEDIA_PORT=8001, MEDIA_ROOT, MAX_UPLOAD_SIZE (from the environment or .env, as the services).
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"
# shellcheck source=scripts/lib.sh
source scripts/lib.sh

SITE_PORT=${SITE_PORT:-80}
NGINX_DIR=/etc/nginx
site_name=media-handler
support_dir=$NGINX_DIR/$site_name
# Under nginx's own cache directory, which its workers may write to (also under SELinux).
token_check_parent=/var/cache/nginx/$site_name
if [ -d "$NGINX_DIR/sites-available" ]; then
  site_file=$NGINX_DIR/sites-available/$site_name.conf
  enabled_link=$NGINX_DIR/sites-enabled/$site_name.conf
else
  site_file=$NGINX_DIR/conf.d/$site_name.conf
  enabled_link=""
fi
default_link=$NGINX_DIR/sites-enabled/default

[ "$(id -u)" -eq 0 ] || die "the system site needs root: sudo $0 $*"
export PATH=$PATH:/usr/sbin:/sbin

reload_nginx() {
  if [ -d /run/systemd/system ]; then
    systemctl enable --now nginx >/dev/null 2>&1 || true
    systemctl reload nginx
    say "Reloaded nginx (systemctl reload nginx)"
  elif [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    nginx -s reload
    say "Reloaded nginx (nginx -s reload)"
  else
    nginx
    say "Started nginx (it was not running)"
  fi
}

if [ "${1:-}" = "--remove" ]; then
  rm -f "$site_file" ${enabled_link:+"$enabled_link"}
  rm -rf "$support_dir" "$token_check_parent"
  say "Removed $site_file, $support_dir and $token_check_parent"
  if [ -f "$NGINX_DIR/sites-available/default" ] && [ ! -e "$default_link" ]; then
    ln -s "$NGINX_DIR/sites-available/default" "$default_link"
    say "Re-enabled the distribution's default site"
  fi
  nginx -t -q
  reload_nginx
  exit 0
fi

bash scripts/install_system_packages.sh
load_env_file
resolve_media_root

mkdir -p "$support_dir"
install -m 0644 gateway/health.js gateway/tokens.js "$support_dir/"
# The token checks the gateway remembers: nginx makes the directory (its workers' own), not its
# parent.
mkdir -p "$token_check_parent"
# The web app, copied where the system nginx's user can read it.
bash scripts/build_web.sh
rm -rf "$support_dir/web"
cp -r web/dist "$support_dir/web"
chmod -R a+rX "$support_dir/web"
rendered=$(mktemp -d)
trap 'rm -rf "$rendered"' EXIT
GATEWAY_PORT=$SITE_PORT GATEWAY_JS_DIR=$support_dir GATEWAY_WEB_ROOT=$support_dir/web \
  GATEWAY_TOKEN_CHECK_CACHE_DIR=$token_check_parent/token-checks \
  GATEWAY_ACCESS_LOG=/var/log/nginx/$site_name.access.log \
  gateway/render.sh "$rendered"

backup=""
if [ -f "$site_file" ]; then
  backup=$rendered/previous.conf
  cp "$site_file" "$backup"
fi
install -m 0644 "$rendered/media-handler.conf" "$site_file"
say "Installed the site $site_file (port $SITE_PORT, files from $MEDIA_ROOT)"
if [ -n "$enabled_link" ]; then
  ln -sfn "$site_file" "$enabled_link"
  say "Enabled it: $enabled_link"
fi
# Our site is the default server on its port; the distribution's default site would clash.
if [ -L "$default_link" ] && grep -qE "listen[^;]*\b$SITE_PORT\b[^;]*default_server" "$default_link"; then
  rm "$default_link"
  say "Disabled the distribution's default site ($default_link; --remove restores it)"
fi

if ! nginx -t -q; then
  if [ -n "$backup" ]; then
    cp "$backup" "$site_file"
  else
    rm -f "$site_file" ${enabled_link:+"$enabled_link"}
  fi
  die "nginx -t failed (above); the previous configuration is back in place. Is the njs module \
loaded (apt-get install libnginx-mod-http-js adds /etc/nginx/modules-enabled/50-mod-http-js.conf)?"
fi
say "nginx -t: the configuration is valid"
reload_nginx

worker_user=$(awk '$1 == "user" {gsub(";", "", $2); print $2}' "$NGINX_DIR/nginx.conf")
if [ -n "$worker_user" ] && command -v runuser >/dev/null &&
  ! runuser -u "$worker_user" -- test -x "$MEDIA_ROOT"; then
  say "Warning: nginx's workers ($worker_user) cannot enter $MEDIA_ROOT, so downloads would fail."
  say "Run the services with group $worker_user (uploads are written 0640) and chgrp the files."
fi
cat >&2 <<EOF

  The gateway answers on http://localhost:$SITE_PORT/ (health: /health).
  It proxies to 127.0.0.1:${AUTH_PORT:-8000} (auth) and 127.0.0.1:${MEDIA_PORT:-8001} (media): run
  them under gunicorn (gateway/gunicorn.conf.py, with GUNICORN_SERVICE=auth or media: uploads
  are streamed to the media service's threaded workers) with USE_X_FORWARDED_HOST=true,
  TRUSTED_PROXY_COUNT=1 and USE_X_ACCEL_REDIRECT=true, e.g. from ./run_with_gateway.sh.
  Run the media service's job worker beside them, with the same environment (thumbnails,
  previews and clean-ups wait for it; uploads stay `processing: pending` without it):
    celery --workdir backend_server -A backend_server worker --queues media --concurrency 2
  (one process per core; ffmpeg must be installed: scripts/install_system_packages.sh).
  Once the site serves HTTPS (certbot --nginx), add TRUST_X_FORWARDED_PROTO=true.

EOF
