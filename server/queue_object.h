// A shared FIFO queue with an optional maxsize, like Manager().Queue():
// blocking get and put park their calls (parking.h) instead of a thread.
//
// Invariants: getters wait only while the queue is empty, putters only
// while it is full; each kind is served in arrival order. An item moves to
// a getter only if its call accepts the answer (the call is still alive);
// otherwise it stays first in the queue. A waiting putter's item enters the
// queue only if its call accepts the confirmation.
#ifndef MPROC_SERVER_QUEUE_OBJECT_H_
#define MPROC_SERVER_QUEUE_OBJECT_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/value.h"
#include "server/deadline_timer.h"
#include "server/parking.h"
#include "server/shared_object.h"

namespace mproc {

class QueueObject : public SharedObject {
 public:
  // maxsize 0: unbounded. Timeouts run on `timer`, which must outlive the
  // queue's parked calls (the manager's timer lives for the process).
  // Timeout callbacks hold only a weak reference (weak_from_this), so the
  // queue must be owned by a shared_ptr (the object store) to time out.
  QueueObject(std::string name, int64_t maxsize, DeadlineTimer* timer);

  int64_t maxsize() const { return maxsize_; }
  int64_t Size() const override;
  // {"maxsize", "getters", "putters"}: how many calls wait, for `objects`.
  Map Details() const override;
  bool Full() const;

  // Appends `item`, or hands it straight to the oldest waiting getter.
  // When full: RESOURCE_EXHAUSTED if !block or `timeout` is zero; else parks
  // the call (call->parked) until there is room (then answers null) or the
  // timeout (then RESOURCE_EXHAUSTED). FAILED_PRECONDITION if it would
  // park where the call cannot wait (call->sink null).
  absl::StatusOr<Value> Put(Value item, bool block, absl::Duration timeout,
                            CallContext* call);

  // Takes the oldest item; when empty, NOT_FOUND or parks as Put does.
  absl::StatusOr<Value> Get(bool block, absl::Duration timeout,
                            CallContext* call);

  // Appends all of `items` or none (RESOURCE_EXHAUSTED if they do not fit);
  // never waits.
  absl::Status PutMany(List items);

  // Takes 1..max_n items as a list; while empty waits up to `timeout`
  // (zero: NOT_FOUND at once).
  absl::StatusOr<Value> GetMany(int64_t max_n, absl::Duration timeout,
                                CallContext* call);

 private:
  struct Waiter {
    std::shared_ptr<ReplySink> sink;
    uint64_t request_id;
    uint64_t ticket;    // identifies the waiter to its timeout callback
    uint64_t close_hook;  // the sink's hook that withdraws it
    Value item;         // putters: the item to add
    int64_t max_n = 0;  // getters: 0 for get, else get_many's limit
  };
  absl::Status EmptyError() const;
  absl::Status FullError() const;
  // Parks `waiter` in `line` and schedules its timeout.
  absl::StatusOr<Value> Park(Waiter waiter, bool getter,
                             absl::Duration timeout, CallContext* call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands `item` to the oldest live getter; false if there is none.
  bool HandToGetter(Value& item) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves waiting putters' items in while there is room.
  void AdmitPutters() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool HasRoomLocked(size_t n) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes back an item whose answer never reached its getter: it goes
  // first in line again.
  void Return(Value item);
  // Removes the waiter `ticket` if it still waits; returns it.
  std::optional<Waiter> TakeWaiter(uint64_t ticket, bool getter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Pops the oldest waiter of a line, forgetting its close hook.
  Waiter PopWaiter(std::deque<Waiter>& line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The timer's callback: fails the waiter if it still waits.
  void Expire(uint64_t ticket, bool getter);
  // The session's close hook: drops the waiter without an answer.
  void Withdraw(uint64_t ticket, bool getter);

  // Constant after construction.
  const int64_t maxsize_;
  DeadlineTimer* const timer_;

  mutable absl::Mutex mu_;
  std::deque<Value> items_ ABSL_GUARDED_BY(mu_);
  std::deque<Waiter> getters_ ABSL_GUARDED_BY(mu_);
  std::deque<Waiter> putters_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace mproc

#endif  // MPROC_SERVER_QUEUE_OBJECT_H_
