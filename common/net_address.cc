#include "common/net_address.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace mproc {

absl::StatusOr<HostPort> SplitHostPort(absl::string_view address) {
  const absl::string_view original = address;
  for (absl::string_view scheme : {"dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&address, scheme)) break;
  }
  // gRPC's "dns:///host:port" and "dns://authority/host:port".
  if (absl::ConsumePrefix(&address, "//")) {
    const size_t slash = address.find('/');
    if (slash != absl::string_view::npos) address.remove_prefix(slash + 1);
  }
  HostPort out;
  size_t port_at;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos || close + 1 >= address.size() ||
        address[close + 1] != ':') {
      return absl::InvalidArgumentError(absl::StrCat(
          "address '", original, "' must be HOST:PORT or [IPV6]:PORT"));
    }
    out.host = std::string(address.substr(1, close - 1));
    port_at = close + 2;
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("address '", original, "' must be HOST:PORT"));
    }
    out.host = std::string(address.substr(0, colon));
    port_at = colon + 1;
  }
  out.port = std::string(address.substr(port_at));
  uint32_t port;
  if (!absl::SimpleAtoi(out.port, &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address '", original, "' must end in a port number (0-65535)"));
  }
  return out;
}

absl::StatusOr<std::vector<SocketAddress>> ResolveTcp(const HostPort& where,
                                                      bool passive) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const int failed =
      getaddrinfo(where.host.empty() ? nullptr : where.host.c_str(),
                  where.port.c_str(), &hints, &found);
  if (failed != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot resolve the host '", where.host, "': ", gai_strerror(failed)));
  }
  std::vector<SocketAddress> out;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_addrlen > sizeof(sockaddr_storage)) continue;
    SocketAddress address;
    std::memcpy(&address.storage, a->ai_addr, a->ai_addrlen);
    address.length = a->ai_addrlen;
    bool seen = false;
    for (const SocketAddress& s : out) {
      seen = seen || (s.length == address.length &&
                      std::memcmp(&s.storage, &address.storage, s.length) == 0);
    }
    if (!seen) out.push_back(address);
  }
  freeaddrinfo(found);
  if (out.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the host '", where.host, "' has no TCP address"));
  }
  return out;
}

bool IsLoopback(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->sa_family == AF_INET6) {
    const in6_addr& a =
        reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

std::string PeerName(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = "?";
  if (address->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(address);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
    return absl::StrCat("ipv4:", text, ":", ntohs(in->sin_port));
  }
  if (address->sa_family == AF_INET6) {
    const auto* in = reinterpret_cast<const sockaddr_in6*>(address);
    inet_ntop(AF_INET6, &in->sin6_addr, text, sizeof(text));
    return absl::StrCat("ipv6:[", text, "]:", ntohs(in->sin6_port));
  }
  return "unknown";
}

}  // namespace mproc
