// Semaphore and BoundedSemaphore, like Manager().Semaphore(value). Permits
// are counted per client session: when a session expires, the permits it
// still holds come back and go to waiters (an improvement on Python, whose
// permits die with a crashed holder).
#ifndef MPROC_SERVER_SEMAPHORE_OBJECT_H_
#define MPROC_SERVER_SEMAPHORE_OBJECT_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/parking_object.h"

namespace mproc {

class SemaphoreObject : public ParkingObject {
 public:
  // `value` >= 0 permits; `bounded`: releasing above `value` is an error.
  SemaphoreObject(std::string name, int64_t value, bool bounded,
                  DeadlineTimer* timer);

  bool bounded() const { return bounded_; }
  int64_t initial_value() const { return initial_; }
  int64_t Size() const override;  // permits available
  // {"bounded", "initial", "value", "waiters", "holders": {peer: permits}}.
  Map Details() const override;

  // Takes a permit: true at once if one is free; false if !block or
  // `timeout` is zero; else parks until one is released (true) or timed out
  // (false). FAILED_PRECONDITION without a session.
  absl::StatusOr<Value> Acquire(bool block, absl::Duration timeout,
                                CallContext* call);

  // Returns `n` >= 1 permits (counted against the caller's session first).
  // FAILED_PRECONDITION if bounded and that would exceed the initial value;
  // INVALID_ARGUMENT if n < 1.
  absl::Status Release(int64_t n, CallContext* call);

 private:
  struct Holding {
    std::shared_ptr<ClientSession> session;
    int64_t permits = 0;
    uint64_t close_hook = 0;
  };

  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
  // Counts one permit for `session`; false if it already expired.
  bool CreditLocked(const std::shared_ptr<ClientSession>& session)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Gives free permits to waiters while both last.
  void ServeWaitersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A holding session's hold hook: its permits come back.
  void SessionGone(uintptr_t session);

  const int64_t initial_;
  const bool bounded_;
  int64_t value_ ABSL_GUARDED_BY(mu_);
  // Keyed by the session's address.
  absl::flat_hash_map<uintptr_t, Holding> holdings_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_SEMAPHORE_OBJECT_H_
