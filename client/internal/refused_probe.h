// Tells a manager that is down from one that is merely slow to accept: a
// plain connect(2) to its address, answered at once by the kernel.
#ifndef MPROC_CLIENT_INTERNAL_REFUSED_PROBE_H_
#define MPROC_CLIENT_INTERNAL_REFUSED_PROBE_H_

#include <string>

#include "absl/time/time.h"

namespace mproc {
namespace internal {

// True if nothing listens at `address` ("HOST:PORT", "[v6]:PORT" or
// "unix:/path"): the connection is refused, the socket file is missing, or
// the host does not resolve. False if a listener answered or the probe
// could not tell within `timeout` (a listener whose accept queue is full
// answers nothing: then the caller keeps waiting for gRPC, whose own wait
// has a deadline).
bool ConnectionRefused(const std::string& address,
                       absl::Duration timeout = absl::Seconds(1));

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_REFUSED_PROBE_H_
