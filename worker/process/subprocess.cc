#include "worker/process/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "worker/process/internal/spawn.h"

namespace mproc {
namespace {

using process_internal::ChildWatch;
using process_internal::ErrnoStatus;
using process_internal::UniqueFd;

constexpr char kStdoutPayload[] = "type.mproc.dev/subprocess.stdout";
constexpr char kStderrPayload[] = "type.mproc.dev/subprocess.stderr";

// Children whose Popen was destroyed while they ran (Python's
// subprocess._active): reaped as they exit, at each Start.
class Orphans {
 public:
  static Orphans& Get() {
    static Orphans* orphans = new Orphans();
    return *orphans;
  }
  void Adopt(std::unique_ptr<ChildWatch> watch) {
    absl::MutexLock l(&mu_);
    watches_.push_back(std::move(watch));
  }
  void Reap() {
    absl::MutexLock l(&mu_);
    watches_.erase(std::remove_if(watches_.begin(), watches_.end(),
                                  [](const std::unique_ptr<ChildWatch>& w) {
                                    return w->Poll().has_value();
                                  }),
                   watches_.end());
  }

 private:
  absl::Mutex mu_;
  std::vector<std::unique_ptr<ChildWatch>> watches_ ABSL_GUARDED_BY(mu_);
};

void SetNonBlocking(int fd) {
  if (fd >= 0) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// write(2) to a pipe whose reader is gone, without the SIGPIPE that would
// kill a program that does not ignore it: the signal is blocked for this
// thread during the write, and one the write raised is consumed.
ssize_t WriteWithoutSigpipe(int fd, const char* data, size_t n) {
  sigset_t sigpipe, old;
  sigemptyset(&sigpipe);
  sigaddset(&sigpipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &sigpipe, &old);
  sigset_t pending;
  sigpending(&pending);
  const bool already_pending = sigismember(&pending, SIGPIPE);
  ssize_t written = ::write(fd, data, n);
  const int err = errno;
  if (written < 0 && err == EPIPE && !already_pending) {
    timespec zero{};
    sigtimedwait(&sigpipe, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return written;
}

// Reads what is available from `fd` into `out`; closes `fd` at EOF.
absl::Status Drain(UniqueFd* fd, std::string* out) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n > 0) {
      out->append(buf, n);
      continue;
    }
    if (n == 0) {
      fd->Reset();
      return absl::OkStatus();
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return absl::OkStatus();
    return ErrnoStatus(errno, "subprocess: read");
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Popen>> Popen::Start(
    std::vector<std::string> argv, const PopenOptions& options) {
  Orphans::Get().Reap();
  absl::StatusOr<process_internal::SpawnedChild> spawned =
      process_internal::Spawn(argv, options);
  if (!spawned.ok()) return spawned.status();
  std::unique_ptr<Popen> popen(new Popen(std::move(argv), spawned->pid));
  absl::MutexLock l(&popen->mu_);
  popen->stdin_ = std::move(spawned->stdin_pipe);
  popen->stdout_ = std::move(spawned->stdout_pipe);
  popen->stderr_ = std::move(spawned->stderr_pipe);
  return popen;
}

Popen::~Popen() {
  if (!watch_->Poll().has_value()) Orphans::Get().Adopt(std::move(watch_));
}

int Popen::stdin_fd() const {
  absl::MutexLock l(&mu_);
  return stdin_.get();
}
int Popen::stdout_fd() const {
  absl::MutexLock l(&mu_);
  return stdout_.get();
}
int Popen::stderr_fd() const {
  absl::MutexLock l(&mu_);
  return stderr_.get();
}

std::optional<int> Popen::Poll() { return watch_->Poll(); }

absl::StatusOr<int> Popen::Wait(absl::Duration timeout) {
  absl::StatusOr<std::optional<int>> code = watch_->Wait(absl::Now() + timeout);
  if (!code.ok()) return code.status();
  if (!code->has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat("command '", absl::StrJoin(argv_, " "),
                     "' still running after ", absl::FormatDuration(timeout)));
  }
  return **code;
}

absl::Status Popen::Signal(int signal, bool group) {
  if (!group) return watch_->Signal(signal);
  // Even after the leader was reaped, members of its group may live on; the
  // group id stays theirs while any member exists.
  if (::killpg(pid_, signal) != 0 && errno != ESRCH) {
    return ErrnoStatus(errno, absl::StrCat("signal process group ", pid_));
  }
  return absl::OkStatus();
}

absl::Status Popen::SendSignal(int signal) { return Signal(signal, false); }
absl::Status Popen::SignalGroup(int signal) { return Signal(signal, true); }
absl::Status Popen::Terminate() { return Signal(SIGTERM, false); }
absl::Status Popen::Kill() { return Signal(SIGKILL, false); }

absl::StatusOr<bool> Popen::PumpLocked(absl::Time deadline) {
  SetNonBlocking(stdin_.get());
  SetNonBlocking(stdout_.get());
  SetNonBlocking(stderr_.get());
  while (stdin_.valid() || stdout_.valid() || stderr_.valid()) {
    if (stdin_.valid() && input_written_ == input_.size()) {
      stdin_.Reset();  // all input sent: the child sees end of file
      continue;
    }
    pollfd fds[3];
    int n = 0;
    int in_slot = -1, out_slot = -1, err_slot = -1;
    if (stdin_.valid()) {
      in_slot = n;
      fds[n++] = {stdin_.get(), POLLOUT, 0};
    }
    if (stdout_.valid()) {
      out_slot = n;
      fds[n++] = {stdout_.get(), POLLIN, 0};
    }
    if (stderr_.valid()) {
      err_slot = n;
      fds[n++] = {stderr_.get(), POLLIN, 0};
    }
    int ready = ::poll(fds, n, process_internal::PollTimeoutMs(deadline));
    if (ready < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "subprocess: poll");
    }
    if (ready == 0) {
      if (absl::Now() >= deadline) return false;
      continue;
    }
    if (in_slot >= 0 && fds[in_slot].revents != 0) {
      ssize_t w =
          WriteWithoutSigpipe(stdin_.get(), input_.data() + input_written_,
                              input_.size() - input_written_);
      if (w > 0) {
        input_written_ += w;
      } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        // EPIPE: the child stopped reading; the rest of the input is moot
        // (Python ignores BrokenPipeError here too).
        stdin_.Reset();
      }
    }
    if (out_slot >= 0 && fds[out_slot].revents != 0) {
      if (absl::Status s = Drain(&stdout_, &out_); !s.ok()) return s;
    }
    if (err_slot >= 0 && fds[err_slot].revents != 0) {
      if (absl::Status s = Drain(&stderr_, &err_); !s.ok()) return s;
    }
  }
  return true;
}

absl::Status Popen::TimeoutStatusLocked(absl::Duration timeout) {
  absl::Status status = absl::DeadlineExceededError(
      absl::StrCat("command '", absl::StrJoin(argv_, " "), "' timed out after ",
                   absl::FormatDuration(timeout)));
  status.SetPayload(kStdoutPayload, absl::Cord(out_));
  status.SetPayload(kStderrPayload, absl::Cord(err_));
  return status;
}

absl::StatusOr<CompletedProcess> Popen::Communicate(absl::string_view input,
                                                    absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  absl::MutexLock l(&mu_);
  if (!input_taken_) {
    if (!input.empty() && !stdin_.valid()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "command '", argv_[0], "': input given but stdin is not a pipe"));
    }
    input_ = std::string(input);
    input_taken_ = true;
  }
  absl::StatusOr<bool> finished = PumpLocked(deadline);
  if (!finished.ok()) return finished.status();
  if (!*finished) return TimeoutStatusLocked(timeout);
  absl::StatusOr<std::optional<int>> code = watch_->Wait(deadline);
  if (!code.ok()) return code.status();
  if (!code->has_value()) return TimeoutStatusLocked(timeout);
  return CompletedProcess{argv_, **code, std::move(out_), std::move(err_)};
}

