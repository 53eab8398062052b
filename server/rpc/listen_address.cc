#include "server/rpc/listen_address.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/net_address.h"

namespace mproc {

absl::StatusOr<bool> IsLocalOnlyAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) return true;
  absl::StatusOr<HostPort> where = SplitHostPort(address);
  if (!where.ok()) return where.status();
  // gRPC binds every interface for an empty host.
  if (where->host.empty()) return false;
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveTcp(*where, /*passive=*/false);
  if (!found.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the listen address: ", found.status().message()));
  }
  for (const SocketAddress& a : *found) {
    if (!IsLoopback(a.get())) return false;
  }
  return true;
}

absl::Status ValidateListenAddress(absl::string_view address,
                                   const ListenPolicy& policy) {
  if (address.empty()) {
    return absl::InvalidArgumentError("listen address must not be empty");
  }
  if (absl::StartsWith(address, "unix:")) {
    if (address.size() == 5) {
      return absl::InvalidArgumentError("unix: address needs a path");
    }
    constexpr size_t kMaxSocketPath = 107;  // sizeof(sun_path) - 1
    if (address.size() - 5 > kMaxSocketPath) {
      return absl::InvalidArgumentError(
          absl::StrCat("unix socket path is ", address.size() - 5,
                       " bytes; the system limit is ", kMaxSocketPath));
    }
    return absl::OkStatus();
  }
  size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address, "' must be HOST:PORT or unix:/path"));
  }
  absl::StatusOr<bool> local = IsLocalOnlyAddress(address);
  if (!local.ok()) return local.status();
  if (*local) return absl::OkStatus();
  const bool authenticated =
      (policy.has_authkey && !policy.no_auth) || policy.client_certificates;
  if (!authenticated) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on '", address,
        "' without an authkey: other machines could reach it. Drop "
        "--no-auth (the default key is made for you), require client "
        "certificates (--tls-client-ca), or listen on 127.0.0.1 or a unix "
        "socket"));
  }
  if (!policy.tls && !policy.insecure_plaintext) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on '", address,
        "' in plaintext: other machines could read and change the traffic "
        "(the key itself is never sent). Give --tls-cert and --tls-key, or "
        "--insecure-plaintext to accept that, or listen on 127.0.0.1 or a "
        "unix socket"));
  }
  return absl::OkStatus();
}

}  // namespace mproc
