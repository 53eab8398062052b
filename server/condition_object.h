// Condition, like Manager().Condition(lock): wait releases the lock, parks,
// and on notify (or timeout) re-acquires the lock before answering — all in
// the manager, with no thread per waiter.
#ifndef MPROC_SERVER_CONDITION_OBJECT_H_
#define MPROC_SERVER_CONDITION_OBJECT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/lock_object.h"
#include "server/parking_object.h"

namespace mproc {

class ConditionObject : public ParkingObject {
 public:
  // `lock` is the Lock or RLock the condition uses (shared with its users).
  ConditionObject(std::string name, std::shared_ptr<LockObject> lock,
                  DeadlineTimer* timer);

  const std::string& lock_name() const { return lock_->name(); }
  LockObject& lock() const { return *lock_; }
  int64_t Size() const override;  // waiters
  Map Details() const override;   // {"lock", "waiters"}

  // Releases the lock (FAILED_PRECONDITION unless the caller's session and
  // `thread` hold it), parks until notified or `timeout`, re-acquires the
  // lock (as many times as it was held), then answers true if notified,
  // false on timeout. Needs a session.
  absl::StatusOr<Value> Wait(int64_t thread, absl::Duration timeout,
                             CallContext* call);

  // Wakes up to `n` waiters (all with n < 0); returns how many. As in
  // Python, the caller must hold the lock (LockObject::CheckHeldBy; its
  // `thread`, for an RLock, when given).
  absl::StatusOr<int64_t> Notify(int64_t n, const CallContext& call,
                                 std::optional<int64_t> thread);

 private:
  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
  void OnTimeout(int line, Waiter waiter) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::shared_ptr<LockObject> lock_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_CONDITION_OBJECT_H_
