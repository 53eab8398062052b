#include "server/rpc/listener.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/net_address.h"
#include "server/rpc/rate_limited_log.h"

namespace mproc {
namespace {

void CloseAll(const std::vector<int>& fds) {
  for (int fd : fds) ::close(fd);
}

void SetPort(SocketAddress* address, int port) {
  sockaddr_storage& s = address->storage;
  if (s.ss_family == AF_INET) {
    reinterpret_cast<sockaddr_in*>(&s)->sin_port = htons(port);
  } else if (s.ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(&s)->sin6_port = htons(port);
  }
}

int BoundPort(int fd) {
  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
    return 0;
  }
  return bound.ss_family == AF_INET6
             ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
             : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
}

void SetInt(int fd, int level, int name, int value) {
  setsockopt(fd, level, name, &value, sizeof(value));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::ListenUnix(
    const std::string& path) {
  auto failed = [&](absl::string_view what) {
    return absl::UnavailableError(absl::StrCat("cannot listen on 'unix:", path,
                                               "': ", what, ": ",
                                               std::strerror(errno)));
  };
  // Only a stale socket may be replaced: never another kind of file.
  struct stat existing;
  if (::lstat(path.c_str(), &existing) == 0 && !S_ISSOCK(existing.st_mode)) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on 'unix:", path,
                     "': a file that is not a socket is "
                     "there"));
  }
  // Non-blocking: a connection gone between poll and accept must not
  // block the loop (and with it shutdown).
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return failed("socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ::unlink(path.c_str());  // stale: the caller checked nobody listens
  // The file is born private: no window where others can connect.
  const mode_t old_mask = umask(0177);
  const int bound = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  umask(old_mask);
  if (bound != 0 || listen(fd, SOMAXCONN) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return failed("bind");
  }
  const uid_t me = geteuid();
  Admit admit = [me](int conn, AcceptedConnection* out, std::string* why) {
    ucred peer{};
    socklen_t len = sizeof(peer);
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
      *why = absl::StrCat("unix socket: cannot learn a peer's uid (",
                          std::strerror(errno), "); refused it");
      return false;
    }
    if (peer.uid != me) {
      *why =
          absl::StrCat("refused a unix-socket connection from uid ", peer.uid,
                       " (pid ", peer.pid, "): only uid ", me, " may connect");
      return false;
    }
    out->pid = peer.pid;
    out->peer = absl::StrCat("unix:pid ", peer.pid);
    return true;
  };
  return Make({fd}, 0, std::move(admit));
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::ListenTcp(
    const std::string& address, absl::Duration keepalive) {
  absl::StatusOr<HostPort> where = SplitHostPort(address);
  if (!where.ok()) return where.status();
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveTcp(*where, /*passive=*/true);
  if (!found.ok()) return found.status();
  const bool has_v4 = std::any_of(
      found->begin(), found->end(),
      [](const SocketAddress& a) { return a.storage.ss_family == AF_INET; });
  std::vector<int> fds;
  int port = 0;
  std::string skipped;
  for (SocketAddress& a : *found) {
    if (port != 0) SetPort(&a, port);
    const int fd = socket(a.storage.ss_family,
                          SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
      skipped = std::strerror(errno);
      continue;
    }
    SetInt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    // "[::]" alone also takes IPv4, as gRPC's listener does; next to an
    // IPv4 address of its own ("localhost") each family binds separately.
    if (a.storage.ss_family == AF_INET6) {
      SetInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, has_v4 ? 1 : 0);
    }
    if (bind(fd, a.get(), a.length) != 0 || listen(fd, SOMAXCONN) != 0) {
      const int saved = errno;
      ::close(fd);
      // An address this machine does not have (::1 without IPv6) is
      // skipped; one in use means another server: refused.
      if (saved == EADDRNOTAVAIL || saved == EAFNOSUPPORT) {
        skipped = std::strerror(saved);
        continue;
      }
      CloseAll(fds);
      return absl::UnavailableError(absl::StrCat("cannot listen on '", address,
                                                 "': ", std::strerror(saved)));
    }
    if (port == 0) port = BoundPort(fd);
    fds.push_back(fd);
  }
  if (fds.empty() || port == 0) {
    CloseAll(fds);
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on '", address,
        "': ", skipped.empty() ? std::string("no address to bind") : skipped));
  }
  const int idle_s =
      std::max(1, static_cast<int>(absl::ToInt64Seconds(keepalive)));
  const int timeout_ms =
      std::max(1000, static_cast<int>(absl::ToInt64Milliseconds(keepalive)));
  Admit admit = [idle_s, timeout_ms](int conn, AcceptedConnection* out,
                                     std::string* why) {
    sockaddr_storage peer{};
    socklen_t length = sizeof(peer);
    if (getpeername(conn, reinterpret_cast<sockaddr*>(&peer), &length) != 0) {
      *why = absl::StrCat("tcp: cannot learn a peer's address (",
                          std::strerror(errno), "); refused it");
      return false;
    }
    const sockaddr* from = reinterpret_cast<const sockaddr*>(&peer);
    out->peer = PeerName(from);
    out->loopback_tcp = IsLoopback(from);
    // Small frames go out at once; a silent peer is probed after idle_s
    // and cut off once probes or data go unanswered for timeout_ms.
    SetInt(conn, IPPROTO_TCP, TCP_NODELAY, 1);
    SetInt(conn, SOL_SOCKET, SO_KEEPALIVE, 1);
    SetInt(conn, IPPROTO_TCP, TCP_KEEPIDLE, idle_s);
    SetInt(conn, IPPROTO_TCP, TCP_KEEPINTVL, std::max(1, idle_s / 3));
    SetInt(conn, IPPROTO_TCP, TCP_KEEPCNT, 3);
    SetInt(conn, IPPROTO_TCP, TCP_USER_TIMEOUT, timeout_ms);
    return true;
  };
  return Make(std::move(fds), port, std::move(admit));
}

