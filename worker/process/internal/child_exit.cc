#include "worker/process/internal/child_exit.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace mproc {
namespace process_internal {
namespace {

// pidfd_open's descriptors are close-on-exec by definition. (The raw
// syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" guards.)
int OpenPidfd(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

int ExitCodeFromWaitStatus(int wait_status) {
  if (WIFSIGNALED(wait_status)) return -WTERMSIG(wait_status);
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  return -1;
}

ChildWatch::ChildWatch(pid_t pid) : pid_(pid), pidfd_(OpenPidfd(pid)) {}

std::optional<int> ChildWatch::Poll() {
  absl::MutexLock l(&mu_);
  return PollLocked();
}

std::optional<int> ChildWatch::PollLocked() {
  if (exit_code_.has_value() || pid_ <= 0) return exit_code_;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) {
    exit_code_ = ExitCodeFromWaitStatus(status);
  } else if (r < 0 && errno == ECHILD) {
    // Someone else reaped it (a waitpid(-1) elsewhere in the program); the
    // status is lost. Report it as ended rather than running forever.
    exit_code_ = -1;
  }
  return exit_code_;
}

absl::StatusOr<std::optional<int>> ChildWatch::Wait(absl::Time deadline) {
  absl::Duration backoff = absl::Microseconds(100);
  for (;;) {
    if (std::optional<int> code = Poll(); code.has_value()) return code;
    if (absl::Now() >= deadline) return std::optional<int>();
    if (pidfd_.valid()) {
      // The pidfd stays open while we live, so polling it unlocked is safe.
      absl::StatusOr<bool> ready = WaitForFd(pidfd_.get(), POLLIN, deadline);
      if (!ready.ok()) return ready.status();
    } else {
      absl::SleepFor(std::min(backoff, deadline - absl::Now()));
      backoff = std::min(backoff * 2, absl::Milliseconds(10));
    }
  }
}

absl::Status ChildWatch::Signal(int signal) {
  // Under the lock, so the child cannot be reaped (and its pid recycled)
  // between the check and the kill.
  absl::MutexLock l(&mu_);
  if (pid_ <= 0 || PollLocked().has_value()) return absl::OkStatus();
  int r = pidfd_.valid()
              ? static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd_.get(),
                                         signal, nullptr, 0))
              : ::kill(pid_, signal);
  // ESRCH: it exited and awaits reaping; nothing to signal.
  if (r < 0 && errno != ESRCH) {
    return ErrnoStatus(errno,
                       absl::StrCat("signal ", signal, " to pid ", pid_));
  }
  return absl::OkStatus();
}

}  // namespace process_internal
}  // namespace mproc
