#!/usr/bin/env bash
# Checks packaging/systemd/ with systemd-analyze verify: each unit, with
# /usr/bin/mproc pointed at the built binary (bazel-bin/cli/mproc), must
# verify without a word. Prints what is wrong; exit 1 then.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(pwd)/bazel-bin/cli/mproc"
[[ -x "$binary" ]] || { echo "check_units: build //cli:mproc first" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for unit in packaging/systemd/*.service; do
  name=$(basename "$unit")
  # A template is verified as an instance of it.
  [[ "$name" == *@.service ]] && name="${name/@/@default}"
  sed "s|/usr/bin/mproc|$binary|g" "$unit" >"$work/$name"
  out=$(systemd-analyze verify --man=no "$work/$name" 2>&1 || true)
  if [[ -n "$out" ]]; then
    echo "check_units: $unit:"
    echo "$out"
    status=1
  fi
done
exit $status
