#!/usr/bin/env bash
# ThreadSanitizer needs to see every lock and every atomic. Debian's libabsl
# is built without TSan, so an absl::Mutex (or a Status's reference count)
# is invisible to it and every access it guards looks like a race. This
# builds absl from Debian's own source package of the installed version,
# with -fsanitize=thread, as shared libraries with Debian's sonames, into
# $MPROC_TSAN_ABSL (default /opt/mproc/absl-tsan/lib). `--config=tsan`
# tests put that directory first on LD_LIBRARY_PATH, so the instrumented
# copy replaces the system one in every process of the test (gRPC's too).
# Idempotent: does nothing when the libraries for this version exist.
set -euo pipefail
dest=${MPROC_TSAN_ABSL:-/opt/mproc/absl-tsan/lib}
version=$(dpkg-query -W -f='${Version}' libabsl20220623)
stamp="$dest/.built-all-$version"
[[ -f "$stamp" ]] && exit 0

echo "build_tsan_absl: building absl $version with -fsanitize=thread" >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial"
cat >"$work/apt/src.sources" <<SOURCES
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/apt"
          -o "Dir::State::Lists=$work/apt/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq >/dev/null
(cd "$work" && apt-get "${apt_opts[@]}" source -qq "abseil=$version" >/dev/null)
src=$(find "$work" -maxdepth 1 -type d -name 'abseil-*' | head -1)

cmake -S "$src" -B "$work/build" -G "Unix Makefiles" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_SHARED_LIBS=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread" \
  -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
cmake --build "$work/build" -j"$(nproc)" >/dev/null

mkdir -p "$dest"
find "$work/build" -name 'libabsl_*.so.*' -exec cp -P {} "$dest"/ \;
# Only the libraries whose sonames match the system's are useful.
for lib in "$dest"/libabsl_*.so.*; do
  soname=$(objdump -p "$lib" | awk '/SONAME/ {print $2}')
  [[ -e "/usr/lib/x86_64-linux-gnu/$soname" ]] || {
    echo "build_tsan_absl: $soname is not Debian's soname" >&2
    exit 1
  }
done
touch "$stamp"
