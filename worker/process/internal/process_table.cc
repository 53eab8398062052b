#include "worker/process/internal/process_table.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/process/internal/unique_fd.h"

namespace mproc {
namespace process_internal {
namespace {

void ExitHandlerTrampoline() { ProcessTable::Get().RunExitHandler(); }

// Flushes C and C++ stdio so buffered output is neither lost by _exit nor
// written twice (once by each side of a fork).
void FlushStdio() {
  std::cout.flush();
  std::cerr.flush();
  fflush(nullptr);
}

}  // namespace

ProcessTable& ProcessTable::Get() {
  static ProcessTable* table = new ProcessTable();
  return *table;
}

ProcessTable::ProcessTable() : name_("MainProcess"), parent_pid_(getppid()) {}

std::pair<int, std::string> ProcessTable::NextChild() {
  std::lock_guard<std::mutex> l(mu_);
  int number = ++children_numbered_;
  std::string digits = absl::StrJoin(identity_, ":");
  return {number,
          absl::StrCat("Process-", digits, digits.empty() ? "" : ":", number)};
}

absl::StatusOr<std::shared_ptr<ChildRecord>> ProcessTable::Fork(
    int number, const std::string& name, bool daemon,
    const std::function<int()>& body) {
  std::unique_lock<std::mutex> l(mu_);
  SweepLocked();
  if (!exit_handler_registered_) {
    atexit(ExitHandlerTrampoline);
    exit_handler_registered_ = true;
  }
  FlushStdio();
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    return ErrnoStatus(errno, absl::StrCat("fork for process ", name));
  }
  if (pid == 0) {
    ResetInForkedChild(number, name, daemon, parent);
    l.unlock();
    int code = body();
    RunExitHandler();
    FlushStdio();
    _exit(code & 0xff);
  }
  auto record = std::make_shared<ChildRecord>(name, daemon, pid);
  children_.push_back(record);
  return record;
}

void ProcessTable::ResetInForkedChild(int number, const std::string& name,
                                      bool daemon, pid_t parent_pid) {
  if (daemon) {
    // Dies with the parent even if the parent is SIGKILLed. If the parent
    // died between fork and prctl, nobody would deliver the signal: check.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent_pid) _exit(1);
  }
  // The parent's children are not ours: close their pidfds (no lock — this
  // process has one thread) and forget them without touching their mutexes.
  for (std::shared_ptr<ChildRecord>& child : children_) {
    if (child->watch.pidfd() >= 0) ::close(child->watch.pidfd());
    new std::shared_ptr<ChildRecord>(std::move(child));  // leaked on purpose
  }
  children_.clear();
  identity_.push_back(number);
  name_ = name;
  parent_pid_ = parent_pid;
  daemon_ = daemon;
  children_numbered_ = 0;
  // exit_handler_registered_ stays: fork copied the atexit list too.
}

std::vector<std::shared_ptr<ChildRecord>> ProcessTable::Sweep() {
  std::lock_guard<std::mutex> l(mu_);
  return SweepLocked();
}

std::vector<std::shared_ptr<ChildRecord>> ProcessTable::SweepLocked() {
  std::vector<std::shared_ptr<ChildRecord>> running;
  for (const std::shared_ptr<ChildRecord>& child : children_) {
    absl::MutexLock cl(&child->mu);
    if (!child->watch.Poll().has_value()) running.push_back(child);
  }
  children_ = running;
  return running;
}

Identity ProcessTable::Self() {
  std::lock_guard<std::mutex> l(mu_);
  return Identity{name_, getpid(), parent_pid_, daemon_};
}

void ProcessTable::RunExitHandler() {
  std::vector<std::shared_ptr<ChildRecord>> running = Sweep();
  for (const std::shared_ptr<ChildRecord>& child : running) {
    if (!child->daemon) continue;
    absl::MutexLock cl(&child->mu);
    child->watch.Signal(SIGTERM).IgnoreError();
  }
  for (const std::shared_ptr<ChildRecord>& child : running) {
    absl::MutexLock cl(&child->mu);
    child->watch.Wait(absl::InfiniteFuture()).IgnoreError();
  }
  Sweep();
}

}  // namespace process_internal
}  // namespace mproc
