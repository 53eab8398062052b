#!/usr/bin/env bash
# Builds the Python package `mproc` and installs it for Debian's Python 3.11:
#   scripts/install_python.sh            # into /usr/local/lib/python3.11/dist-packages
#   scripts/install_python.sh --target DIR   # into DIR (put it on PYTHONPATH)
# The package is self-contained: the native extension (_mproc.so, over the
# C++ client) and the `mproc` binary it starts private managers with are
# copied into it, so `import mproc` needs nothing from this checkout.
# Installs what is missing first (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
python=/usr/bin/python3
target=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --target) target=$2; shift 2 ;;
    *) echo "usage: $0 [--target DIR]" >&2; exit 2 ;;
  esac
done
[[ -n $target ]] || target=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
scripts/setup.sh
bazel build --noshow_progress --curses=no --color=no \
  --disk_cache="${HOME}/.cache/mproc/bazel-disk" //python:_mproc.so //cli:mproc
bin=$(bazel info bazel-bin 2>/dev/null)
package="$target/mproc"
rm -rf "$package"
mkdir -p "$package/bin"
cp python/mproc/*.py "$package/"
install -m 0755 "$bin/python/_mproc.so" "$package/_mproc.so"
install -m 0755 "$bin/cli/mproc" "$package/bin/mproc"
echo "installed mproc for $("$python" --version) in $package"
