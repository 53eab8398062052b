// The manager's plaintext sockets, accepted here rather than by gRPC, so
// that the local wire (wire_server.h) is served on them and each
// connection is admitted before gRPC sees a byte:
// - a unix socket: only processes of the manager's own user get in
//   (SO_PEERCRED), whatever the socket file's mode becomes;
// - TCP (plaintext only: gRPC keeps TLS): every address the host resolves
//   to, each connection with TCP_NODELAY and the kernel's keepalive probes
//   (a vanished machine is cut off as gRPC's pings would cut it).
// Connections that do not speak the wire are handed to gRPC by the wire's
// server.
#ifndef MPROC_SERVER_RPC_LISTENER_H_
#define MPROC_SERVER_RPC_LISTENER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace mproc {

// One accepted, admitted connection: non-blocking, close-on-exec.
struct AcceptedConnection {
  int fd = -1;
  // The peer process (unix sockets; 0 over TCP: not known here).
  pid_t pid = 0;
  // The peer as gRPC names one ("ipv4:127.0.0.1:52114"; "unix:pid 42").
  std::string peer;
  // A TCP peer on a loopback address: its process is on this machine.
  bool loopback_tcp = false;
};

class Listener {
 public:
  // Binds `path`, created with mode 0600 (a stale file, where nobody
  // listens, is replaced), and listens. UNAVAILABLE naming the path if
  // it cannot.
  static absl::StatusOr<std::unique_ptr<Listener>> ListenUnix(
      const std::string& path);

  // Binds every address `address` ("host:port"; port 0 picks one, the same
  // for all) resolves to and listens; no SO_REUSEPORT, so one address has
  // one manager. Accepted connections send keepalive probes after
  // `keepalive` of silence and are cut off when about `keepalive` more
  // goes unanswered. UNAVAILABLE naming the address if none can be bound.
  static absl::StatusOr<std::unique_ptr<Listener>> ListenTcp(
      const std::string& address, absl::Duration keepalive);

  // The TCP port bound (0 for a unix socket).
  int port() const { return port_; }

  // Accepts on a thread of its own from now on, giving each admitted
  // connection to `adopt` and closing the others, with a line on stderr.
  using Adopt = std::function<void(AcceptedConnection connection)>;
  void Start(Adopt adopt);

  // Stops accepting and closes the sockets (a unix socket's file stays).
  ~Listener();

 private:
  // Sets a freshly accepted connection up; false: refuse it (`*why` says
  // why, for the log).
  using Admit = std::function<bool(int fd, AcceptedConnection* connection,
                                   std::string* why)>;
  Listener(std::vector<int> fds, int port, Admit admit, int wake_read,
           int wake_write)
      : fds_(std::move(fds)),
        port_(port),
        admit_(std::move(admit)),
        wake_read_(wake_read),
        wake_write_(wake_write) {}
  static absl::StatusOr<std::unique_ptr<Listener>> Make(std::vector<int> fds,
                                                        int port, Admit admit);
  void AcceptLoop(const Adopt& adopt);

  const std::vector<int> fds_;
  const int port_;
  const Admit admit_;
  const int wake_read_;
  const int wake_write_;
  std::thread thread_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_LISTENER_H_
