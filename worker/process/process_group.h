// A supervised group of pre-forked processes: the arbiter behind the worker
// daemon (worker/supervisor.h) and the pre-fork server (prefork_server.h).
//
// RunProcessGroup forks `processes` children, each running `child(slot)`
// in a slot of its own, and supervises them in the foreground:
// - a child that exits or dies is replaced in its slot (after a pause if
//   it lived under a second, so a child that cannot start does not spin);
// - SIGTERM or SIGINT: every child gets SIGTERM and `grace` to finish;
//   then SIGKILL. A second signal kills at once. Returns 0 once all ended;
// - SIGHUP (if `reload_on_sighup`): a new generation of children starts in
//   the other half of the slots; once each is `ready` (or after
//   `ready_limit`), the old generation gets SIGTERM and drains as above,
//   without being replaced.
// Children die with the arbiter (PR_SET_PDEATHSIG). The arbiter must be
// single-threaded when it forks (call it before creating threads).
#ifndef MPROC_WORKER_PROCESS_PROCESS_GROUP_H_
#define MPROC_WORKER_PROCESS_PROCESS_GROUP_H_

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace mproc {

struct ProcessGroupOptions {
  int processes = 1;
  // Prefix of the arbiter's messages ("mproc worker: process 123 ...").
  std::string name = "mproc";
  absl::Duration grace = absl::Seconds(30);
  bool reload_on_sighup = false;
  absl::Duration ready_limit = absl::Seconds(10);
  // Become the subreaper of the children's orphans (see `tick`).
  bool subreaper = false;
};

struct ProcessGroupHooks {
  // In the forked child, with the caller's signal mask: its work; returns
  // the exit code. Slots are 0 .. 2 * processes - 1 (two generations).
  std::function<int(int slot)> child;
  // In the arbiter, once per turn (at least once a second): the pids of
  // the live children (e.g. to reap their orphans).
  std::function<void(const std::vector<pid_t>& children)> tick;
  // In the arbiter: whether the child now in `slot` serves (for reload).
  // Unset: at once.
  std::function<bool(int slot)> ready;
  // In the arbiter: the child in `slot` is about to start / has ended.
  std::function<void(int slot)> starting;
  std::function<void(int slot, pid_t pid, int wait_status)> ended;
};

int RunProcessGroup(const ProcessGroupOptions& options,
                    const ProcessGroupHooks& hooks);

// "exited with code 3", "was killed by signal 9".
std::string DescribeWaitStatus(int wait_status);

}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_PROCESS_GROUP_H_
