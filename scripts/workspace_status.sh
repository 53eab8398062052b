#!/usr/bin/env bash
# Bazel's --workspace_status_command for stamped builds (scripts/package.sh):
# the commit and whether the tree had changes, for `mproc --version`.
set -uo pipefail
cd "$(dirname "$0")/.."
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
  status=modified
else
  status=clean
fi
echo "BUILD_SCM_REVISION ${revision}"
echo "BUILD_SCM_STATUS ${status}"
