#!/usr/bin/env bash
# Installs what is missing, builds everything, runs every test, and ends
# with the line "N passed, N failed" (test cases, counted from each test
# target's XML report; a target that crashed or timed out without a report
# counts as one failure).
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

log=$(mktemp)
bazel test --noshow_progress --curses=no --color=no //... 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}

python3 scripts/count_tests.py "$log" "$(bazel info bazel-testlogs 2>/dev/null)"
count_rc=$?
rm -f "$log"
if [[ $bazel_rc -ne 0 || $count_rc -ne 0 ]]; then exit 1; fi
exit 0
