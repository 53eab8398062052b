// The client's side of the local wire (common/local_wire.h): a Session
// stream on a unix socket, without gRPC.
#ifndef MPROC_CLIENT_INTERNAL_WIRE_SESSION_STREAM_H_
#define MPROC_CLIENT_INTERNAL_WIRE_SESSION_STREAM_H_

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/internal/session_stream.h"

namespace mproc {
namespace internal {

// The socket path of a unix address ("unix:PATH" or "unix://PATH"), or
// empty for any other address.
std::string UnixSocketPath(absl::string_view address);

struct WireOpenOptions {
  std::string authkey;  // empty: prove nothing
  std::string user;
  // What the call carries (session id, previous instance).
  std::vector<std::pair<std::string, std::string>> metadata;
  // For connecting and the whole handshake.
  absl::Time deadline = absl::InfiniteFuture();
};

// Connects to the manager's socket at `path` (`address` names it in
// messages), proves the key as AuthenticateCall does, and opens a Session
// stream; the manager's initial metadata goes to `*initial`. UNAVAILABLE
// if nothing listens there or the manager does not answer by the
// deadline; UNAUTHENTICATED as AuthenticateCall; the manager's own status
// if it refuses the stream.
absl::StatusOr<std::unique_ptr<SessionStream>> OpenWireStream(
    const std::string& path, const std::string& address,
    const WireOpenOptions& options,
    std::map<std::string, std::string>* initial);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_WIRE_SESSION_STREAM_H_
