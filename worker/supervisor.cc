#include "worker/supervisor.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/flagfile.h"
#include "worker/builtin_tasks.h"
#include "worker/process/process.h"
#include "worker/process/process_group.h"
#include "worker/worker_loop.h"

namespace mproc {
namespace {

// Kills what the tasks of dead workers left behind. The supervisor is a
// subreaper, so a process orphaned inside a worker's task (the children of
// an exec command) becomes its child. Such an orphan goes with its process
// group once the group's leader — the command, which dies with its worker
// (PR_SET_PDEATHSIG) or has exited — is gone; a group whose command still
// runs is left alone, and so is anything in the supervisor's own group.
void KillOrphans(const std::vector<pid_t>& workers) {
  std::ifstream children(
      absl::StrCat("/proc/self/task/", getpid(), "/children"));
  pid_t pid;
  while (children >> pid) {
    if (std::find(workers.begin(), workers.end(), pid) != workers.end()) {
      continue;
    }
    const pid_t group = getpgid(pid);
    if (group <= 0 || group == getpgrp() || group == pid) continue;
    if (kill(group, 0) == 0 || errno != ESRCH) continue;  // command runs
    kill(-group, SIGKILL);
  }
}

}  // namespace

int RunSupervisor(const WorkerOptions& options) {
  ProcessGroupOptions group;
  group.processes = options.processes > 0 ? options.processes : CpuCount();
  group.name = "mproc worker";
  group.grace = options.grace;
  // Orphans of dead workers' tasks come to us (KillOrphans).
  group.subreaper = true;
  std::cout << "mproc worker: " << group.processes
            << (group.processes == 1 ? " process" : " processes")
            << " for pool '" << options.pool << "' on " << options.manager
            << (options.allow_exec ? " (exec allowed)" : "") << std::endl;
  ProcessGroupHooks hooks;
  hooks.child = [&options](int) { return RunWorkerLoop(options); };
  hooks.tick = KillOrphans;
  return RunProcessGroup(group, hooks);
}

int WorkerMain(int argc, char** argv) {
  AddBuiltinTasks(TaskRegistry::Global());
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kWorkerUsage;
      return 0;
    }
    args.push_back(arg);
  }
  // --flagfile FILE: its flags in place of it (a worker binary of the
  // user's own gets here without the mproc command's expansion).
  absl::StatusOr<std::vector<std::string>> expanded = ExpandFlagfiles(args);
  if (!expanded.ok()) {
    std::cerr << "mproc worker: " << expanded.status().message() << std::endl;
    return 2;
  }
  absl::StatusOr<WorkerOptions> options = ParseWorkerFlags(*expanded);
  if (!options.ok()) {
    std::cerr << "mproc worker: " << options.status().message() << std::endl;
    return 2;
  }
  // The key is in memory now; no process or command started from here on
  // inherits it.
  unsetenv("MPROC_AUTHKEY");
  LogOptions log = options->log;
  log.component = "worker";
  ConfigureLog(log);
  return RunSupervisor(*options);
}

}  // namespace mproc
