// The base of every object whose calls can wait (queue, lock, semaphore,
// event): lines of parked calls in arrival order, their timeouts on the
// manager's timer, and their withdrawal when a session ends — written once
// here, as redis's blocked.c serves BLPOP, WAIT and modules alike.
//
// A subclass owns `mu_` for all its state, parks calls with Park(), serves
// them with PopWaiter() + Deliver, and says what a timed-out waiter of each
// line is answered (TimeoutAnswer). Deferred work reaches the object through
// weak references (weak_from_this), so the object must be owned by a
// shared_ptr (the object store) for its timeouts to fire.
#ifndef MPROC_SERVER_PARKING_OBJECT_H_
#define MPROC_SERVER_PARKING_OBJECT_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/value.h"
#include "server/client_session.h"
#include "server/deadline_timer.h"
#include "server/parking.h"
#include "server/shared_object.h"

namespace mproc {

class ParkingObject : public SharedObject {
 protected:
  struct Waiter {
    std::shared_ptr<ReplySink> sink;
    std::shared_ptr<ClientSession> session;
    uint64_t request_id = 0;
    uint64_t ticket = 0;      // identifies the waiter to its callbacks
    uint64_t close_hook = 0;  // the sink's hook that withdraws it
    uint64_t timer = 0;       // its timeout's timer entry (0: none)
    Value item;               // what the call brings (a queue put's item)
    int64_t count = 0;        // how much it asks for (get_many's max_n, ...)
    int64_t thread = 0;       // the client thread (lock owners)
  };

  // `lines`: how many separate lines of waiters the object keeps.
  // `keyed_by_thread`: index waiters by `thread` for PopWaiterOf (a pool's
  // per-worker, per-inbox and per-task waiters).
  ParkingObject(pb::Kind kind, std::string name, DeadlineTimer* timer,
                int lines, bool keyed_by_thread = false);

  // Parks the call in `line` (call->parked) and schedules its timeout
  // (none if infinite). `what` names the call in the error returned when
  // it cannot wait (no session: FAILED_PRECONDITION).
  absl::StatusOr<Value> Park(int line, Waiter waiter, absl::Duration timeout,
                             CallContext* call, absl::string_view what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes and returns the oldest waiter of `line` (which must not be
  // empty), forgetting its close hook and cancelling its timeout.
  Waiter PopWaiter(int line) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The same for the oldest waiter of `line` whose `thread` is `thread`
  // (objects that key waiters by something else, e.g. a pool's inboxes);
  // nullopt if there is none. Needs `keyed_by_thread`; each thread's
  // waiters are then a line of their own.
  std::optional<Waiter> PopWaiterOf(int line, int64_t thread)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers every waiter of `line` with `error` and empties it.
  void FailAll(int line, const absl::Status& error)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t Waiting(int line) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(lines_[line].waiters.size());
  }

  // Answers every parked call of every line NOT_FOUND "<object> was
  // deleted" (timers cancelled): the object is gone from the store.
  void OnDeleted() override;

  // What a waiter of `line` is answered when its timeout fires: an error
  // (a queue's "empty") or a value (an acquire's false).
  virtual absl::StatusOr<Value> TimeoutAnswer(int line) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) = 0;
  // Called (under mu_) with a waiter whose timeout fired, already removed
  // from its line. The default answers TimeoutAnswer(line).
  virtual void OnTimeout(int line, Waiter waiter)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A closure running `method(args...)` on this object later, under no
  // lock, if the object still exists then.
  template <typename T, typename... Args>
  std::function<void()> Later(void (T::*method)(Args...), Args... args) {
    return [weak = weak_from_this(), method, args...] {
      if (std::shared_ptr<SharedObject> self = weak.lock()) {
        (static_cast<T*>(self.get())->*method)(args...);
      }
    };
  }

  // The call a parked waiter came from (to hand it on to another object).
  static CallContext CallOf(const Waiter& waiter);

  static pb::Response Answer(uint64_t request_id, const Value& result);
  static pb::Response ErrorAnswer(uint64_t request_id,
                                  const absl::Status& status);

  DeadlineTimer* const timer_;
  mutable absl::Mutex mu_;

 private:
  std::optional<Waiter> TakeWaiter(int line, uint64_t ticket)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The timer's callback: answers the waiter if it still waits.
  void Expire(int line, uint64_t ticket);
  // The session's close hook: drops the waiter without an answer.
  void Withdraw(int line, uint64_t ticket);

  // The waiters of one line by ticket, with their arrival order kept as
  // tickets. A waiter that leaves out of turn (withdrawn, timed out,
  // popped by thread) leaves its ticket behind in `order`, skipped when
  // reached and swept out once such tickets outnumber the waiters: every
  // way out of a line is O(1) amortized.
  struct Line {
    absl::flat_hash_map<uint64_t, Waiter> waiters;
    std::deque<uint64_t> order;
    size_t stale = 0;  // tickets in `order` of waiters gone
    // With keyed_by_thread: each thread's tickets in arrival order (a
    // thread has few waiters at a time).
    absl::flat_hash_map<int64_t, std::deque<uint64_t>> by_thread;
  };
  // Takes waiter `ticket` (which must be in `line`) out of its line and
  // cancels its timer; the caller forgets its close hook if it needs to.
  Waiter Remove(Line& line, uint64_t ticket) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sweeps the tickets of waiters gone out of `line`'s order.
  static void Compact(Line& line);

  const bool keyed_by_thread_;
  std::vector<Line> lines_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ticket_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace mproc

#endif  // MPROC_SERVER_PARKING_OBJECT_H_
