// mproc::PreforkServer: the seed's "process-pool concurrent server" as a
// library — N supervised processes accepting on one listening socket, each
// serving its connections either with a ConnectionHandler on a ThreadPool
// of M threads (the seed's design) or with a DataHandler on one event loop
// (the pattern of gunicorn and nginx).
//
//   auto server = mproc::PreforkServer::Listen(options, [](auto& c) {
//     char buf[4096];
//     while (auto n = c.Read(buf, sizeof buf)) {   // echo
//       if (!n.ok() || *n == 0 || !c.Write({buf, *n}).ok()) break;
//     }
//   });
//   return (*server)->Run();   // the arbiter, until SIGTERM
//
// Accepting: with threads, each process blocks in accept(2) on the shared
// socket; with an event loop, each waits in epoll with EPOLLEXCLUSIVE. The
// kernel wakes one process per connection (no thundering herd). A process
// at its connection limit, or well above its least-loaded sibling, stops
// accepting, leaving new clients to the others.
// The listening socket stays open in the arbiter: a process that dies, is
// recycled or reloaded never makes a client's connect fail.
//
// Supervision (process_group.h): a process that dies (SIGKILL, crash) is
// replaced; one that served `recycle_after` connections drains and is
// replaced; SIGTERM/SIGINT stops accepting and lets open connections end
// within `grace` (a second signal kills); SIGHUP starts a new generation,
// which accepts before the old one stops accepting and drains.
//
// A connection that sends nothing (or does not read its answers) for
// `idle_timeout` is closed, so a slow client cannot pin a thread forever.
#ifndef MPROC_WORKER_PROCESS_PREFORK_SERVER_H_
#define MPROC_WORKER_PROCESS_PREFORK_SERVER_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mproc {
namespace process_internal {
struct PreforkShared;
}  // namespace process_internal

struct PreforkOptions {
  // "host:port" (port 0: a free one) or "unix:/path" (created 0600).
  std::string listen = "127.0.0.1:0";
  int processes = 0;  // 0: one per CPU this process may use
  int threads = 4;    // connections a process serves at once (threads)
  // Connections a process holds at once (served or waiting for a thread);
  // at the limit it stops accepting.
  int max_connections = 1024;
  // Connections after which a process is replaced (0: never).
  int64_t recycle_after = 0;
  absl::Duration idle_timeout = absl::Seconds(60);
  absl::Duration grace = absl::Seconds(30);  // for open connections at stop
  int backlog = 1024;
  // Prefix of the arbiter's messages.
  std::string name = "mproc serve";
};

// One client connection, as the handler sees it. Not thread-safe.
class ServerConnection {
 public:
  ServerConnection(int fd, std::string peer, absl::Duration idle_timeout)
      : fd_(fd), peer_(std::move(peer)), idle_timeout_(idle_timeout) {}

  // Up to `max` bytes into `buffer`; 0 once the client closed its side.
  // DEADLINE_EXCEEDED if nothing came within the idle timeout,
  // UNAVAILABLE if the connection failed.
  absl::StatusOr<size_t> Read(char* buffer, size_t max);
  // All of `data`. DEADLINE_EXCEEDED if the client read nothing for the
  // idle timeout, UNAVAILABLE if the connection failed.
  absl::Status Write(absl::string_view data);

  int fd() const { return fd_; }
  const std::string& peer() const { return peer_; }

 private:
  const int fd_;
  const std::string peer_;
  const absl::Duration idle_timeout_;
};

using ConnectionHandler = std::function<void(ServerConnection&)>;

// The other way to serve: each process runs one epoll loop over all its
// connections (no thread per connection, no hand-off per message), and
// calls this with whatever bytes a connection sent, appending what to send
// back to `*reply`; false closes the connection. It runs on the loop, so
// it must not block, and it holds no state per connection (a stateful
// protocol uses a ConnectionHandler). A client that does not read its
// replies is not read from until it does.
using DataHandler =
    std::function<bool(absl::string_view data, std::string* reply)>;

// Echoes every byte back until the client closes.
void EchoHandler(ServerConnection& connection);
bool EchoData(absl::string_view data, std::string* reply);

struct PreforkChildCounters {
  pid_t pid = 0;  // 0: no process in this slot now
  int64_t accepted = 0;
  int64_t active = 0;
};

struct PreforkCounters {
  int64_t accepted = 0;  // by every process, those gone included
  int64_t active = 0;
  std::vector<PreforkChildCounters> children;  // the slots now in use
};

class PreforkServer {
 public:
  // Binds the listening socket and sets up the shared counters; forks
  // nothing yet. INVALID_ARGUMENT or UNAVAILABLE naming the address.
  static absl::StatusOr<std::unique_ptr<PreforkServer>> Listen(
      PreforkOptions options, ConnectionHandler handler);
  // The event-loop model (`threads` is then unused).
  static absl::StatusOr<std::unique_ptr<PreforkServer>> Listen(
      PreforkOptions options, DataHandler handler);
  ~PreforkServer();
  PreforkServer(const PreforkServer&) = delete;
  PreforkServer& operator=(const PreforkServer&) = delete;

  // The address bound, with a port of 0 made concrete.
  const std::string& address() const { return address_; }
  int processes() const { return processes_; }

  // The arbiter: forks the processes and supervises them until stopped;
  // returns the exit code (0 after a graceful stop). Call from a
  // single-threaded process (it forks), once.
  int Run();

  // The live counters, from shared memory: readable in the arbiter, and in
  // any process forked from the one that called Listen (a test, say).
  PreforkCounters Counters() const;

 private:
  static absl::StatusOr<std::unique_ptr<PreforkServer>> Listen(
      PreforkOptions options, ConnectionHandler handler,
      DataHandler data_handler);
  PreforkServer(PreforkOptions options, ConnectionHandler handler,
                DataHandler data_handler, int fd, std::string address,
                process_internal::PreforkShared* shared);
  // One process's life: accept, serve, drain — on a thread pool, or on
  // an event loop (prefork_event_loop.cc).
  int ChildMain(int slot);
  int LoopMain(int slot);

  const PreforkOptions options_;
  const ConnectionHandler handler_;  // one of these two
  const DataHandler data_handler_;
  const int processes_;
  const int listen_fd_;
  const std::string address_;
  // mmap'ed, shared with the processes.
  process_internal::PreforkShared* const shared_;
};

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_PREFORK_SERVER_H_
