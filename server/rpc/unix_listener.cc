#include "server/rpc/unix_listener.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "server/rpc/rate_limited_log.h"

namespace mproc {

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Listen(
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
  int wake[2];
  if (pipe2(wake, O_CLOEXEC) != 0) {
    ::close(fd);
    return failed("pipe");
  }
  return std::unique_ptr<UnixListener>(new UnixListener(fd, wake[0], wake[1]));
}

void UnixListener::Start(Adopt adopt) {
  thread_ =
      std::thread([this, adopt = std::move(adopt)] { AcceptLoop(adopt); });
}

void UnixListener::AcceptLoop(const Adopt& adopt) {
  const uid_t me = geteuid();
  RateLimitedLog refusals;
  auto log = [&](const std::string& line) {
    refusals.Write("peer_refused", line);
  };
  // Waits on the wake-up pipe only; true if stopping.
  auto pause = [&](int ms) {
    pollfd wake{wake_read_, POLLIN, 0};
    return poll(&wake, 1, ms) > 0;
  };
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log(absl::StrCat("unix socket: poll failed: ", std::strerror(errno)));
      if (pause(100)) return;
      continue;
    }
    if (fds[1].revents != 0) return;  // stopping
    // Non-blocking, as gRPC's endpoints expect.
    const int conn =
        accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
          errno == ECONNABORTED) {
        continue;
      }
      // Out of descriptors or memory: the connection stays queued; wait
      // rather than spin on it.
      log(absl::StrCat("unix socket: accept failed: ", std::strerror(errno)));
      if (pause(100)) return;
      continue;
    }
    ucred peer{};
    socklen_t len = sizeof(peer);
    if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
      log(absl::StrCat("unix socket: cannot learn a peer's uid (",
                       std::strerror(errno), "); refused it"));
      ::close(conn);
      continue;
    }
    if (peer.uid != me) {
      log(absl::StrCat("refused a unix-socket connection from uid ", peer.uid,
                       " (pid ", peer.pid, "): only uid ", me, " may connect"));
      ::close(conn);
      continue;
    }
    adopt(conn, peer.pid);
  }
}

UnixListener::~UnixListener() {
  if (thread_.joinable()) {
    const char stop = 1;
    (void)!::write(wake_write_, &stop, 1);
    thread_.join();
  }
  ::close(wake_read_);
  ::close(wake_write_);
  ::close(fd_);
}

}  // namespace mproc
