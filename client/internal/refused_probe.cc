#include "client/internal/refused_probe.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace mproc {
namespace internal {
namespace {

// connect(2) on a fresh non-blocking socket, waiting at most `timeout`
// for the answer: the errno, or 0 on success or when the wait ran out
// (cannot tell).
int TryConnect(int family, const sockaddr* addr, socklen_t len,
               absl::Duration timeout) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return 0;  // cannot tell
  int err = connect(fd, addr, len) == 0 ? 0 : errno;
  if (err == EINPROGRESS || err == EAGAIN) {
    pollfd p{fd, POLLOUT, 0};
    const int ms = static_cast<int>(
        std::max<int64_t>(0, absl::ToInt64Milliseconds(timeout)));
    err = 0;
    if (poll(&p, 1, ms) == 1) {
      socklen_t size = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &size) != 0) err = 0;
    }
  }
  close(fd);
  return err;
}

}  // namespace

bool ConnectionRefused(const std::string& address, absl::Duration timeout) {
  if (address.rfind("unix:", 0) == 0) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = address.substr(5);
    if (path.size() >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    int err = TryConnect(AF_UNIX, reinterpret_cast<sockaddr*>(&addr),
                         sizeof(addr), timeout);
    return err == ECONNREFUSED || err == ENOENT;
  }
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  const std::string port = address.substr(colon + 1);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return true;  // nothing to connect to
  }
  bool refused = true;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (TryConnect(a->ai_family, a->ai_addr, a->ai_addrlen, timeout) !=
        ECONNREFUSED) {
      refused = false;  // a listener (or an answer we cannot read)
      break;
    }
  }
  freeaddrinfo(found);
  return refused;
}

}  // namespace internal
}  // namespace mproc
