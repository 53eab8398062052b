#!/usr/bin/env bash
# Quick start: installs what is missing, builds, and runs the local sidecar
# in the foreground — a manager on 127.0.0.1:50051 and a worker pool with
# one process per CPU (Ctrl-C stops the workers, then the manager). Extra
# arguments go to `mproc up`, e.g. --processes 4 --allow-exec.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bazel build -c opt --noshow_progress //cli:mproc
exec bazel-bin/cli/mproc up "$@"
