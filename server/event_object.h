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
  void Set();
  void Clear();
  bool IsSet() const;
  // True at once if set; false if `timeout` is zero; else parks until set
  // (true) or timed out (false). FAILED_PRECONDITION where a call cannot
  // wait (no session).
  absl::StatusOr<Value> Wait(absl::Duration timeout, CallContext* call);

 private:
  absl::StatusOr<Value> TimeoutAnswer(int line) const override;

  bool set_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace mproc

#endif  // MPROC_SERVER_EVENT_OBJECT_H_
