#include "common/client_grpc_env.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace mproc {
namespace {

struct Setting {
  const char* name;
  const char* value;
};

constexpr Setting kClientSettings[] = {
    // gRPC's fork handlers act only when enabled before it initializes.
    {"GRPC_ENABLE_FORK_SUPPORT", "1"},
    // With epoll1 a forked child can miss wake-ups for its new socket (its
    // read stalls until the next keepalive ping); poll() has no shared
    // epoll set to inherit.
    {"GRPC_POLL_STRATEGY", "poll"},
    // While no call reads the stream (a worker running a long task, a
    // client idle between calls) only gRPC's backup poller answers the
    // manager's keepalive pings; at its default 5 s a silent process
    // misses them and is dropped as dead after about a session lease.
    {"GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "200"},
};

}  // namespace

void SetClientGrpcEnv() {
  std::vector<std::string> set;
  if (const char* marker = std::getenv(kClientGrpcEnvMarker)) {
    set = absl::StrSplit(marker, ',', absl::SkipEmpty());  // inherited
  }
  bool changed = false;
  for (const Setting& setting : kClientSettings) {
    if (std::getenv(setting.name) != nullptr) continue;  // the user's own
    setenv(setting.name, setting.value, /*overwrite=*/0);
    changed = true;
    // Named already when an inherited marker outlived the variable.
    if (std::find(set.begin(), set.end(), setting.name) == set.end()) {
      set.push_back(setting.name);
    }
  }
  if (changed) {
    setenv(kClientGrpcEnvMarker, absl::StrJoin(set, ",").c_str(), 1);
  }
}

void DropClientGrpcEnv() {
  const char* marker = std::getenv(kClientGrpcEnvMarker);
  if (marker == nullptr) return;
  const std::vector<std::string> names =
      absl::StrSplit(marker, ',', absl::SkipEmpty());
  for (const Setting& setting : kClientSettings) {
    // Only ours, and only as we set it: a value changed since is the user's.
    const char* value = std::getenv(setting.name);
    if (value != nullptr && std::string(value) == setting.value &&
        std::find(names.begin(), names.end(), setting.name) != names.end()) {
      unsetenv(setting.name);
    }
  }
  unsetenv(kClientGrpcEnvMarker);
}

}  // namespace mproc
