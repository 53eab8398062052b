// Event, like Manager().Event(): a flag that calls can wait for.
#ifndef MPROC_SERVER_EVENT_OBJECT_H_
#define MPROC_SERVER_EVENT_OBJECT_H_

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/parking_object.h"

namespace mproc {

class EventObject : public ParkingObject {
 public:
  EventObject(std::string name, DeadlineTimer* timer);

  int64_t Size() const override;  // 1 while set
  Map Details() const override;   // {"set", "waiters"}

  // Sets the flag and answers every waiter true.
  // Fail (UNAVAILABLE) only if the change cannot be recorded.
  absl::Status Set();
  absl::Status Clear();
  bool IsSet() const;
  // True at once if set; false if `timeout` is zero; else parks until set
  // (true) or timed out (false). FAILED_PRECONDITION where a call cannot
  // wait (no session).
  absl::StatusOr<Value> Wait(absl::Duration timeout, CallContext* call);

  // Recorded as the key "s" while set.
  void Snapshot(std::vector<LogChange>* out) const override;
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
  // Records the flag if it changes.
  absl::Status RecordLocked(bool set) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  bool set_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_EVENT_OBJECT_H_
