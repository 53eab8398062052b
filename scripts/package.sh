#!/usr/bin/env bash
# Builds mproc's packages into dist/ (or --out DIR):
#   mproc_VERSION_ARCH.deb              for dpkg -i on Debian 12
#   mproc-VERSION-linux-ARCH.tar.gz     the same files, relocatable: unpack
#                                       anywhere and point CMake or
#                                       pkg-config at it
# Both hold bin/mproc, the public headers (include/mproc/), the client and
# worker libraries static and shared (lib/), pkg-config files
# (lib/pkgconfig/mproc-{client,worker}[-static].pc), the CMake package
# (lib/cmake/mproc/), the systemd units, a man page made from `mproc
# --help`, and example flag files. scripts/check_package.sh tests them.
#
#   scripts/package.sh [--out DIR] [--no-build]
# --no-build packages what the last build left in bazel-bin.
set -euo pipefail
cd "$(dirname "$0")/.."

out=dist
build=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: scripts/package.sh [--out DIR] [--no-build]" >&2; exit 2 ;;
  esac
done

# shellcheck source=scripts/version.sh
source scripts/version.sh
arch=$(dpkg --print-architecture)

if [[ $build -eq 1 ]]; then
  # --stamp: `mproc --version` reports the commit and build time.
  bazel build --noshow_progress --curses=no --color=no \
    --disk_cache="${HOME}/.cache/mproc/bazel-disk" \
    --stamp --workspace_status_command=scripts/workspace_status.sh \
    //cli:mproc //packaging:client //packaging:worker
fi
bin=$(bazel info bazel-bin) || { echo "package: bazel info failed" >&2; exit 1; }
for lib in mproc_client mproc_worker; do
  [[ -f $bin/packaging/lib$lib.so.$soversion ]] || {
    echo "package: no lib$lib.so.$soversion: set soversion in packaging/BUILD" \
      "to $soversion (common/version.h says $version)" >&2
    exit 1
  }
done

