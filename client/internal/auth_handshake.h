// The client's side of the authkey handshake (common/auth_proof.h): one
// Hello, whose answer must prove the manager holds the key before the call
// that follows carries the client's own proof. Over gRPC the Hello is an
// RPC and the proof rides in the call's metadata (AuthenticateCall); the
// local wire sends the same messages itself (NewHello, ProveToManager).
#ifndef MPROC_CLIENT_INTERNAL_AUTH_HANDSHAKE_H_
#define MPROC_CLIENT_INTERNAL_AUTH_HANDSHAKE_H_

#include <grpcpp/client_context.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "proto/mproc.grpc.pb.h"

namespace mproc {
namespace internal {

// With an empty `key`, nothing to prove: OK at once, no round trip (a
// manager that needs a key refuses the call itself). Otherwise asks the
// manager at `address` (for messages) for a challenge by `deadline` and,
// if its answer proves the key, adds the client's proof to `context`, good
// for that one call. `user` names the key to a manager with an ACL (empty:
// the manager's lone key). UNAUTHENTICATED if the manager does not prove
// the key
// — the keys differ, the manager runs without authentication, or it is not
// the manager meant (the client then sends nothing more); UNAVAILABLE if
// it does not answer in time.
absl::Status AuthenticateCall(pb::Manager::Stub* stub,
                              const std::string& address,
                              const std::string& key, const std::string& user,
                              absl::Time deadline,
                              grpc::ClientContext* context);

// A Hello with a fresh client nonce.
pb::HelloRequest NewHello(const std::string& user);

// Checks that `answer` to `hello` proves the manager at `address` holds
// `key` (non-empty); if it does, appends the metadata the call must carry
// (the client's proof, and the user if any). UNAUTHENTICATED, as above,
// otherwise.
absl::Status ProveToManager(
    const std::string& address, const std::string& key, const std::string& user,
    const pb::HelloRequest& hello, const pb::HelloResponse& answer,
    std::vector<std::pair<std::string, std::string>>* metadata);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_AUTH_HANDSHAKE_H_
