// Parking: how an operation that must wait (a get on an empty queue, an
// acquire of a held lock) waits without a thread, like redis's blocked.c.
//
// The command keeps the call's ReplySink and request id, tells the
// dispatcher the call is parked (CallContext::parked), and answers later —
// when an item arrives, the lock is released, or its timeout fires — with
// exactly one ReplySink::Deliver. Deliver fails once the call is gone (its
// stream ended): the command then keeps what it was about to hand over, so
// nothing is lost to a dead client.
#ifndef MPROC_SERVER_PARKING_H_
#define MPROC_SERVER_PARKING_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "proto/mproc.pb.h"

namespace mproc {

// When an answer's give-back runs (ReplySink::Deliver, CallContext).
enum class GiveBack {
  // If the connection breaks before the answer is written to it: what was
  // handed over is the client's once the transport has it (a task given
  // to a worker: its loss is the worker's loss).
  kIfUnwritten,
  // If the connection ends before the client acknowledged receiving the
  // answer (RequestFrame.received_frames): nothing handed over is lost in
  // transport buffers of a client that died; a client that received it
  // but died before saying so may see it again elsewhere (at-least-once).
  kIfUnreceived,
};

// The way back to one client connection. Thread-safe; no method blocks,
// so all are safe under an object's mutex (lock order: object, then sink).
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // Queues `response` for sending. False if the connection is gone or
  // finishing; then nothing is sent. If the answer does not reach the
  // client (see GiveBack), `give_back` runs (with no sink lock held) so
  // the object can take back what it handed over.
  virtual bool Deliver(pb::Response response,
                       std::function<void()> give_back = nullptr,
                       GiveBack when = GiveBack::kIfUnwritten) = 0;
  // Runs `hook` once, with no sink lock held, when the connection ends —
  // how an object withdraws the parked calls of a client that went away.
  // Returns a token for RemoveCloseHook; 0 if the connection has already
  // ended (the hook is dropped, and the call should not park).
  virtual uint64_t AddCloseHook(std::function<void()> hook) = 0;
  // Forgets a hook whose call was answered. Unknown tokens are ignored.
  virtual void RemoveCloseHook(uint64_t token) = 0;
};

class ClientSession;

// What a command knows about the call it serves.
struct CallContext {
  // Null where a call cannot wait (unary Call and Batch RPCs).
  std::shared_ptr<ReplySink> sink;
  // Who is calling, across reconnects: what holds locks and permits. Null
  // with `sink`.
  std::shared_ptr<ClientSession> session;
  uint64_t request_id = 0;
  // Set by a command that parked the call: its answer comes later through
  // `sink`, and the dispatcher sends none now.
  bool parked = false;
  // Set by a command whose immediate answer hands something over (a
  // queue's item): run if the answer does not reach the client
  // (GiveBack::kIfUnreceived on a session; at once if the answer is
  // refused as too large).
  std::function<void()> give_back;
  // The largest answer the dispatcher will send, in bytes: an op that
  // builds a long answer stops at it (answer_budget.h).
  int64_t answer_limit = INT64_MAX;
  // Set by the dispatcher when the caller may run commands (the admin or
  // exec role): only such a caller sees other tasks' command lines.
  bool may_run_commands = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_PARKING_H_
