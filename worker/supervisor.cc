#include "worker/supervisor.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "worker/process/process.h"
#include "worker/worker_loop.h"

namespace mproc {
namespace {

constexpr absl::Duration kQuickExit = absl::Seconds(1);
constexpr absl::Duration kRestartPause = absl::Seconds(1);

struct Slot {
  pid_t pid = 0;  // 0: not running
  absl::Time started;
  absl::Time restart_at = absl::InfinitePast();
};

pid_t Spawn(const WorkerOptions& options, const sigset_t& original_mask) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;  // the supervisor (or -1)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the supervisor died meanwhile
  pthread_sigmask(SIG_SETMASK, &original_mask, nullptr);
  _exit(RunWorkerLoop(options));
}

// Kills what the tasks of dead workers left behind. The supervisor is a
// subreaper, so a process orphaned inside a worker's task (the children of
// an exec command) becomes its child. Such an orphan goes with its process
// group once the group's leader — the command, which dies with its worker
// (PR_SET_PDEATHSIG) or has exited — is gone; a group whose command still
// runs is left alone, and so is anything in the supervisor's own group.
void KillOrphans(const std::vector<Slot>& slots) {
  std::ifstream children(
      absl::StrCat("/proc/self/task/", getpid(), "/children"));
  pid_t pid;
  while (children >> pid) {
    bool worker = false;
    for (const Slot& slot : slots) worker = worker || slot.pid == pid;
    if (worker) continue;
    const pid_t group = getpgid(pid);
    if (group <= 0 || group == getpgrp() || group == pid) continue;
    if (kill(group, 0) == 0 || errno != ESRCH) continue;  // command runs
    kill(-group, SIGKILL);
  }
}

std::string Describe(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

}  // namespace

int RunSupervisor(const WorkerOptions& options) {
  const int processes = options.processes > 0 ? options.processes : CpuCount();
  sigset_t watched, original;
  sigemptyset(&watched);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGCHLD);
  sigprocmask(SIG_BLOCK, &watched, &original);
  // Orphans of dead workers' tasks come to us (KillOrphans).
  prctl(PR_SET_CHILD_SUBREAPER, 1);

  std::cout << "mproc worker: " << processes << " processes for pool '"
            << options.pool << "' on " << options.manager
            << (options.allow_exec ? " (exec allowed)" : "") << std::endl;

  std::vector<Slot> slots(processes);
  bool stopping = false;
  absl::Time kill_at = absl::InfiniteFuture();
  auto running = [&] {
    int n = 0;
    for (const Slot& s : slots) n += s.pid > 0;
    return n;
  };
  for (;;) {
    const absl::Time now = absl::Now();
    KillOrphans(slots);
    if (!stopping) {
      for (Slot& slot : slots) {
        if (slot.pid > 0 || now < slot.restart_at) continue;
        const pid_t pid = Spawn(options, original);
        if (pid < 0) {
          std::cerr << "mproc worker: fork failed: " << std::strerror(errno)
                    << std::endl;
          slot.restart_at = now + kRestartPause;
          continue;
        }
        slot.pid = pid;
        slot.started = now;
      }
    } else if (running() == 0) {
      std::cout << "mproc worker: stopped" << std::endl;
      return 0;
    } else if (now >= kill_at) {
      for (Slot& slot : slots) {
        if (slot.pid > 0) kill(slot.pid, SIGKILL);
      }
      kill_at = absl::InfiniteFuture();
    }

    // Sleep until a signal, the next restart or the kill deadline.
    absl::Time wake = kill_at;
    for (const Slot& slot : slots) {
      if (slot.pid == 0 && !stopping) wake = std::min(wake, slot.restart_at);
    }
    const absl::Duration wait =
        std::clamp(wake - absl::Now(), absl::Milliseconds(1), absl::Seconds(1));
    const timespec ts = absl::ToTimespec(wait);
    siginfo_t info;
    const int signal_number = sigtimedwait(&watched, &info, &ts);
    if (signal_number == SIGCHLD || signal_number < 0) {
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (Slot& slot : slots) {
          if (slot.pid != pid) continue;
          slot.pid = 0;
          const absl::Time ended = absl::Now();
          if (!stopping) {
            std::cerr << "mproc worker: process " << pid << " "
                      << Describe(status) << "; starting another" << std::endl;
          }
          if (ended - slot.started < kQuickExit) {
            slot.restart_at = ended + kRestartPause;
          }
        }
      }
    } else if (signal_number == SIGTERM || signal_number == SIGINT) {
      if (!stopping) {
        stopping = true;
        kill_at = absl::Now() + options.grace;
        std::cout << "mproc worker: stopping (running tasks may finish; "
                     "signal again to kill)"
                  << std::endl;
        for (Slot& slot : slots) {
          if (slot.pid > 0) kill(slot.pid, SIGTERM);
        }
      } else {
        for (Slot& slot : slots) {
          if (slot.pid > 0) kill(slot.pid, SIGKILL);
        }
      }
    }
  }
}

int WorkerMain(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::cout << kWorkerUsage;
      return 0;
    }
    args.push_back(arg);
  }
  absl::StatusOr<WorkerOptions> options = ParseWorkerFlags(args);
  if (!options.ok()) {
    std::cerr << "mproc worker: " << options.status().message() << std::endl;
    return 2;
  }
  return RunSupervisor(*options);
}

}  // namespace mproc
