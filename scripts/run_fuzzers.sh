#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/, --config=fuzz) and runs each
# for a bounded time over a scratch copy of its seed corpus. Fails on any
# crash, leak, sanitizer report, out-of-memory, or an input slower than
# the per-input limit (a super-linear input: with inputs of at most
# MAX_LEN bytes, a linear decoder answers in microseconds).
#   scripts/run_fuzzers.sh [SECONDS_EACH] [FUZZER ...]
# Logs and any finding are kept in .fuzz-findings/<fuzzer>/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
shift || true
all=(value_codec_fuzzer proto_value_fuzzer json_fuzzer task_wire_fuzzer dispatcher_fuzzer mapped_log_fuzzer)
fuzzers=("${@:-${all[@]}}")
[[ $# -eq 0 ]] && fuzzers=("${all[@]}")

targets=()
for f in "${fuzzers[@]}"; do targets+=("//tests/fuzz:$f"); done
bazel build --config=fuzz --noshow_progress --curses=no --color=no \
  --disk_cache="${HOME}/.cache/mproc/bazel-disk" "${targets[@]}" || exit 1
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)
findings="$(pwd)/.fuzz-findings"
mkdir -p "$findings"

failed=0
for f in "${fuzzers[@]}"; do
  work=$(mktemp -d)
  cp tests/fuzz/corpus/"$f"/* "$work"/ 2>/dev/null || true
  mkdir -p "$findings/$f"
  log="$findings/$f/log.txt"
  # -timeout: one input may take at most 2 s; -rss_limit_mb: 2 GiB.
  if timeout $((seconds + 120)) "$bin/tests/fuzz/$f" "$work" \
      -max_total_time="$seconds" -timeout=2 -rss_limit_mb=2048 \
      -max_len=4096 -print_final_stats=1 \
      -artifact_prefix="$findings/$f/" >"$log" 2>&1; then
    echo "fuzz: $f: $(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs, no finding"
  else
    echo "fuzz: $f: FAILED (see $log)"
    tail -40 "$log"
    failed=$((failed + 1))
  fi
  rm -rf "$work"
done
exit $((failed > 0))
