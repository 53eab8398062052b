// Barrier, like Manager().Barrier(parties, timeout): `parties` calls wait
// until all have arrived, then all proceed, each with its arrival index.
#ifndef MPROC_SERVER_BARRIER_OBJECT_H_
#define MPROC_SERVER_BARRIER_OBJECT_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/parking_object.h"

namespace mproc {

class BarrierObject : public ParkingObject {
 public:
  // `parties` >= 1; `timeout`: the default for waits (infinite if none).
  BarrierObject(std::string name, int64_t parties, absl::Duration timeout,
                DeadlineTimer* timer);

  int64_t parties() const { return parties_; }
  int64_t Size() const override;  // calls waiting
  Map Details() const override;   // {"parties", "n_waiting", "broken"}

  // Arrives: the last of `parties` releases everyone (each answered its
  // arrival index, 0 for the first); the others park. A wait that times out
  // breaks the barrier (as in Python). ABORTED "broken" if the barrier is or
  // becomes broken (abort, reset, a timeout) while waiting. `timeout`
  // overrides the barrier's default when given.
  absl::StatusOr<Value> Wait(std::optional<absl::Duration> timeout,
                             CallContext* call);

  // Breaks the barrier: waiters and future waits fail until Reset.
  void Abort();
  // Fails current waiters (broken) and makes the barrier whole again.
  void Reset();
  bool Broken() const;

 private:
  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
  void OnTimeout(int line, Waiter waiter) override
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status BrokenError() const;

  const int64_t parties_;
  const absl::Duration default_timeout_;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_BARRIER_OBJECT_H_
