// The client's side of the wire (common/local_wire.h): a Session stream on
// the manager's socket — a unix socket, or TCP, in plaintext or TLS —
// without gRPC. Over TCP the client tells its pid, which a manager on the
// same machine believes when it shares the client's boot and pid
// namespace (it then watches the process), and pings when idle if the
// manager asks (it cannot watch this process: another machine, another
// pid namespace).
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
#include "client/internal/tls_material.h"
#include "common/net_address.h"

namespace mproc {
namespace internal {

// What a failed handshake's message adds: how each kind of manager is
// reached.
inline constexpr char kTlsSetupHint[] =
    "a TLS manager needs --tls-ca, with a client certificate for mutual TLS; "
    "a plaintext one none; a certificate must name the host";

// Where the wire reaches a manager.
struct WireTarget {
  std::string unix_path;           // "unix:PATH" or "unix://PATH"
  std::vector<SocketAddress> tcp;  // or these, tried in order
  bool empty() const { return unix_path.empty() && tcp.empty(); }
};

// The wire's target for `address`: its socket for a unix address, the
// addresses its host resolves to for a TCP one; empty if it resolves to
// nothing (gRPC then says why it cannot connect).
WireTarget ResolveWireTarget(absl::string_view address);

struct WireOpenOptions {
  std::string authkey;  // empty: prove nothing
  std::string user;
  // What the call carries (session id, previous instance).
  std::vector<std::pair<std::string, std::string>> metadata;
  // With a CA: TLS (common/tls_channel.h), the manager's certificate
  // checked for `tls.server_name`, else for the address's host.
  TlsMaterial tls;
  // For connecting and the whole handshake.
  absl::Time deadline = absl::InfiniteFuture();
};

// Connects to the manager at `target` (`address` names it in messages;
// over TCP the call also carries this process's pid and
// WireHostIdentity()), proves the key as AuthenticateCall does, and opens a
// Session stream; the manager's initial metadata goes to `*initial`.
// UNAVAILABLE if nothing listens there or the manager does not answer by the
// deadline or its TLS handshake fails (the reason named);
// UNAUTHENTICATED as AuthenticateCall; the manager's own status if it
// refuses the stream. A manager that must be reached over gRPC instead —
// one that closes the connection during the handshake without a word (an
// mproc older than the wire), or one over TCP that neither watches this
// process nor asks for pings (older than pings, so nothing would notice
// this process stop) — gives an UNAVAILABLE that UseGrpcInstead tells.
absl::StatusOr<std::unique_ptr<SessionStream>> OpenWireStream(
    const WireTarget& target, const std::string& address,
    const WireOpenOptions& options,
    std::map<std::string, std::string>* initial);

// Whether OpenWireStream's `status` says to reach this manager over gRPC.
bool UseGrpcInstead(const absl::Status& status);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_WIRE_SESSION_STREAM_H_
