#!/usr/bin/env bash
# The Debian packages the browser tests (make e2e-browser) need: Chromium (driven by Playwright
# through executable_path: Playwright's own browser download is never used), ffmpeg for real
# sample video and audio, and fonts so pages render text as a person sees it.
set -o errexit -o nounset -o pipefail

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]}." >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
exec apt-get install -y -qq --no-install-recommends "${missing[@]}"
