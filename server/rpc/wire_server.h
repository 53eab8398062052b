// The manager's side of the local wire (common/local_wire.h): Session
// streams over its sockets without HTTP/2.
//
// The listener hands every connection it admitted to Adopt. The first
// bytes decide: the wire's magic, and the connection is served here; any
// other (gRPC's HTTP/2 preface; on a TLS manager a TLS ClientHello), and
// it goes to gRPC untouched. A TLS manager's wire connections send
// kTlsWireMagic and then TLS (common/tls_channel.h) carries the wire. A wire
// stream runs the same SessionCall as a gRPC one (session_call.cc) through
// a SessionTransport, so it keeps every promise of a Session stream
// (give-backs, backpressure, fairness, fsync "always" answers, leases).
//
// One thread of its own ("mproc-wire") polls the wire's sockets: it reads a
// frame, executes it, and writes the answer with one write(2) — the
// manager's single round trip, without gRPC's hand-offs and extra reads.
// Like the RPC threads (rpc_threads.h), it keeps polling for `poll_spin`
// after each event before it sleeps. Answers that come from other threads
// (parked calls, the fsync thread) are written by those threads.
//
// Liveness: gRPC's manager pings idle clients (HTTP/2 keepalive) and cuts
// one that does not answer within the timeout, so the session of a client
// that froze waits its lease and then lets go of its locks. A wire peer
// whose process the manager can see — on a unix socket the kernel names
// it; over TCP from a loopback address the client tells its pid, believed
// when its boot and pid namespace are the manager's (kWireHostMetadata) —
// is watched as a process: one that dies closes its socket at once
// (unless a child it forked still holds a copy: a connection whose peer
// process is gone is cut off at the next check), and one that is stopped
// (SIGSTOP, a debugger) — seen stopped at two checks `keepalive` apart,
// having used no CPU between — is cut off as an unanswered ping would be.
// A busy-looping or deadlocked client is not: gRPC's pings are answered by
// its library's own thread in that case too. A connection that has not
// opened its stream within 10 s is dropped. A TCP peer the manager cannot
// watch (another machine; another pid namespace; a tunnel) is asked in its
// Open answer to ping every half `keepalive` while idle (kPing), and is
// cut off once silent for two `keepalive`s, as an unanswered HTTP/2 ping
// would have it; a client too old to ping is left to the kernel's
// keepalive probes (listener.h), which notice a silent machine, not a
// stopped process.
#ifndef MPROC_SERVER_RPC_WIRE_SERVER_H_
#define MPROC_SERVER_RPC_WIRE_SERVER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "server/rpc/listener.h"
#include "server/rpc/manager_service.h"
#include "server/rpc/rpc_threads.h"
#include "server/rpc/server_tls.h"

namespace mproc {

class WireServer {
 public:
  // Gives gRPC a connection that does not speak the wire (the descriptor
  // is gRPC's from then on).
  using HandOff = std::function<void(int fd)>;

  // Everything given must outlive this server. `tls`: a TLS manager's
  // certificates (null: plaintext).
  WireServer(ManagerService* service, RpcThreads* threads, HandOff to_grpc,
             ServerTlsFiles* tls, absl::Duration poll_spin,
             absl::Duration keepalive);
  // Shutdown()s.
  ~WireServer();
  WireServer(const WireServer&) = delete;
  WireServer& operator=(const WireServer&) = delete;

  // Takes over `connection`, admitted by a listener. Any thread.
  void Adopt(AcceptedConnection connection);

  // Ends every wire stream as a broken connection (their sessions wait out
  // their leases, as when gRPC's server shuts down), waits until their
  // calls are gone, and stops the thread. Call once no Adopt can come.
  // Idempotent.
  void Shutdown();

  // The thread's name (top -H, /proc/PID/task/*/comm).
  static constexpr char kThreadName[] = "mproc-wire";

  class Loop;

 private:
  std::unique_ptr<Loop> loop_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_WIRE_SERVER_H_
