#!/usr/bin/env bash
# Makes sure the base images that Dockerfile and docker-compose.yml name exist in the local Docker
# engine, without a registry: each missing one is built as a stand-in (scripts/docker-standins/)
# on a Debian bookworm root made with debootstrap from the Debian mirror and `docker import`ed.
#   scripts/docker_base_images.sh          build what is missing, refresh earlier stand-ins
# A real image of one of those names (pulled by a user) is used as it is, never replaced. The
# debootstrapped root is kept as a tarball in $MEDIA_HANDLER_CACHE, so it is made once a machine.
set -o errexit -o nounset -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
standins=$repo/scripts/docker-standins
cache=${MEDIA_HANDLER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/media-handler}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
base_image=media-handler/debian:bookworm
rootfs_tar=$cache/debian-bookworm-minbase.tar

say() {
  printf '==> %s\n' "$*" >&2
}

die() {
  printf 'docker_base_images.sh: %s\n' "$*" >&2
  exit 1
}

# The stand-in folder whose Dockerfile says it stands in for exactly this image name (its label
# names one image, or several separated by spaces).
standin_for() {
  local dockerfile names
  for dockerfile in "$standins"/*/Dockerfile; do
    names=$(sed -n 's/.*media-handler\.stand-in-for="\([^"]*\)".*/\1/p' "$dockerfile")
    if [[ " $names " == *" $1 "* ]]; then
      dirname "$dockerfile"
      return 0
    fi
  done
  return 1
}

# The images pulled from a registry: the Dockerfile's FROM lines and the `image:` of compose's
# services (those behind a `profiles:` switch too, such as the optional object store, which
# `make compose-smoke` runs once), less the ones compose builds itself.
named_images() {
  {
    awk 'toupper($1) == "FROM" { print $2 }' "$repo/Dockerfile"
    awk 'in_services && /^    image:/ { print $2 }
         /^[^ #]/ { in_services = ($0 ~ /^services:/) }' "$repo/docker-compose.yml"
  } | grep -v '^media-handler-' | sort -u
}

is_standin() {
  [ -n "$(docker image inspect --format '{{ index .Config.Labels "media-handler.stand-in-for" }}' \
    "$1" 2>/dev/null)" ]
}

# A minimal Debian bookworm root, as the official debian image: no services started by package
# scripts, apt lists and downloaded packages dropped, sources for updates and security too.
make_rootfs_tar() {
  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root (or import a Debian image as $base_image)"
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$cache"
  rm -rf "$cache"/rootfs.* # what an interrupted run left
  local root started
  root=$(mktemp -d "$cache/rootfs.XXXXXX")
  say "debootstrap: a minimal Debian bookworm root from $mirror (once a machine, about a minute)"
  started=$SECONDS
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 || {
    rm -rf "$root"
    die "debootstrap failed: see $cache/debootstrap.log"
  }
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
deb ${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security} bookworm-security main
EOF
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
  : >"$root/etc/resolv.conf"
  : >"$root/etc/hostname"
  say "debootstrap done in $((SECONDS - started)) s"
  tar -C "$root" --numeric-owner -cf "$rootfs_tar.tmp" .
  mv "$rootfs_tar.tmp" "$rootfs_tar"
  rm -rf "$root"
}

ensure_base_image() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then
    return 0
  fi
  [ -f "$rootfs_tar" ] || make_rootfs_tar
  say "docker import $rootfs_tar as $base_image"
  docker import --change 'CMD ["bash"]' "$rootfs_tar" "$base_image" >/dev/null
}

# The folder as the build context, with the CAs this host trusts locally
# (/usr/local/share/ca-certificates): where HTTPS goes through an inspecting proxy, pip in the
# stand-in must trust what the host trusts. The build's output goes to the file $3.
build_standin() {
  local context status=0
  context=$(mktemp -d)
  cp -R "$2/." "$context/"
  mkdir -p "$context/local-ca-certificates"
  find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} \
    "$context/local-ca-certificates/" \; 2>/dev/null || true
  # The host's network: package downloads need no bridge or NAT in the engine.
  docker build --force-rm --network host --tag "$1" "$context" >"$3" 2>&1 || status=$?
  rm -rf "$context"
  return "$status"
}

docker info >/dev/null 2>&1 || die "no Docker engine answers (scripts/install_docker.sh starts one)"
logs=$(mktemp -d)
# shellcheck disable=SC2064  # the path is fixed now
trap "rm -rf '$logs'" EXIT
declare -A folders=() builds=()
mapfile -t images < <(named_images)
for image in "${images[@]}"; do
  folders[$image]=$(standin_for "$image") ||
    die "$image has no stand-in: add one in scripts/docker-standins/ (see its README.md)"
done
for image in "${images[@]}"; do
  if docker image inspect "$image" >/dev/null 2>&1 && ! is_standin "$image"; then
    say "$image: the real image is here, used as it is"
    continue
  fi
  ensure_base_image
  say "$image: building the local stand-in from ${folders[$image]}"
  # All at once: a cold build mostly waits for package downloads.
  build_standin "$image" "${folders[$image]}" "$logs/${image//[:\/]/_}.log" &
  builds[$image]=$!
done
failed=0
started=$SECONDS
for image in "${!builds[@]}"; do
  if ! wait "${builds[$image]}"; then
    tail -n 30 "$logs/${image//[:\/]/_}.log" >&2
    say "building the stand-in $image failed (its build's last lines above)"
    failed=1
  fi
done
[ ${#builds[@]} -eq 0 ] || say "stand-ins built in $((SECONDS - started)) s"
exit "$failed"
