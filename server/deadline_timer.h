// One thread that runs short callbacks at given times: the timeouts of
// every parked call in the manager, however many there are.
#ifndef MPROC_SERVER_DEADLINE_TIMER_H_
#define MPROC_SERVER_DEADLINE_TIMER_H_

#include <functional>
#include <map>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {

class DeadlineTimer {
 public:
  // The manager's timer (started on first use, never stopped).
  static DeadlineTimer& Default();

  DeadlineTimer();
  ~DeadlineTimer();  // stops the thread; pending callbacks are dropped

  // Runs `callback` on the timer thread at (or soon after) `when`. The
  // callback must be short and must not block; it cannot be cancelled, so
  // it should check whether it still has work (e.g. its waiter is still
  // parked). Thread-safe.
  void Schedule(absl::Time when, std::function<void()> callback);

 private:
  void Loop();

  absl::Mutex mu_;
  std::multimap<absl::Time, std::function<void()>> due_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_DEADLINE_TIMER_H_
