// A standard gRPC health check (grpc.health.v1) of a manager: what
// load balancers, container probes and `mproc health` ask. It needs no
// authkey; over TLS the options' TLS fields (or $MPROC_TLS_*) apply.
#ifndef MPROC_CLIENT_HEALTH_H_
#define MPROC_CLIENT_HEALTH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/manager.h"

namespace mproc {

// "SERVING" or "NOT_SERVING" (the manager is stopping) for `service`
// ("": the manager as a whole; "mproc.pb.Manager": its service), asked of
// the manager at `address` within `timeout`. UNAVAILABLE when nothing
// answers in time (a TLS mismatch included: the channel keeps trying);
// NOT_FOUND for a service it does not serve; the errors of the TLS files.
absl::StatusOr<std::string> CheckHealth(const std::string& address,
                                        const ConnectOptions& options,
                                        const std::string& service,
                                        absl::Duration timeout);

}  // namespace mproc

#endif  // MPROC_CLIENT_HEALTH_H_
