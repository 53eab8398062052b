// The per-process table behind mproc::Process: who this process is
// (name, parent, daemon flag, numbering of its children) and which children
// it has started and not yet reaped.
//
// DESIGN
// Every child started by a Process is recorded here until reaped, so a
// child outlives its Process object without becoming a zombie: each Fork()
// first reaps finished children (Python's `_cleanup`), ActiveChildren()
// reaps, and an atexit handler (Python's `_exit_function`) sends SIGTERM to
// live daemon children and then waits for every child.
//
// Fork() holds the table's mutex across fork(2) so the child never inherits
// it locked by another thread; the child then resets the table to its own
// identity with no children. The mutex is a ForkSafeMutex (glibc's
// pthread_mutex) rather than absl::Mutex because only the former is safe to
// unlock in a forked child whose parent had waiters queued.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_PROCESS_TABLE_H_
#define MPROC_WORKER_PROCESS_INTERNAL_PROCESS_TABLE_H_

#include <sys/types.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "worker/process/internal/child_exit.h"
#include "worker/process/internal/fork_safe_mutex.h"

namespace mproc {
namespace process_internal {

// One started child. Shared by its Process object and the table.
struct ChildRecord {
  ChildRecord(std::string name, bool daemon, pid_t pid)
      : name(std::move(name)), daemon(daemon), pid(pid), watch(pid) {}

  // Constant after construction.
  const std::string name;
  const bool daemon;
  const pid_t pid;
  // The process that forked the child: only it may wait for or signal it.
  const pid_t parent_pid = ::getpid();

  ChildWatch watch;  // thread-safe itself
};

struct Identity {
  std::string name;
  pid_t pid;
  pid_t parent_pid;
  bool daemon;
};

class ProcessTable {
 public:
  // The table of the calling process (created on first use, never freed).
  static ProcessTable& Get();

  // Numbers the next child: returns its default name, "Process-N" in the
  // main process and "Process-<parent's numbers>:N" in a child.
  std::pair<int, std::string> NextChild();

  // Forks a child that becomes `name` (numbered `number`), runs `body` and
  // exits with its result after the exit handler has run. Returns the
  // record of the running child. RESOURCE_EXHAUSTED if fork fails.
  // Daemon children get PR_SET_PDEATHSIG(SIGKILL): note that it fires when
  // the *thread* that called Fork exits.
  absl::StatusOr<std::shared_ptr<ChildRecord>> Fork(
      int number, const std::string& name, bool daemon,
      const std::function<int()>& body);

  // Reaps every finished child and returns those still running.
  std::vector<std::shared_ptr<ChildRecord>> Sweep();

  Identity Self();

  // Python's exit function: SIGTERM to running daemon children, then waits
  // for every child. Runs at normal exit of any process that started one.
  void RunExitHandler();

 private:
  // Who this process is and what it started. A child's State is built by
  // the parent before fork(2) and swapped in by pointer afterwards: code a
  // forked child runs for the first time costs page faults (and lazy
  // symbol binding), so the child does as little as possible.
  struct State {
    std::vector<int> numbers;  // {} in the main process, {1, 2} for 1:2
    std::string name = "MainProcess";
    pid_t parent_pid = 0;
    bool daemon = false;
    int children_numbered = 0;
    std::vector<std::shared_ptr<ChildRecord>> children;
  };

  ProcessTable();
  // In the forked child: adopts `state`, forgetting the parent's children.
  void BecomeChild(std::unique_ptr<State> state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Reaps finished children and drops them from the state.
  void SweepLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  ForkSafeMutex mu_;
  std::unique_ptr<State> state_ ABSL_GUARDED_BY(mu_);
  // Survives fork unchanged, as the atexit list does.
  bool exit_handler_registered_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_PROCESS_TABLE_H_
