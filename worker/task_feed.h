// The flow of tasks into one worker process and of results out of it,
// between the process's runner (its main thread, which runs tasks one at a
// time) and the manager.
//
// The runner asks the manager for work itself when it is idle, carrying
// its results. When the last answer was a batch (the manager has a
// backlog), a prefetch thread asks as soon as the runner starts its last
// task in hand: the next batch arrives while that task runs, so a process
// running short tasks is not idle waiting for a round trip. A result finished
// while the fetcher waits in the manager (nothing queued) is reported at once
// by the runner. A reclaimer hands the tasks in hand back to the manager when
// the running task has run longer than `patience`, so tasks batched behind an
// unexpectedly long one go to other processes.
//
// Fencing: the manager takes back every task handed out on a stream that
// ended (the process was paused or cut off past the keepalive), and ends a
// task that is cancelled or times out in hand. A task held more than
// `recheck_after` before it starts — behind a long task, or after a pause
// — is started only once the manager confirms it still holds that
// hand-out (one round trip); one it no longer holds is dropped, and if the
// stream it came on has ended the feed ends, fenced().
#ifndef MPROC_WORKER_TASK_FEED_H_
#define MPROC_WORKER_TASK_FEED_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/manager.h"
#include "client/proxies.h"
#include "common/task_wire.h"
#include "worker/task_runner.h"

namespace mproc {

// Whether tasks taken on stream `stream` (the Manager's streams_opened()
// when they arrived) are still this process's: false once that stream has
// ended. One round trip to the manager.
bool TasksStillHeld(Manager& manager, int64_t stream);

class TaskFeed {
 public:
  // `info` registers the process ({host, pid, tasks, prefetch, batch_us});
  // `limit`: tasks to take in all (0: no limit, else maxtasksperchild).
  // `manager` (the proxy's) must outlive the feed.
  TaskFeed(const PoolProxy& proxy, Manager* manager, Map info,
           const RunnerContext& context, int64_t limit, absl::Duration patience,
           absl::Duration recheck_after);
  ~TaskFeed();  // calls Finish() if not yet done

  // The next task to run; nullopt once the process should end (stopped, or
  // its limit of tasks is done). Asks the manager (and waits there) while
  // none is in hand. `*stream`: the stream the task came on.
  std::optional<WorkItem> NextTask(int64_t* stream);
  // NextTask ended the feed because the manager took its tasks back: the
  // process must end without running or reporting anything more.
  bool fenced() const {
    absl::MutexLock l(&mu_);
    return fenced_;
  }
  // The runner finished a task: its encoded TaskResult.
  void TaskDone(Value result);
  // Stop taking tasks (thread-safe; from the signal thread).
  void Stop();
  // The process is about to end in the middle of a task (it timed out or
  // was taken back): stops, and gives back the tasks in hand and reports
  // the results not yet sent, so they are neither lost nor charged a
  // retry. Waits at most `patience` for the manager (thread-safe). The
  // feed's threads are detached: Finish must not follow.
  void Abandon(absl::Duration patience);
  // Gives back the tasks not started, reports every result, and ends the
  // threads. Idempotent.
  void Finish();

 private:
  void PrefetchLoop();
  // One request to the manager carrying done_, with mu_ released during
  // it; adds what it gives to items_. Sets fetching_ meanwhile.
  void FetchLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReclaimLoop();
  // Reports `done` (report only); false if the manager could not be
  // reached. Results over the message limit become ResultTooLarge errors.
  bool Report(const List& done, const List& returned);
  // Puts unreported results back in front (takes the lock).
  void KeepUnreported(List results) ABSL_LOCKS_EXCLUDED(mu_);
  int64_t RemainingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return limit_ == 0 ? int64_t{1} << 30 : limit_ - taken_;
  }

  const PoolProxy proxy_;
  Manager* const manager_;
  const Map info_;
  const RunnerContext context_;
  const int64_t limit_;
  const absl::Duration patience_;
  const absl::Duration recheck_after_;

  mutable absl::Mutex mu_;
  std::deque<WorkItem> items_ ABSL_GUARDED_BY(mu_);  // in hand, not started
  List done_ ABSL_GUARDED_BY(mu_);                   // results to report
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;  // a fetch waits in the manager
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  int64_t taken_ ABSL_GUARDED_BY(mu_) = 0;       // tasks received (and kept)
  int64_t last_batch_ ABSL_GUARDED_BY(mu_) = 0;  // tasks the last fetch gave
  // The stream and time items_ arrived on (one batch is in hand at most).
  int64_t batch_stream_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time batch_time_ ABSL_GUARDED_BY(mu_);
  bool fenced_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::Milliseconds(100);
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t running_seq_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time running_since_ ABSL_GUARDED_BY(mu_);
  std::thread prefetcher_;
  std::thread reclaimer_;
};

}  // namespace mproc

#endif  // MPROC_WORKER_TASK_FEED_H_
