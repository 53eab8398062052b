// Rules for where the manager may listen: a unix socket or loopback with
// an authkey (or, explicitly, none); anything other machines can reach
// only over TLS with an authkey or client certificates, or with an authkey
// and an explicit choice of plaintext.
#ifndef MPROC_SERVER_RPC_LISTEN_ADDRESS_H_
#define MPROC_SERVER_RPC_LISTEN_ADDRESS_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mproc {

// True for unix:/path sockets and for a host every one of whose addresses
// is loopback (127.0.0.0/8, ::1). The host is resolved, so a name that
// merely looks local ("127.evil.example") counts by what it resolves to.
// INVALID_ARGUMENT if the host cannot be resolved.
absl::StatusOr<bool> IsLocalOnlyAddress(absl::string_view address);

struct ListenPolicy {
  bool has_authkey = false;
  // --no-auth: allowed on local-only addresses, or with client
  // certificates (mutual TLS).
  bool no_auth = false;
  // --insecure-plaintext: a non-local address without TLS.
  bool insecure_plaintext = false;
  bool tls = false;
  // Mutual TLS: clients are known by their certificates.
  bool client_certificates = false;
};

// INVALID_ARGUMENT for a malformed or unresolvable address;
// FAILED_PRECONDITION, saying what would allow it, for an address other
// machines can reach without an authkey, or in plaintext not chosen
// explicitly.
absl::Status ValidateListenAddress(absl::string_view address,
                                   const ListenPolicy& policy);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_LISTEN_ADDRESS_H_
