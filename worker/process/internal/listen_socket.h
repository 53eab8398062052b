// A listening socket for a server of our own (the pre-fork server): TCP on
// "host:port" (port 0 picks a free one) or a unix socket on "unix:/path".
#ifndef MPROC_WORKER_PROCESS_INTERNAL_LISTEN_SOCKET_H_
#define MPROC_WORKER_PROCESS_INTERNAL_LISTEN_SOCKET_H_

#include <string>

#include "absl/status/statusor.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {
namespace process_internal {

struct ListenSocket {
  UniqueFd fd;          // blocking, close-on-exec
  std::string address;  // as given, with a port of 0 made concrete
};

// INVALID_ARGUMENT for an address that is not "host:port" or "unix:/path";
// UNAVAILABLE if it cannot be bound (in use, not local). A unix socket
// file is created private (0600); a stale one (nobody accepting) is
// replaced, a live one refused.
absl::StatusOr<ListenSocket> Listen(const std::string& address, int backlog);

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_LISTEN_SOCKET_H_
