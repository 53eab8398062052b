#include "server/rpc/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

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

bool IsLoopback(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(addr);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (addr->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

}  // namespace

absl::StatusOr<bool> IsLocalOnlyAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:")) return true;
  const std::string host(HostOf(address));
  // gRPC binds every interface for an empty host.
  if (host.empty()) return false;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int failed = getaddrinfo(host.c_str(), nullptr, &hints, &found);
  if (failed != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve the listen host '", host, "': ", gai_strerror(failed)));
  }
  bool all_loopback = found != nullptr;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    all_loopback = all_loopback && IsLoopback(a->ai_addr);
  }
  freeaddrinfo(found);
  return all_loopback;
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