absl::StatusOr<CompletedProcess> Run(std::vector<std::string> argv,
                                     const RunOptions& options) {
  PopenOptions popen_options;
  static_cast<EnvironmentOptions&>(popen_options) = options;
  popen_options.stdin_mode =
      options.input.has_value() ? StreamMode::kPipe : StreamMode::kDevNull;
  popen_options.stdout_mode = StreamMode::kPipe;
  popen_options.stderr_mode = StreamMode::kPipe;
  popen_options.new_process_group = true;
  popen_options.die_with_parent = options.die_with_parent;
  absl::StatusOr<std::unique_ptr<Popen>> child =
      Popen::Start(std::move(argv), popen_options);
  if (!child.ok()) return child.status();
  absl::StatusOr<CompletedProcess> result =
      (*child)->Communicate(options.input.value_or(""), options.timeout);
  if (!absl::IsDeadlineExceeded(result.status())) return result;
  // Timed out: kill the whole group (grandchildren too), then collect what
  // they wrote before dying — with every writer dead, end of file follows
  // at once.
  (*child)->SignalGroup(SIGKILL).IgnoreError();
  absl::StatusOr<CompletedProcess> rest =
      (*child)->Communicate({}, absl::Seconds(2));
  absl::Status status = result.status();
  if (rest.ok()) {
    status.SetPayload(kStdoutPayload, absl::Cord(rest->out));
    status.SetPayload(kStderrPayload, absl::Cord(rest->err));
  } else if (std::optional<CompletedProcess> partial =
                 PartialOutput(rest.status())) {
    status.SetPayload(kStdoutPayload, absl::Cord(partial->out));
    status.SetPayload(kStderrPayload, absl::Cord(partial->err));
  }
  return status;
}

absl::StatusOr<CompletedProcess> RunShell(const std::string& command,
                                          const RunOptions& options) {
  return Run({"/bin/sh", "-c", command}, options);
}

std::optional<CompletedProcess> PartialOutput(const absl::Status& status) {
  if (!absl::IsDeadlineExceeded(status)) return std::nullopt;
  auto out = status.GetPayload(kStdoutPayload);  // absl::optional<Cord>
  auto err = status.GetPayload(kStderrPayload);
  if (!out.has_value() && !err.has_value()) return std::nullopt;
  CompletedProcess partial;
  if (out.has_value()) partial.out = std::string(*out);
  if (err.has_value()) partial.err = std::string(*err);
  return partial;
}

}  // namespace mproc