absl::StatusOr<std::unique_ptr<Listener>> Listener::Make(std::vector<int> fds,
                                                         int port,
                                                         Admit admit) {
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    const std::string why = std::strerror(errno);
    CloseAll(fds);
    return absl::UnavailableError(absl::StrCat("cannot listen: pipe: ", why));
  }
  return std::unique_ptr<Listener>(
      new Listener(std::move(fds), port, std::move(admit), wake[0], wake[1]));
}

void Listener::Start(Adopt adopt) {
  thread_ =
      std::thread([this, adopt = std::move(adopt)] { AcceptLoop(adopt); });
}

void Listener::AcceptLoop(const Adopt& adopt) {
  RateLimitedLog refusals;
  auto log = [&](const std::string& line) {
    refusals.Write("peer_refused", line);
  };
  // Waits on the wake-up pipe only; true if stopping.
  auto pause = [&](int ms) {
    pollfd wake{wake_read_, POLLIN, 0};
    return poll(&wake, 1, ms) > 0;
  };
  std::vector<pollfd> fds;
  for (int fd : fds_) fds.push_back({fd, POLLIN, 0});
  fds.push_back({wake_read_, POLLIN, 0});
  for (;;) {
    for (pollfd& p : fds) p.revents = 0;
    if (poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log(absl::StrCat("listener: poll failed: ", std::strerror(errno)));
      if (pause(100)) return;
      continue;
    }
    if (fds.back().revents != 0) return;  // stopping
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      // Non-blocking, as gRPC's endpoints expect.
      const int conn =
          accept4(fds[i].fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (conn < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
            errno == ECONNABORTED) {
          continue;
        }
        // Out of descriptors or memory: the connection stays queued; wait
        // rather than spin on it.
        log(absl::StrCat("listener: accept failed: ", std::strerror(errno)));
        if (pause(100)) return;
        continue;
      }
      AcceptedConnection connection;
      connection.fd = conn;
      std::string why;
      if (!admit_(conn, &connection, &why)) {
        log(why);
        ::close(conn);
        continue;
      }
      adopt(std::move(connection));
    }
  }
}

Listener::~Listener() {
  if (thread_.joinable()) {
    const char stop = 1;
    (void)!::write(wake_write_, &stop, 1);
    thread_.join();
  }
  ::close(wake_read_);
  ::close(wake_write_);
  CloseAll(fds_);
}

}  // namespace mproc
