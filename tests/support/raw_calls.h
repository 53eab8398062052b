// Raw gRPC calls to a test's manager, as another language's client would
// make them: a stub, and the authkey proof a call must carry.
#ifndef MPROC_TESTS_SUPPORT_RAW_CALLS_H_
#define MPROC_TESTS_SUPPORT_RAW_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "client/internal/auth_handshake.h"
#include "client/manager.h"
#include "proto/mproc.grpc.pb.h"

namespace mproc {
namespace testing {

inline std::unique_ptr<pb::Manager::Stub> RawStub(const std::string& address) {
  return pb::Manager::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

// Adds to `context` the proof of `key` (default: the one a client would
// use, LoadAuthkey("")) for one call to the manager at `address`.
inline absl::Status AuthenticateRawCall(pb::Manager::Stub* stub,
                                        const std::string& address,
                                        grpc::ClientContext* context,
                                        std::string key = "") {
  if (key.empty()) {
    absl::StatusOr<std::string> loaded = LoadAuthkey("");
    if (!loaded.ok()) return loaded.status();
    key = *loaded;
  }
  return internal::AuthenticateCall(stub, address, key, /*user=*/"",
                                    absl::Now() + absl::Seconds(10), context);
}

}  // namespace testing
}  // namespace mproc

#endif  // MPROC_TESTS_SUPPORT_RAW_CALLS_H_
