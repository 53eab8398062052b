// The manager's unix socket, accepted here rather than by gRPC, so that
// each connection's peer is checked (SO_PEERCRED) before gRPC sees a byte:
// only processes of the manager's own user get in, whatever the socket
// file's mode becomes. Accepted connections are handed to the local wire's
// server (wire_server.h), which serves those that speak
// the wire and gives the others to gRPC (a unix socket needs no TLS).
#ifndef MPROC_SERVER_RPC_UNIX_LISTENER_H_
#define MPROC_SERVER_RPC_UNIX_LISTENER_H_

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace mproc {

class UnixListener {
 public:
  // Binds `path`, created with mode 0600 (a stale file, where nobody
  // listens, is replaced), and listens. UNAVAILABLE naming the path if
  // it cannot.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Listen(
      const std::string& path);

  // Accepts on a thread of its own from now on, giving each connection of
  // this process's user to `adopt` (with the peer's pid) and closing the
  // others, with a line on stderr.
  using Adopt = std::function<void(int fd, pid_t pid)>;
  void Start(Adopt adopt);

  // Stops accepting and closes the socket (the file stays).
  ~UnixListener();

 private:
  UnixListener(int fd, int wake_read, int wake_write)
      : fd_(fd), wake_read_(wake_read), wake_write_(wake_write) {}
  void AcceptLoop(const Adopt& adopt);

  const int fd_;
  const int wake_read_;
  const int wake_write_;
  std::thread thread_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_UNIX_LISTENER_H_
