#include "worker/process/internal/process_table.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
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

ProcessTable::ProcessTable() : state_(std::make_unique<State>()) {
  state_->parent_pid = getppid();
  // absl's lock-order checking (on in Debian's build) updates a global
  // graph on every lock: pages a forking parent then faults on after each
  // fork. The client library turns it off the same way.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

std::pair<int, std::string> ProcessTable::NextChild() {
  ForkSafeLock l(&mu_);
  int number = ++state_->children_numbered;
  std::string digits = absl::StrJoin(state_->numbers, ":");
  return {number,
          absl::StrCat("Process-", digits, digits.empty() ? "" : ":", number)};
}

absl::StatusOr<std::shared_ptr<ChildRecord>> ProcessTable::Fork(
    int number, const std::string& name, bool daemon,
    const std::function<int()>& body) {
  ForkSafeLock l(&mu_);
  SweepLocked();
  if (!exit_handler_registered_) {
    atexit(ExitHandlerTrampoline);
    exit_handler_registered_ = true;
  }
  auto child_state = std::make_unique<State>();
  child_state->numbers = state_->numbers;
  child_state->numbers.push_back(number);
  child_state->name = name;
  child_state->parent_pid = getpid();
  child_state->daemon = daemon;
  FlushStdio();
  pid_t pid = fork();
  if (pid < 0) {
    return ErrnoStatus(errno, absl::StrCat("fork for process ", name));
  }
  if (pid == 0) {
    BecomeChild(std::move(child_state));
    l.Release();
    int code = body();
    RunExitHandler();
    FlushStdio();
    _exit(code & 0xff);
  }
  auto record = std::make_shared<ChildRecord>(name, daemon, pid);
  state_->children.push_back(record);
  return record;
}

void ProcessTable::BecomeChild(std::unique_ptr<State> state) {
  if (state->daemon) {
    // Dies with the parent even if the parent is SIGKILLed. If the parent
    // died between fork and prctl, nobody would deliver the signal: check.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != state->parent_pid) _exit(1);
  }
  // The parent's children are not ours: close their pidfds (no lock — this
  // process has one thread) and leak the records without touching their
  // mutexes, which another thread of the parent may have held at fork.
  for (const std::shared_ptr<ChildRecord>& child : state_->children) {
    if (child->watch.pidfd() >= 0) ::close(child->watch.pidfd());
  }
  state_.release();  // leaked on purpose, as above
  state_ = std::move(state);
}

std::vector<std::shared_ptr<ChildRecord>> ProcessTable::Sweep() {
  ForkSafeLock l(&mu_);
  SweepLocked();
  return state_->children;
}

void ProcessTable::SweepLocked() {
  // In place: keeps the vector's capacity, so a Start/Join loop allocates
  // nothing here (every page a parent writes costs a fault after a fork).
  auto& children = state_->children;
  children.erase(std::remove_if(children.begin(), children.end(),
                                [](const std::shared_ptr<ChildRecord>& child) {
                                  return child->watch.Poll().has_value();
                                }),
                 children.end());
}

Identity ProcessTable::Self() {
  ForkSafeLock l(&mu_);
  return Identity{state_->name, getpid(), state_->parent_pid, state_->daemon};
}

void ProcessTable::RunExitHandler() {
  std::vector<std::shared_ptr<ChildRecord>> running = Sweep();
  for (const std::shared_ptr<ChildRecord>& child : running) {
    if (!child->daemon) continue;
    child->watch.Signal(SIGTERM).IgnoreError();
  }
  for (const std::shared_ptr<ChildRecord>& child : running) {
    child->watch.Wait(absl::InfiniteFuture()).IgnoreError();
  }
  Sweep();
}

}  // namespace process_internal
}  // namespace mproc
