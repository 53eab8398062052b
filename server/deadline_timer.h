// One thread that runs short callbacks at given times: the timeouts of
// every parked call in the manager, however many there are.
#ifndef MPROC_SERVER_DEADLINE_TIMER_H_
#define MPROC_SERVER_DEADLINE_TIMER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {

class DeadlineTimer {
 public:
  // The manager's timer (started on first use, never stopped).
  static DeadlineTimer& Default();

  DeadlineTimer();
  ~DeadlineTimer();  // stops the thread; pending callbacks are dropped

  // Runs `callback` on the timer thread at (or soon after) `when`, unless
  // cancelled first. The callback must be short and must not block, and
  // should still check whether it has work (Cancel may race with it).
  // Returns the entry's id for Cancel (never 0). Thread-safe.
  uint64_t Schedule(absl::Time when, std::function<void()> callback);

  // Drops entry `id` (and what its callback holds) if it has not run; a
  // no-op otherwise. O(log n); safe under the caller's own locks (the
  // timer never holds its lock while running callbacks).
  void Cancel(uint64_t id);

  // Entries waiting to run.
  size_t Pending() const;

 private:
  void Loop();

  mutable absl::Mutex mu_;
  // By (due time, id): ids keep entries due at the same time apart.
  std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> due_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, absl::Time> when_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_DEADLINE_TIMER_H_
