#include "client/internal/refused_probe.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace mproc {
namespace internal {
namespace {

// connect(2) on a fresh socket: the errno, or 0 on success.
int TryConnect(int family, const sockaddr* addr, socklen_t len) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;  // cannot tell
  int err = connect(fd, addr, len) == 0 ? 0 : errno;
  close(fd);
  return err;
}

}  // namespace

bool ConnectionRefused(const std::string& address) {
  if (address.rfind("unix:", 0) == 0) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    const std::string path = address.substr(5);
    if (path.size() >= sizeof(addr.sun_path)) return false;
    std::memcpy(addr.sun_path, path.data(), path.size());
    int err =
        TryConnect(AF_UNIX, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
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
    if (TryConnect(a->ai_family, a->ai_addr, a->ai_addrlen) != ECONNREFUSED) {
      refused = false;  // a listener (or an answer we cannot read)
      break;
    }
  }
  freeaddrinfo(found);
  return refused;
}

}  // namespace internal
}  // namespace mproc
