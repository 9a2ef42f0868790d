#!/usr/bin/env bash
# Builds the web app (web/) into web/dist, which the gateway serves at /. Installs Debian's
# nodejs and npm when node is missing (like install_system_packages.sh does for nginx), installs
# the locked dependencies (`npm ci`) when the lockfile changed, and builds only when a source
# changed since the last build. Used by run_with_gateway.sh, setup_nginx.sh and `make web`.
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web=$repo/web

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "The web app needs Node.js 18 or newer and npm: sudo apt-get install -y nodejs npm" >&2
    exit 1
  fi
  echo "Installing system packages: nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq nodejs npm
fi

cd "$web"
# Stacks started side by side (the test suites) build once: the others wait, then find it done.
exec 9>"$web/.build.lock"
flock 9
# What the dependencies and the build depend on, as checksums kept beside their results.
lock_sum=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
source_sum=$(
  find index.html vite.config.js package.json package-lock.json src public -type f -print0 |
    sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
)

if [ "$(cat node_modules/.lock.sha256 2>/dev/null)" != "$lock_sum" ]; then
  echo "==> Installing the web app's locked dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s\n' "$lock_sum" >node_modules/.lock.sha256
fi

if [ "${1:-}" = "--deps-only" ]; then
  exit 0
fi

if [ "$(cat dist/.source.sha256 2>/dev/null)" != "$source_sum" ]; then
  echo "==> Building the web app into web/dist" >&2
  npm run --silent build -- --logLevel warn
  printf '%s\n' "$source_sum" >dist/.source.sha256
fi
