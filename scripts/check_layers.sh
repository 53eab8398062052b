#!/usr/bin/env bash
# Fails when an #include crosses the layer order (docs/architecture.md):
#   proto/ <- common/ <- {client/, server/, worker/process/} <- worker/ <- cli/
# and python/ (the Python package's extension) on client/, like cli/.
# Nothing includes a layer above it or beside it; a worker is a client, so
# worker/ may use client/. Inside server/, the objects and dispatcher do not
# include server/rpc/ (the gRPC layer sits on them), and gRPC headers appear
# only in client/, server/rpc/, cli/ and common/grpc_status.h.
# Prints each offending line as FILE:LINE: include; exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - "$@" <<'PY'
import os
import re
import sys

# Each component and the components it may include (besides itself).
MAY_USE = {
    "proto": set(),
    "common": {"proto"},
    "client": {"common", "proto"},
    "server": {"common", "proto"},
    "server/rpc": {"server", "common", "proto"},
    "worker/process": {"common", "proto"},
    "worker": {"client", "worker/process", "common", "proto"},
    "cli": {"client", "server", "server/rpc", "worker", "worker/process",
            "common", "proto"},
    "python": {"client", "common", "proto"},
}
# Longest prefix first, so worker/process/ is not taken for worker/.
PREFIXES = sorted(MAY_USE, key=len, reverse=True)
GRPC_ALLOWED = ("client/", "server/rpc/", "cli/", "common/grpc_status.h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')


def component(path):
    for prefix in PREFIXES:
        if path == prefix or path.startswith(prefix + "/"):
            return prefix
    return None


problems = []
for top in MAY_USE:
    if "/" in top:
        continue
    for root, _, files in os.walk(top):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            mine = component(path)
            with open(path, encoding="utf-8") as f:
                for number, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    bracket, target = m.groups()
                    where = f"{path}:{number}: {line.strip()}"
                    is_grpc = target.startswith("grpcpp/") or \
                        target.startswith("grpc/") or target.endswith(".grpc.pb.h")
                    if is_grpc and not path.startswith(GRPC_ALLOWED):
                        problems.append(f"{where}  (gRPC outside the RPC layers)")
                    if bracket == "<":
                        continue
                    theirs = component(target)
                    if theirs is None or theirs == mine:
                        continue
                    if theirs not in MAY_USE[mine]:
                        problems.append(
                            f"{where}  ({mine}/ may not include {theirs}/)")

for p in problems:
    print(p)
if problems:
    print(f"check_layers: {len(problems)} include(s) cross the layer order",
          file=sys.stderr)
    sys.exit(1)
PY
