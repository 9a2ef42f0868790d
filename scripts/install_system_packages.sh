#!/usr/bin/env bash
# The Debian packages the stack needs: nginx (+ njs for the gateway's /health), libmagic for
# upload sniffing, ffmpeg (and ffprobe) for video posters, audio cover art and their facts,
# prlimit (util-linux) to run ffprobe under limits from a request.
# Installs only what is missing; says what to do when it cannot install.
set -o errexit -o nounset -o pipefail

missing=()
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
ls /usr/lib/nginx/modules/ngx_http_js_module.so >/dev/null 2>&1 || missing+=(libnginx-mod-http-js)
ldconfig -p 2>/dev/null | grep -q 'libmagic\.so\.1' || missing+=(libmagic1)
{ command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || missing+=(ffmpeg)
# prlimit: the limits of an ffprobe run from a request's thread (files/ffmpeg.py).
command -v prlimit >/dev/null 2>&1 || missing+=(util-linux)

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
