#!/usr/bin/env bash
# Installs what mproc needs from Debian's packages. Idempotent; prints
# nothing when nothing is missing. `scripts/setup.sh bench` also installs
# what the benchmarks compare against (python3, redis-server).
set -euo pipefail

packages=(
  bazel-bootstrap bazel-rules-java bazel-platforms g++
  libgrpc++-dev protobuf-compiler protobuf-compiler-grpc libprotobuf-dev
  libabsl-dev libgtest-dev libbenchmark-dev libtcmalloc-minimal4 python3
  # Persistence (--data-dir).
  librocksdb-dev
  # The authkey handshake (HMAC-SHA256) and TLS.
  libssl-dev openssl
  # Metrics and the dashboard (--metrics-listen), and the dashboard's
  # browser test (headless Chromium driven by ChromeDriver).
  prometheus-cpp-dev libcivetweb-dev chromium chromium-driver
  # The Python package (python/): its extension and its tests.
  pybind11-dev python3-dev python3-pytest
  # A terminal for the tests of progress bars and `mproc top`;
  # systemd-analyze for the checks of packaging/systemd/.
  tmux systemd
  # The packages (scripts/package.sh) and their check: examples/ built
  # against them with CMake and with pkg-config, the man page rendered.
  pkgconf man-db groff-base
  # The checks: clang 14 (thread-safety analysis, sanitizers, libFuzzer),
  # clang-format 14, and what builds TSan's absl from Debian's source.
  clang-14 clang-format-14 libclang-rt-14-dev cmake dpkg-dev binutils
)
if [[ "${1:-}" == "bench" ]]; then
  packages+=(redis-server redis-tools)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -ne 0 ]] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
