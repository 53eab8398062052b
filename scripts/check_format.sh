#!/usr/bin/env bash
# Fails (and prints the diff) when a C++ file of the tree differs from what
# clang-format 14 makes of it with the repository's .clang-format.
# `scripts/check_format.sh --fix` rewrites the files instead.
set -euo pipefail
cd "$(dirname "$0")/.."
format=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(git ls-files '*.cc' '*.h' | grep -v '^examples/external_workspace/bazel-')
if [[ "${1:-}" == "--fix" ]]; then
  "$format" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! diff -u --label "$f" --label "$f (clang-format)" "$f" <("$format" "$f"); then
    bad=$((bad + 1))
  fi
done
if [[ $bad -ne 0 ]]; then
  echo "check_format: $bad file(s) differ from clang-format; run scripts/check_format.sh --fix" >&2
  exit 1
fi