# The headers a user's program includes, and every header of ours they
# include in turn. Generated (proto/) headers must stay out of them.
public_headers=(
  common/version.h
  client/batch.h client/health.h client/manager.h client/pool.h
  client/proxies.h
  worker/builtin_tasks.h worker/supervisor.h worker/task_registry.h
  worker/task_runner.h worker/worker_loop.h worker/worker_options.h
  worker/process/pipe.h worker/process/prefork_server.h
  worker/process/process.h worker/process/process_group.h
  worker/process/subprocess.h worker/process/thread_pool.h
)
header_closure() {
  local -A seen=()
  local queue=("$@") h inc
  while [[ ${#queue[@]} -gt 0 ]]; do
    h=${queue[0]}
    queue=("${queue[@]:1}")
    [[ -n ${seen[$h]:-} ]] && continue
    seen[$h]=1
    [[ -f $h ]] || { echo "package: $h is included but missing" >&2; return 1; }
    while read -r inc; do
      case $inc in
        proto/*) echo "package: $h includes generated $inc" >&2; return 1 ;;
        client/* | common/* | worker/*) queue+=("$inc") ;;
      esac
    done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$h")
  done
  printf '%s\n' "${!seen[@]}" | sort
}

# Linker flags (one per line in NAME.linkflags), those grep's ARGS keep,
# joined for pkg-config or quoted for a CMake list. A program linked with
# a shared library needs only Abseil's (the headers use it; the library
# loads the rest itself), a static link all of them.
flags_line() {
  local file=$1
  shift
  { grep "$@" "$file" || true; } | tr '\n' ' ' | sed 's/ *$//'
}
flags_cmake() {
  local file=$1
  shift
  { grep "$@" "$file" || true; } | sed 's/.*/"&"/' | tr '\n' ' ' | sed 's/ *$//'
}

# fill TEMPLATE OUTPUT: the @-names replaced.
fill() {
  local client=$bin/packaging/mproc_client.linkflags
  local worker=$bin/packaging/mproc_worker.linkflags
  sed -e "s|@VERSION@|${version}|g" -e "s|@MAJOR@|${major}|g" \
    -e "s|@MINOR@|${minor}|g" -e "s|@SOVERSION@|${soversion}|g" \
    -e "s|@CLIENT_LIBS@|$(flags_line "$client" -e .)|g" \
    -e "s|@CLIENT_ABSL_LIBS@|$(flags_line "$client" -e '^-labsl_')|g" \
    -e "s|@CLIENT_OTHER_LIBS@|$(flags_line "$client" -v -e '^-labsl_')|g" \
    -e "s|@WORKER_LIBS@|$(flags_line "$worker" -e .)|g" \
    -e "s|@CLIENT_LIBS_CMAKE@|$(flags_cmake "$client" -e .)|g" \
    -e "s|@CLIENT_ABSL_LIBS_CMAKE@|$(flags_cmake "$client" -e '^-labsl_')|g" \
    -e "s|@WORKER_LIBS_CMAKE@|$(flags_cmake "$worker" -e .)|g" \
    "$1" >"$2"
}

# stage ROOT PREFIX SYSTEMD_DIR: the installed tree under ROOT, with the
# files at ROOT/PREFIX ("" for the tarball, /usr for the .deb).
stage() {
  local root=$1 prefix=$2 units=$3 h
  local p=$root$prefix
  install -d "$p/bin" "$p/include/mproc" "$p/lib/pkgconfig" \
    "$p/lib/cmake/mproc" "$p/share/man/man1" "$p/share/doc/mproc/examples" \
    "$root$units"
  install -m 0755 "$bin/cli/mproc" "$p/bin/mproc"
  strip --strip-debug "$p/bin/mproc"
  local headers
  headers=$(header_closure "${public_headers[@]}") || exit 1
  for h in $headers; do
    install -D -m 0644 "$h" "$p/include/mproc/$h"
  done
  for lib in mproc_client mproc_worker; do
    install -m 0644 "$bin/packaging/lib$lib.a" "$p/lib/"
    install -m 0755 "$bin/packaging/lib$lib.so.$soversion" "$p/lib/"
    strip --strip-debug "$p/lib/lib$lib.a" "$p/lib/lib$lib.so.$soversion"
    ln -sf "lib$lib.so.$soversion" "$p/lib/lib$lib.so"
  done
  for pc in packaging/pkgconfig/*.pc.in; do
    fill "$pc" "$p/lib/pkgconfig/$(basename "$pc" .in)"
  done
  for f in packaging/cmake/*.cmake.in; do
    fill "$f" "$p/lib/cmake/mproc/$(basename "$f" .in)"
  done
  install -m 0644 packaging/systemd/*.service "$root$units/"
  install -m 0644 packaging/systemd/*.flags.example \
    "$p/share/doc/mproc/examples/"
  install -m 0644 README.md docs/*.md docs/dashboard.png "$p/share/doc/mproc/"
  scripts/make_manpage.sh "$p/bin/mproc" | gzip -9n >"$p/share/man/man1/mproc.1.gz"
}

mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The tarball: everything under one top directory.
top=mproc-$version-linux-$arch
stage "$work/$top" "" /lib/systemd/system
tar -C "$work" --owner=0 --group=0 --sort=name -czf "$out/$top.tar.gz" "$top"

# The .deb: /usr, units in /lib/systemd/system, flag files in /etc/mproc.
deb=$work/deb
stage "$deb" /usr /lib/systemd/system
install -d "$deb/etc/mproc" "$deb/DEBIAN"
install -m 0644 packaging/systemd/manager.flags.example "$deb/etc/mproc/manager.flags"
install -m 0644 packaging/systemd/worker.flags.example "$deb/etc/mproc/worker.flags"
printf '/etc/mproc/manager.flags\n/etc/mproc/worker.flags\n' >"$deb/DEBIAN/conffiles"
install -m 0755 packaging/debian/postinst packaging/debian/prerm \
  packaging/debian/postrm "$deb/DEBIAN/"
install -m 0644 packaging/debian/triggers "$deb/DEBIAN/"

# Depends: dpkg-shlibdeps's, from the shared libraries the binary and
# libraries load (it wants a source package's debian/control to run in),
# and adduser for postinst.
mkdir -p "$work/shlibs/debian"
printf 'Source: mproc\n\nPackage: mproc\nArchitecture: any\n' \
  >"$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O --ignore-missing-info \
  -l"$deb/usr/lib" "$deb/usr/bin/mproc" "$deb"/usr/lib/libmproc_*.so."$soversion" \
  2>"$work/shlibdeps.log") || {
  cat "$work/shlibdeps.log" >&2
  echo "package: dpkg-shlibdeps failed" >&2
  exit 1
}
depends=$(sed -n 's/^shlibs:Depends=//p' <<<"$shlibs")
[[ -n $depends ]] || { echo "package: no Depends found" >&2; exit 1; }
depends="adduser, $depends"
size=$(du -sk --exclude=DEBIAN "$deb" | cut -f1)
sed -e "s|@DEB_VERSION@|${version}|" -e "s|@ARCH@|${arch}|" \
  -e "s|@DEPENDS@|${depends}|" -e "s|@INSTALLED_SIZE@|${size}|" \
  packaging/debian/control.in >"$deb/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz --build "$deb" "$out/mproc_${version}_${arch}.deb" >/dev/null

echo "package: $out/$top.tar.gz"
echo "package: $out/mproc_${version}_${arch}.deb"
