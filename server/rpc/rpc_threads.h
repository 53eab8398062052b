// The manager's RPCs, served on gRPC's completion-queue API by threads of
// our own.
//
// Why not the callback API: there, every read and write completion is
// handed to one of gRPC's "nexting" threads, so one request/answer cost the
// manager about four thread switches (and ~55 µs of CPU). Here the thread
// that waits on a completion queue is also the one that polls the sockets:
// it reads a frame, executes it and starts the answer's write without
// handing off — one switch per round trip, like Redis's event loop. With
// gRPC's epoll poller any thread may read any socket, so a second thread
// brings the hand-offs back; one is the default.
//
// After each event a thread keeps polling without sleeping for a short
// while (poll_spin, calling sched_yield between looks so anything else
// runnable on its core goes first) before it blocks: a client's next
// request usually comes within a round trip, and a thread that slept must
// be woken, which on an idle virtual CPU costs tens of µs — about a third
// of a loopback round trip (docs/performance.md). An idle manager still
// sleeps: the spin only follows an event.
//
// No other thread of the manager waits on the sockets, or a request would
// reach whichever thread waited there and then be handed to ours: the
// health service is served by these threads too (health_service.h), and
// reflection's one synchronous thread rarely polls.
#ifndef MPROC_SERVER_RPC_RPC_THREADS_H_
#define MPROC_SERVER_RPC_RPC_THREADS_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {

class RpcThreads;

// One RPC in progress (or awaited). Each operation started on it carries a
// CallTag naming the call and what the operation was; the polling thread
// hands the tag back through OnEvent. A call deletes itself once gRPC holds
// none of its tags.
class AsyncCall {
 public:
  explicit AsyncCall(RpcThreads* threads);
  virtual ~AsyncCall();
  AsyncCall(const AsyncCall&) = delete;
  AsyncCall& operator=(const AsyncCall&) = delete;

  // `ok` is gRPC's: false when the operation failed (stream broken, server
  // shutting down).
  virtual void OnEvent(int event, bool ok) = 0;

 private:
  RpcThreads* const threads_;
};

struct CallTag {
  AsyncCall* call;
  int event;
};

class RpcThreads {
 public:
  // What the polling threads are called (top -H, /proc/PID/task/*/comm).
  static constexpr char kPollThreadName[] = "mproc-poll";

  // Asks gRPC for the next calls on a queue (by creating AsyncCalls).
  using AwaitCalls = std::function<void(grpc::ServerCompletionQueue*)>;

  // Adds `threads` (at least 1) completion queues to `builder`; call before
  // BuildAndStart. `poll_spin` (zero: none) is how long a thread polls
  // without sleeping after an event.
  RpcThreads(grpc::ServerBuilder* builder, int threads,
             absl::Duration poll_spin);
  // Stop()s.
  ~RpcThreads();

  // After BuildAndStart: runs `await_calls` on each queue, then starts its
  // thread.
  void Start(const AwaitCalls& await_calls);

  // After grpc::Server::Shutdown (which ends every call): waits until every
  // call has let go of its queue, then stops the threads. Idempotent.
  void Stop();

 private:
  friend class AsyncCall;
  void Poll(grpc::ServerCompletionQueue* cq);

  const absl::Duration poll_spin_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> queues_;
  std::vector<std::thread> threads_;
  absl::Mutex mu_;
  int64_t live_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_RPC_THREADS_H_
