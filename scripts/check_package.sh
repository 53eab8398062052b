#!/usr/bin/env bash
# The packages as a user gets them (a `check package` in scripts/test.sh):
#   1. scripts/package.sh builds the .deb and the tarball;
#   2. the tarball is unpacked into a temporary prefix; examples/ is built
#      against it with CMake (shared and static libraries) and with
#      pkg-config + g++ (the static worker library: its stock tasks must be
#      there without whole-archive linking);
#   3. those programs run against a manager started from the prefix's
#      bin/mproc: a worker built with CMake and one built with pkg-config
#      serve their own tasks and the stock ones, the client example counts
#      in a shared dict, the Process/Pipe example and the pre-forked server
#      answer;
#   4. the .deb's metadata and files are checked, and a client is built
#      with pkg-config from the .deb's files and run.
# Every step is bounded; a failure prints what failed and exits 1. (Output
# is captured before grep -q reads it: with pipefail, a grep that stops at
# its first match would fail the pipeline by its writer's SIGPIPE.)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

work=$(mktemp -d /tmp/mpk.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "check_package: $*" >&2
  for log in "$work"/*.log; do
    [[ -f $log ]] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
  done
  exit 1
}
# expect WHAT EXPECTED ACTUAL
expect() {
  [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
}

timeout 1800 scripts/package.sh --out "$work/dist" >"$work/package.log" 2>&1 ||
  fail "scripts/package.sh failed"
# shellcheck source=scripts/version.sh
source scripts/version.sh
arch=$(dpkg --print-architecture)
tarball=$work/dist/mproc-$version-linux-$arch.tar.gz
deb=$work/dist/mproc_${version}_$arch.deb
[[ -f $tarball && -f $deb ]] || fail "package.sh made no $tarball or $deb"

# 2. Unpack and build, the way the README says.
mkdir "$work/opt"
tar -C "$work/opt" -xzf "$tarball"
prefix=$work/opt/mproc-$version-linux-$arch
mproc=$prefix/bin/mproc
version_text=$("$mproc" --version)
expect "mproc --version" "mproc $version" "$(sed -n 1p <<<"$version_text")"
grep -q '^revision: [0-9a-f]\{12\} (\(clean\|modified\))$' <<<"$version_text" ||
  fail "mproc --version names no revision: $("$mproc" --version)"

timeout 600 cmake -S examples -B "$work/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/cmake.log" 2>&1 || fail "cmake configure failed"
timeout 900 cmake --build "$work/cmake" -j2 >>"$work/cmake.log" 2>&1 ||
  fail "cmake build failed"

# The shared libraries export mproc's symbols only (not, say, the gRPC
# health service's generated classes linked into them).
for lib in client worker; do
  so=$prefix/lib/libmproc_$lib.so.$soversion
  [[ -f $so ]] || fail "no $so"
  foreign=$(nm -DC --defined-only "$so" | awk '{$1=$2=""; print}' |
    grep -v -E '^ *((typeinfo|typeinfo name|vtable|VTT|guard variable) for )?mproc::' |
    grep -v -E '^ *(_init|_fini)$' | head -n 3 || true)
  [[ -z $foreign ]] || fail "libmproc_$lib exports more than mproc's symbols: $foreign"
done

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
expect "pkg-config --modversion mproc-worker" "$version" \
  "$(pkg-config --modversion mproc-worker)"
# shellcheck disable=SC2046  # pkg-config's flags are words
timeout 600 g++ -O1 -o "$work/pool_worker_static" examples/pool_worker.cc \
  $(pkg-config --cflags --libs mproc-worker-static) >"$work/gxx.log" 2>&1 ||
  fail "g++ with pkg-config mproc-worker-static failed"
# The static worker must not load mproc's shared libraries.
if grep -q 'libmproc_' <<<"$(readelf -d "$work/pool_worker_static")"; then
  fail "the static worker loads a shared libmproc"
fi

# 3. Run them against a manager from the prefix, on a unix socket, with a
# key of this test's own.
export HOME=$work/home
mkdir -p "$HOME"
socket=$work/m.sock
address=unix:$socket
"$mproc" manager --listen "$address" >"$work/manager.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  timeout 5 "$mproc" --manager "$address" health --timeout 1 >/dev/null 2>&1 && break
  sleep 0.1
done
timeout 10 "$mproc" --manager "$address" health --timeout 5 >/dev/null || fail "the manager is not serving"

"$work/cmake/pool_worker" --manager "$address" --pool cmake --processes 2 \
  >"$work/worker_cmake.log" 2>&1 &
pids+=($!)
"$work/pool_worker_static" --manager "$address" --pool static --processes 1 \
  >"$work/worker_static.log" 2>&1 &
pids+=($!)
submit() {  # submit POOL TASK ARGS: the result's JSON
  timeout 60 "$mproc" --manager "$address" submit "$2" "$3" --pool "$1" \
    --wait 30 2>>"$work/submit.log"
}
expect "square on the CMake worker" 49 "$(submit cmake square '[7]')"
expect "echo (stock) on the CMake worker" '[1, "a"]' "$(submit cmake echo '[1, "a"]')"
expect "add on the static worker" 5 "$(submit static add '[2, 3]')"
expect "getpid (stock) on the static worker" yes \
  "$(grep -q '^[0-9][0-9]*$' <<<"$(submit static getpid '[]')" && echo yes)"

expect "client example" "jobs done: 1" \
  "$(timeout 60 "$work/cmake/client_example" "$address")"
expect "client example again" "jobs done: 2" \
  "$(timeout 60 "$work/cmake/client_example" "$address")"
expect "the dict the example counts in" 2 \
  "$(timeout 30 "$mproc" --manager "$address" dict get config jobs_done)"

timeout 60 "$work/cmake/process_example" >"$work/process.log" 2>&1 ||
  fail "process_example failed"
grep -q "sum 1..1000" "$work/process.log" || fail "process_example printed no sum"

echo_socket=127.0.0.1:0
"$work/cmake/prefork_echo_server" "$echo_socket" >"$work/echo.log" 2>&1 &
pids+=($!)
# The server says where it listens (its port 0 is a free one).
for _ in $(seq 100); do
  grep -qo 'listening on [0-9.]*:[0-9]*' "$work/echo.log" && break
  sleep 0.1
done
echo_address=$(grep -o 'listening on [0-9.]*:[0-9]*' "$work/echo.log" | head -n 1 | cut -d' ' -f3 || true)
[[ -n $echo_address ]] || fail "prefork_echo_server said no address"
expect "prefork echo" "hello mproc" "$(python3 - "$echo_address" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
with socket.create_connection((host, int(port)), timeout=10) as s:
    s.sendall(b"hello mproc\n")
    data = b""
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
print(data.decode().strip())
PY
)"

# 4. The .deb.
info=$(dpkg-deb --field "$deb" Package Version Architecture Depends)
grep -q "^Version: $version$" <<<"$info" || fail "the .deb's version: $info"
grep -q "libgrpc++1.51" <<<"$info" || fail "the .deb does not depend on gRPC: $info"
contents=$(dpkg-deb --contents "$deb" | awk '{print $NF}')
for f in ./usr/bin/mproc ./usr/include/mproc/client/manager.h \
  ./usr/lib/libmproc_client.so.$soversion ./usr/lib/libmproc_worker.a \
  ./usr/lib/pkgconfig/mproc-client.pc ./usr/lib/cmake/mproc/mprocConfig.cmake \
  ./lib/systemd/system/mproc-manager.service \
  ./lib/systemd/system/mproc-worker@.service \
  ./usr/share/man/man1/mproc.1.gz ./etc/mproc/manager.flags; do
  grep -qxF "$f" <<<"$contents" || fail "the .deb has no $f"
done
control_files=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -q '^./conffiles$' <<<"$control_files" ||
  fail "the .deb marks no conffiles"
mkdir "$work/deb"
dpkg-deb -x "$deb" "$work/deb"
manual=$(man -l "$work/deb/usr/share/man/man1/mproc.1.gz" 2>/dev/null)
grep -q 'mproc submit' <<<"$manual" ||
  fail "the man page does not render or has no submit"
PKG_CONFIG_PATH=$work/deb/usr/lib/pkgconfig
# shellcheck disable=SC2046
timeout 600 g++ -O1 -o "$work/client_deb" examples/client_example.cc \
  $(pkg-config --cflags --libs mproc-client) \
  -Wl,-rpath,"$work/deb/usr/lib" >"$work/gxx_deb.log" 2>&1 ||
  fail "g++ with the .deb's mproc-client.pc failed"
expect "client built from the .deb" "jobs done: 3" \
  "$(timeout 60 "$work/client_deb" "$address")"

echo "check_package: the .deb and the tarball build, link and run ($version)"
cd "$repo"
