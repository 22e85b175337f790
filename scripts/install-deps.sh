#!/usr/bin/env bash
# Installs the Debian packages Parley builds and tests with. Idempotent: apt-get runs only when a
# package is missing. Run as root or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # SIP stack (src/sip); SIPp and baresip are the real peers of the SIP integration tests, and
  # linphone-cli (linphonec) is the Linphone agent phone of tests/voice/linphone_test.py.
  libre-dev sip-tester baresip-core linphone-cli
  # Media (src/media): librem for G.711, WAV, tones and DTMF detection; espeak-ng for spoken
  # prompts; libsamplerate to bring 22050 Hz speech and any-rate WAV prompts to 8 kHz; sox
  # makes and measures the test tones of the voice integration tests; liburing for the media
  # thread's RTP sockets (one io_uring_enter for many packets, src/media/rtp_ring.h).
  librem-dev libespeak-ng-dev espeak-ng-data libsamplerate0-dev sox liburing-dev
  # HTTP API (src/web): Boost.Beast is header-only in libboost-dev; SQLite is the default store.
  libboost-dev libsqlite3-dev
  # The customer widget's browser test (tests/ui) drives Debian's Chromium with playwright-core.
  chromium
  # bench/voice/run.sh reads Parley's counters from GET /api/status with curl.
  curl
)
# The widget (ui/) builds with Node.js (20.19 or later, for Vite 7) and npm. Only a missing
# command is installed: a Node.js that brings its own npm (NodeSource's, which conflicts with
# Debian's npm package) is kept as it is.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
