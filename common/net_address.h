// TCP addresses as the manager and its clients spell them ("host:port",
// "[v6]:port", gRPC's "dns:", "ipv4:" and "ipv6:" prefixes), resolved with
// getaddrinfo. One home for the parsing, so the manager's listen policy,
// its own TCP listener and the clients' local wire agree on what an
// address means.
#ifndef MPROC_COMMON_NET_ADDRESS_H_
#define MPROC_COMMON_NET_ADDRESS_H_

#include <sys/socket.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mproc {

struct HostPort {
  std::string host;  // without brackets; empty: every interface
  std::string port;
};

// Splits a TCP address. INVALID_ARGUMENT naming it if it has no port.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address);

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const {
    return reinterpret_cast<const sockaddr*>(&storage);
  }
};

// Every address `host` resolves to (with `port`), in getaddrinfo's order,
// without duplicates. `passive`: for bind (an empty host means every
// interface). INVALID_ARGUMENT naming the host if it cannot be resolved.
absl::StatusOr<std::vector<SocketAddress>> ResolveTcp(const HostPort& where,
                                                      bool passive);

// 127.0.0.0/8, ::1 and IPv4-mapped 127/8.
bool IsLoopback(const sockaddr* address);

// gRPC's spelling of a peer: "ipv4:127.0.0.1:52114", "ipv6:[::1]:52114".
std::string PeerName(const sockaddr* address);

}  // namespace mproc

#endif  // MPROC_COMMON_NET_ADDRESS_H_
