#!/usr/bin/env bash
# Writes mproc(1) in roff to stdout, made from the binary's own help: the
# top-level `mproc --help`, then each command's `mproc CMD --help`, so the
# page says what the binary does. Its date is the last commit's; non-ASCII
# text (dashes, arrows) goes through preconv. scripts/package.sh installs
# it.
#   scripts/make_manpage.sh BIN > mproc.1
set -euo pipefail
bin=$1
version=$("$bin" --version | sed -n '1s/^mproc //p')
date=$(git -C "$(dirname "$0")" log -1 --format=%cs 2>/dev/null || date -u +%F)
commands=$("$bin" --help | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | awk '!seen[$0]++')
[[ -n $commands ]] || { echo "make_manpage: no commands in $bin --help" >&2; exit 1; }

# Text as roff: backslashes escaped, a leading . or ' kept literal.
roff() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/" -e 's/-/\\-/g'; }

{
cat <<HEAD
.TH MPROC 1 "$date" "mproc $version" "User Commands"
.SH NAME
mproc \\- Python's multiprocessing as a networked service: manager, workers and client
.SH SYNOPSIS
.B mproc
[\\fIFLAGS\\fR] \\fICOMMAND\\fR ...
.SH DESCRIPTION
The \\fBmproc\\fR command runs the manager daemon, a local sidecar
(\\fBmproc up\\fR), worker daemons and a pre-forked server, and is a client for
the manager's shared objects and task pools.
.PP
.nf
HEAD
"$bin" --help | roff
echo ".fi"
echo ".SH COMMANDS"
# Each command the top-level help names that has help of its own.
for cmd in $commands; do
  text=$(timeout 10 "$bin" "$cmd" --help 2>/dev/null) || continue
  [[ $text == usage:* ]] || continue
  printf '.SS %s\n.nf\n' "$cmd"
  roff <<<"$text"
  echo ".fi"
done
cat <<'TAIL'
.SH FILES
.TP
.I ~/.config/mproc/authkey
this user's default authkey (mode 0600), made on first use
.TP
.I /etc/mproc/manager.flags, /etc/mproc/worker.flags
the flags of the systemd units mproc-manager.service and mproc-worker@.service
.SH SEE ALSO
The README and the docs (architecture, guarantees, security, performance,
Python) in /usr/share/doc/mproc.
TAIL
} | preconv -e utf-8
