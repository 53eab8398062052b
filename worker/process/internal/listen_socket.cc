#include "worker/process/internal/listen_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/net_address.h"

namespace mproc {
namespace process_internal {
namespace {

absl::StatusOr<ListenSocket> ListenUnix(const std::string& address,
                                        int backlog) {
  const std::string path = address.substr(5);
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unix socket path of '", address, "' is empty or too long"));
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoStatus(errno, "socket");
  struct stat existing {};
  if (lstat(path.c_str(), &existing) == 0) {
    // Something accepting there already: refuse; a stale socket (nobody
    // accepting): replace; anything else is not ours to remove.
    if (!S_ISSOCK(existing.st_mode)) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", address,
                       "': the path exists and is not a socket"));
    }
    UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (connect(probe.get(), reinterpret_cast<sockaddr*>(&addr),
                sizeof(addr)) == 0 ||
        errno != ECONNREFUSED) {
      return absl::UnavailableError(
          absl::StrCat("cannot listen on '", address,
                       "': another process is accepting connections there"));
    }
    unlink(path.c_str());
  }
  const mode_t old_mask = umask(0177);  // born private
  const int bound =
      bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  umask(old_mask);
  if (bound != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on '", address, "': ", std::strerror(bind_errno)));
  }
  if (listen(fd.get(), backlog) != 0) return ErrnoStatus(errno, "listen");
  return ListenSocket{std::move(fd), address};
}

}  // namespace

absl::StatusOr<ListenSocket> Listen(const std::string& address, int backlog) {
  if (absl::StartsWith(address, "unix:")) return ListenUnix(address, backlog);
  absl::StatusOr<HostPort> where = SplitHostPort(address);
  if (!where.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address, "' is not host:port or unix:/path"));
  }
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveTcp(*where, /*passive=*/true);
  if (!found.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address '", address, "': ", found.status().message()));
  }
  std::string last_error = "no address";
  for (const SocketAddress& a : *found) {
    UniqueFd fd(socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd.valid()) continue;
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd.get(), a.get(), a.length) != 0 ||
        listen(fd.get(), backlog) != 0) {
      last_error = std::strerror(errno);
      continue;
    }
    sockaddr_storage bound{};
    socklen_t length = sizeof(bound);
    getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length);
    const int actual =
        bound.ss_family == AF_INET6
            ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
            : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    return ListenSocket{
        std::move(fd),
        absl::StrCat(address.substr(0, address.rfind(':')), ":", actual)};
  }
  return absl::UnavailableError(
      absl::StrCat("cannot listen on '", address, "': ", last_error));
}

}  // namespace process_internal
}  // namespace mproc
