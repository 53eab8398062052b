#include "server/rpc/listen_address.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

// The host part of "host:port", "[v6]:port" or "dns:host:port".
absl::string_view HostOf(absl::string_view address) {
  if (absl::StartsWith(address, "dns:")) address.remove_prefix(4);
  if (absl::StartsWith(address, "ipv4:")) address.remove_prefix(5);
  if (absl::StartsWith(address, "ipv6:")) address.remove_prefix(5);
  if (absl::StartsWith(address, "[")) {
    size_t close = address.find(']');
    return close == absl::string_view::npos ? address
                                            : address.substr(1, close - 1);
  }
  size_t colon = address.rfind(':');
  return colon == absl::string_view::npos ? address : address.substr(0, colon);
}

}  // namespace

bool IsLocalOnlyAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) return true;
  absl::string_view host = HostOf(address);
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

absl::Status ValidateListenAddress(absl::string_view address,
                                   bool has_authkey) {
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
  if (!has_authkey && !IsLocalOnlyAddress(address)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on '", address,
        "' without an authkey: other machines could reach it. Give "
        "--authkey-file or MPROC_AUTHKEY, or listen on 127.0.0.1"));
  }
  return absl::OkStatus();
}

}  // namespace mproc
