#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the manager in the
# foreground on 127.0.0.1:50051 (Ctrl-C stops it). Extra arguments go to
# `mproc manager`, e.g. --listen unix:/tmp/mproc.sock.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel build -c opt --noshow_progress //client/cli:mproc
exec bazel-bin/client/cli/mproc manager "$@"
