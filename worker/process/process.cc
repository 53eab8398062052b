#include "worker/process/process.h"

#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <exception>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "worker/process/internal/process_table.h"

namespace mproc {
namespace process_internal {

void ReportTargetFailure(const std::string& message) {
  std::string line = absl::StrCat("Process ", ProcessTable::Get().Self().name,
                                  ": ", message, "\n");
  fputs(line.c_str(), stderr);
}

}  // namespace process_internal

using process_internal::ChildRecord;
using process_internal::ProcessTable;

Process::Process() : Process(BoundTarget{}, nullptr) {}

Process::Process(BoundTarget, std::function<int()> target)
    : target_(std::move(target)) {
  std::tie(number_, name_) = ProcessTable::Get().NextChild();
  daemon_ = ProcessTable::Get().Self().daemon;  // inherited, as in Python
}

Process::~Process() = default;

int Process::Run() {
  if (!target_) return 0;
  return target_();
}

int Process::RunInChild() {
  try {
    return Run();
  } catch (const std::exception& e) {
    process_internal::ReportTargetFailure(e.what());
  } catch (...) {
    process_internal::ReportTargetFailure("unknown exception");
  }
  return 1;
}

std::string Process::name() const {
  absl::MutexLock l(&mu_);
  return name_;
}

absl::Status Process::set_name(std::string name) {
  if (name.empty()) {
    return absl::InvalidArgumentError("process name must not be empty");
  }
  absl::MutexLock l(&mu_);
  if (started_) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", name_, ": cannot rename after start"));
  }
  name_ = std::move(name);
  return absl::OkStatus();
}

bool Process::daemon() const {
  absl::MutexLock l(&mu_);
  return daemon_;
}

absl::Status Process::set_daemon(bool daemon) {
  absl::MutexLock l(&mu_);
  if (started_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process ", name_, ": the daemon flag cannot change after start"));
  }
  daemon_ = daemon;
  return absl::OkStatus();
}

absl::Status Process::Start() {
  std::string name;
  bool daemon;
  {
    absl::MutexLock l(&mu_);
    if (started_) {
      return absl::FailedPreconditionError(
          absl::StrCat("process ", name_, " can only be started once"));
    }
    started_ = true;
    name = name_;
    daemon = daemon_;
  }
  // mu_ is not held across fork: the child's Run() may use this object.
  absl::StatusOr<std::shared_ptr<ChildRecord>> child = ProcessTable::Get().Fork(
      number_, name, daemon, [this] { return RunInChild(); });
  absl::MutexLock l(&mu_);
  if (!child.ok()) {
    started_ = false;
    return child.status();
  }
  child_ = *std::move(child);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<ChildRecord>> Process::StartedChild(
    const char* action) const {
  absl::MutexLock l(&mu_);
  if (child_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", name_, ": cannot ", action, " before start"));
  }
  if (child_->parent_pid != getpid()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "process ", name_, ": can only ", action, " a child process"));
  }
  return child_;
}

absl::Status Process::Join(absl::Duration timeout) {
  absl::StatusOr<std::shared_ptr<ChildRecord>> child = StartedChild("join");
  if (!child.ok()) return child.status();
  // absl time saturates: Now() + InfiniteDuration() is InfiniteFuture().
  absl::StatusOr<std::optional<int>> code =
      (*child)->watch.Wait(absl::Now() + timeout);
  if (!code.ok()) return code.status();
  if (!code->has_value()) {
    return absl::DeadlineExceededError(
        absl::StrCat("process ", (*child)->name, " still running after ",
                     absl::FormatDuration(timeout)));
  }
  return absl::OkStatus();
}

bool Process::IsAlive() {
  absl::StatusOr<std::shared_ptr<ChildRecord>> child = StartedChild("query");
  if (!child.ok()) return false;
  return !(*child)->watch.Poll().has_value();
}

absl::Status Process::Signal(int signal) {
  absl::StatusOr<std::shared_ptr<ChildRecord>> child = StartedChild("signal");
  if (!child.ok()) return child.status();
  return (*child)->watch.Signal(signal);
}

absl::Status Process::Terminate() { return Signal(SIGTERM); }
absl::Status Process::Kill() { return Signal(SIGKILL); }

std::optional<pid_t> Process::pid() const {
  absl::MutexLock l(&mu_);
  if (child_ == nullptr) return std::nullopt;
  return child_->pid;
}

std::optional<int> Process::exitcode() {
  absl::StatusOr<std::shared_ptr<ChildRecord>> child = StartedChild("query");
  if (!child.ok()) return std::nullopt;
  return (*child)->watch.Poll();
}

ProcessInfo CurrentProcess() {
  process_internal::Identity self = ProcessTable::Get().Self();
  return ProcessInfo{self.name, self.pid, self.parent_pid, self.daemon};
}

std::vector<ProcessInfo> ActiveChildren() {
  std::vector<ProcessInfo> out;
  const pid_t self = getpid();
  for (const std::shared_ptr<ChildRecord>& child :
       ProcessTable::Get().Sweep()) {
    out.push_back(ProcessInfo{child->name, child->pid, self, child->daemon});
  }
  return out;
}

int CpuCount() {
  // Size the mask for machines with more than CPU_SETSIZE CPUs.
  for (int ncpus = 1024; ncpus <= (1 << 20); ncpus *= 4) {
    cpu_set_t* set = CPU_ALLOC(ncpus);
    if (set == nullptr) break;
    size_t size = CPU_ALLOC_SIZE(ncpus);
    CPU_ZERO_S(size, set);
    int r = sched_getaffinity(0, size, set);
    int count = r == 0 ? CPU_COUNT_S(size, set) : 0;
    CPU_FREE(set);
    if (r == 0) return count > 0 ? count : 1;
    if (errno != EINVAL) break;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace mproc
