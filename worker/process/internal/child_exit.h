// Waiting for one child process without blocking on any other.
//
// A ChildWatch holds the child's pidfd (Linux ≥ 5.3) for its whole life, so
// the pid cannot be confused with a recycled one, a timeout is a poll(2) on
// the pidfd rather than a sleep loop, and signals go to exactly that
// process.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_
#define MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_

#include <sys/types.h>

#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {
namespace process_internal {

// Python's convention: the exit status for a normal exit, -N when killed
// by signal N.
int ExitCodeFromWaitStatus(int wait_status);

// Thread-safe: one thread may Wait while others Poll or Signal.
class ChildWatch {
 public:
  // Takes a just-started child. Without pidfd_open (old kernels) waits fall
  // back to polling waitpid with a short back-off.
  explicit ChildWatch(pid_t pid);
  ChildWatch(const ChildWatch&) = delete;
  ChildWatch& operator=(const ChildWatch&) = delete;

  pid_t pid() const { return pid_; }

  // Reaps the child if it has exited; returns its exit code, or nullopt
  // while it runs.
  std::optional<int> Poll();

  // Waits until the child exits or `deadline` passes, without holding a
  // lock meanwhile. Returns the exit code, or nullopt on timeout. INTERNAL
  // if waiting itself fails.
  absl::StatusOr<std::optional<int>> Wait(absl::Time deadline);

  // Sends `signal` to the child unless it has already been reaped (then a
  // no-op, as in Python). INTERNAL if the kernel refuses.
  absl::Status Signal(int signal);

  // The pidfd (-1 without pidfd support); open until destruction. A forked
  // child closes its parent's pidfds through this.
  int pidfd() const { return pidfd_.get(); }

 private:
  std::optional<int> PollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const pid_t pid_;
  const UniqueFd pidfd_;

  absl::Mutex mu_;
  std::optional<int> exit_code_ ABSL_GUARDED_BY(mu_);
};

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_
