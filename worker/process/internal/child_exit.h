// Waiting for one child process without blocking on any other.
//
// A ChildWatch holds the child's pidfd (Linux ≥ 5.3), so the pid cannot be
// reused before we reap it, a timeout is a poll(2) on the pidfd rather than
// a sleep loop, and signals go to exactly that process.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_
#define MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_

#include <sys/types.h>

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {
namespace process_internal {

// Python's convention: the exit status for a normal exit, -N when killed
// by signal N.
int ExitCodeFromWaitStatus(int wait_status);

// Not thread-safe: callers serialize access (Process and Popen hold a
// mutex around it).
class ChildWatch {
 public:
  ChildWatch() = default;
  // Takes a just-forked child. If the kernel has no pidfd_open the watch
  // falls back to polling waitpid with a short back-off.
  explicit ChildWatch(pid_t pid);
  ChildWatch(ChildWatch&&) = default;
  ChildWatch& operator=(ChildWatch&&) = default;

  pid_t pid() const { return pid_; }
  // The exit code once reaped (ExitCodeFromWaitStatus convention).
  std::optional<int> exit_code() const { return exit_code_; }

  // Reaps the child if it has exited; returns its exit code, or nullopt
  // while it runs.
  std::optional<int> Poll();

  // Waits until the child exits or `deadline` passes. Returns the exit code,
  // or nullopt on timeout. INTERNAL if waiting itself fails.
  absl::StatusOr<std::optional<int>> Wait(absl::Time deadline);

  // Sends `signal` to the child unless it has already been reaped (then a
  // no-op, as in Python). INTERNAL if the kernel refuses.
  absl::Status Signal(int signal);

  // The pidfd, readable once the child has exited (-1 without pidfd).
  int pidfd() const { return pidfd_.get(); }

 private:
  pid_t pid_ = -1;
  UniqueFd pidfd_;
  std::optional<int> exit_code_;
};

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_CHILD_EXIT_H_
