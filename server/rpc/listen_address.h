// Rules for where the manager may listen.
#ifndef MPROC_SERVER_RPC_LISTEN_ADDRESS_H_
#define MPROC_SERVER_RPC_LISTEN_ADDRESS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace mproc {

// True for unix:/path sockets and for 127.0.0.0/8, ::1 and localhost.
bool IsLocalOnlyAddress(absl::string_view address);

// INVALID_ARGUMENT for a malformed address; FAILED_PRECONDITION for an
// address reachable from other machines when there is no authkey.
absl::Status ValidateListenAddress(absl::string_view address, bool has_authkey);

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_LISTEN_ADDRESS_H_
