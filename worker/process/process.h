// mproc::Process: Python's multiprocessing.Process for C++ (fork start
// method) — run a callable in a child process, join it, signal it, read its
// exit code. Start here for local processes; pipe.h and subprocess.h are the
// other two pieces.
//
//   mproc::Process p([](int n) { return n * 2; }, 21);
//   p.Start();
//   p.Join();            // *p.exitcode() == 42
//
// The target is any callable with arguments copied into the child. Its
// result becomes the exit code: void → 0, an integer → that (mod 256), an
// absl::Status → 0 if OK, else 1 with the status printed to stderr. An
// exception escaping the target prints "Process <name>: <what>" to stderr
// and gives exit code 1. Subclasses may instead override Run(), as Python's
// run().
//
// Like Python: a child killed by signal N has exitcode -N; children are
// named "Process-N" (N counts from 1 per parent; "Process-1:2" is the
// second child of Process-1); a daemon child is killed when its parent
// exits — here also when the parent is killed (PR_SET_PDEATHSIG; the signal
// fires when the thread that called Start() exits, so start daemons from a
// long-lived thread); at normal exit a process sends SIGTERM to its daemon
// children and waits for all children. Every child is reaped even if its
// Process object is destroyed first.
//
// The child is a fork(2) of the caller: it sees a copy of memory at the
// time of Start() and only the calling thread. Avoid locks other threads
// may hold at that moment (as with any fork of a threaded program).
//
// Thread-safety: all methods may be called concurrently. Only the process
// that called Start() may Join, signal or query the child
// (FAILED_PRECONDITION elsewhere, as Python's "can only join a child
// process").
#ifndef MPROC_WORKER_PROCESS_PROCESS_H_
#define MPROC_WORKER_PROCESS_PROCESS_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {
namespace process_internal {
struct ChildRecord;

// Prints "Process <name>: <message>" to stderr (a failed target).
void ReportTargetFailure(const std::string& message);

template <typename R>
int ToExitCode(R&& result) {
  using T = std::decay_t<R>;
  if constexpr (std::is_same_v<T, absl::Status>) {
    if (result.ok()) return 0;
    ReportTargetFailure(result.ToString());
    return 1;
  } else {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>,
                  "a Process target returns void, an integer or absl::Status");
    return static_cast<int>(result);
  }
}

// Binds a callable and copies of its arguments into an int() exit-code
// function.
template <typename F, typename... Args>
std::function<int()> BindTarget(F&& f, Args&&... args) {
  return [f = std::forward<F>(f),
          args = std::make_tuple(std::forward<Args>(args)...)]() mutable {
    using R = decltype(std::apply(f, args));
    if constexpr (std::is_void_v<R>) {
      std::apply(f, args);
      return 0;
    } else {
      return ToExitCode(std::apply(f, args));
    }
  };
}
}  // namespace process_internal

class Process {
 public:
  // A process that will run `target(args...)`; the arguments are copied
  // (decayed) now and handed to the child at Start().
  template <typename F, typename... Args,
            std::enable_if_t<
                std::is_invocable_v<std::decay_t<F>&, std::decay_t<Args>&...>,
                int> = 0>
  explicit Process(F&& target, Args&&... args)
      : Process(BoundTarget{},
                process_internal::BindTarget(std::forward<F>(target),
                                             std::forward<Args>(args)...)) {}
  // For subclasses that override Run().
  Process();
  virtual ~Process();

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  std::string name() const;
  // Renames the process (before Start(): the child sees its name).
  // FAILED_PRECONDITION after Start(); INVALID_ARGUMENT if empty.
  absl::Status set_name(std::string name);
  bool daemon() const;
  // FAILED_PRECONDITION after Start().
  absl::Status set_daemon(bool daemon);

  // Forks the child, which runs Run(). FAILED_PRECONDITION if already
  // started; RESOURCE_EXHAUSTED if the system cannot fork.
  absl::Status Start();

  // Waits until the child ends or `timeout` passes. OK once it has ended;
  // DEADLINE_EXCEEDED if it still runs after `timeout` (the child is left
  // alone, as in Python); FAILED_PRECONDITION before Start() or from a
  // process other than the parent.
  absl::Status Join(absl::Duration timeout = absl::InfiniteDuration());

  // Whether the child has started and not yet ended (reaps it if it has).
  bool IsAlive();

  // SIGTERM / SIGKILL to the child; a no-op once it has ended.
  // FAILED_PRECONDITION before Start() or from a non-parent.
  absl::Status Terminate();
  absl::Status Kill();

  // The child's pid; nullopt before Start().
  std::optional<pid_t> pid() const;

  // The exit code: nullopt before Start() and while running; the target's
  // code, 1 if it failed, -N if killed by signal N.
  std::optional<int> exitcode();

 protected:
  // What the child runs; its result is the exit code. The default runs the
  // target given to the constructor.
  virtual int Run();

 private:
  struct BoundTarget {};
  Process(BoundTarget, std::function<int()> target);
  absl::Status Signal(int signal);
  // Run() with an escaping exception reported and turned into exit code 1.
  int RunInChild();
  // The started child, or FAILED_PRECONDITION naming `action`.
  absl::StatusOr<std::shared_ptr<process_internal::ChildRecord>> StartedChild(
      const char* action) const;

  // Constant after construction.
  const std::function<int()> target_;
  int number_ = 0;  // the N of the default name "Process-N"

  mutable absl::Mutex mu_;
  std::string name_ ABSL_GUARDED_BY(mu_);
  bool daemon_ ABSL_GUARDED_BY(mu_);
  bool started_ ABSL_GUARDED_BY(mu_) = false;  // set when Start() begins
  // Set once the fork succeeded.
  std::shared_ptr<process_internal::ChildRecord> child_ ABSL_GUARDED_BY(mu_);
};

// Who the calling process is: "MainProcess" in a program's first process,
// the Process name in a child started by mproc::Process.
struct ProcessInfo {
  std::string name;
  pid_t pid = 0;
  pid_t parent_pid = 0;
  bool daemon = false;
};
ProcessInfo CurrentProcess();

// The calling process's running children (started with mproc::Process),
// after reaping those that have ended. Thread-safe.
std::vector<ProcessInfo> ActiveChildren();

// CPUs this process may run on (its affinity mask, as `nproc`), at least 1.
int CpuCount();

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_PROCESS_H_
