#include "worker/process/process_group.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"

namespace mproc {
namespace {

constexpr absl::Duration kQuickExit = absl::Seconds(1);
constexpr absl::Duration kRestartPause = absl::Seconds(1);

struct Slot {
  pid_t pid = 0;  // 0: not running
  absl::Time started;
  absl::Time restart_at = absl::InfinitePast();
  // Part of the generation being drained: not replaced.
  bool retiring = false;
};

pid_t Spawn(const ProcessGroupHooks& hooks, int slot,
            const sigset_t& original_mask) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid != 0) return pid;  // the arbiter (or -1)
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);  // the arbiter died meanwhile
  pthread_sigmask(SIG_SETMASK, &original_mask, nullptr);
  _exit(hooks.child(slot));
}

}  // namespace

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "stopped";
}

int RunProcessGroup(const ProcessGroupOptions& options,
                    const ProcessGroupHooks& hooks) {
  const int n = std::max(options.processes, 1);
  sigset_t watched, original;
  sigemptyset(&watched);
  sigaddset(&watched, SIGTERM);
  sigaddset(&watched, SIGINT);
  sigaddset(&watched, SIGCHLD);
  if (options.reload_on_sighup) sigaddset(&watched, SIGHUP);
  sigprocmask(SIG_BLOCK, &watched, &original);
  if (options.subreaper) prctl(PR_SET_CHILD_SUBREAPER, 1);

  std::vector<Slot> slots(2 * n);
  int live_half = 0;       // the generation that is replaced when it dies
  bool reloading = false;  // the new half starts; the old still serves
  absl::Time reload_deadline = absl::InfiniteFuture();
  bool stopping = false;
  absl::Time kill_at = absl::InfiniteFuture();
  absl::Time drain_kill_at = absl::InfiniteFuture();  // the old generation
  auto in_half = [n](int slot, int half) { return slot / n == half; };
  auto kill_all = [&](int signal_number, bool retiring_only) {
    for (Slot& s : slots) {
      if (s.pid > 0 && (!retiring_only || s.retiring))
        kill(s.pid, signal_number);
    }
  };

  for (;;) {
    const absl::Time now = absl::Now();
    std::vector<pid_t> live;
    for (const Slot& s : slots) {
      if (s.pid > 0) live.push_back(s.pid);
    }
    if (hooks.tick) hooks.tick(live);
    if (!stopping) {
      for (int i = 0; i < 2 * n; ++i) {
        Slot& slot = slots[i];
        if (!in_half(i, live_half) || slot.pid > 0 || slot.retiring ||
            now < slot.restart_at) {
          continue;
        }
        if (hooks.starting) hooks.starting(i);
        const pid_t pid = Spawn(hooks, i, original);
        if (pid < 0) {
          Log(LogLevel::kError, "fork_failed",
              absl::StrCat(options.name,
                           ": fork failed: ", std::strerror(errno)));
          slot.restart_at = now + kRestartPause;
          continue;
        }
        slot.pid = pid;
        slot.started = now;
      }
      if (reloading) {
        bool all_ready = true;
        for (int i = live_half * n; i < (live_half + 1) * n; ++i) {
          all_ready =
              all_ready && slots[i].pid > 0 && (!hooks.ready || hooks.ready(i));
        }
        if (all_ready || now >= reload_deadline) {
          reloading = false;
          std::cout << options.name
                    << ": new processes serve; the old ones drain" << std::endl;
          kill_all(SIGTERM, /*retiring_only=*/true);
          drain_kill_at = now + options.grace;
        }
      }
    } else if (live.empty()) {
      std::cout << options.name << ": stopped" << std::endl;
      return 0;
    }
    if (now >= kill_at) {
      kill_all(SIGKILL, /*retiring_only=*/false);
      kill_at = absl::InfiniteFuture();
    }
    if (now >= drain_kill_at) {
      kill_all(SIGKILL, /*retiring_only=*/true);
      drain_kill_at = absl::InfiniteFuture();
    }

    // Sleep until a signal, the next restart or a kill deadline.
    absl::Time wake = std::min(kill_at, drain_kill_at);
    for (int i = live_half * n; i < (live_half + 1) * n && !stopping; ++i) {
      if (slots[i].pid == 0 && !slots[i].retiring) {
        wake = std::min(wake, slots[i].restart_at);
      }
    }
    if (reloading) wake = std::min(wake, now + absl::Milliseconds(10));
    const absl::Duration wait =
        std::clamp(wake - absl::Now(), absl::Milliseconds(1), absl::Seconds(1));
    const timespec ts = absl::ToTimespec(wait);
    siginfo_t info;
    const int signal_number = sigtimedwait(&watched, &info, &ts);
    if (signal_number == SIGCHLD || signal_number < 0) {
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < 2 * n; ++i) {
          Slot& slot = slots[i];
          if (slot.pid != pid) continue;
          slot.pid = 0;
          if (hooks.ended) hooks.ended(i, pid, status);
          const absl::Time ended = absl::Now();
          if (slot.retiring) {
            slot.retiring = false;  // drained; free for a later reload
            continue;
          }
          if (!stopping) {
            Log(LogLevel::kWarning, "process_exited",
                absl::StrCat(options.name, ": process ", pid, " ",
                             DescribeWaitStatus(status), "; starting another"),
                {{"process", static_cast<int64_t>(pid)}});
          }
          slot.restart_at = ended - slot.started < kQuickExit
                                ? ended + kRestartPause
                                : absl::InfinitePast();
        }
      }
    } else if (signal_number == SIGHUP) {
      // The other half must be free: the generation before still drains.
      bool draining = false;
      for (int i = (1 - live_half) * n; i < (2 - live_half) * n; ++i) {
        draining = draining || slots[i].pid > 0;
      }
      if (draining || reloading) {
        std::cout << options.name
                  << ": a reload is still in progress; this one is ignored"
                  << std::endl;
      } else if (!stopping) {
        std::cout << options.name << ": reloading: starting new processes"
                  << std::endl;
        for (int i = live_half * n; i < (live_half + 1) * n; ++i) {
          slots[i].retiring = slots[i].pid > 0;
          slots[i].restart_at = absl::InfinitePast();
        }
        live_half = 1 - live_half;
        reloading = true;
        reload_deadline = absl::Now() + options.ready_limit;
      }
    } else if (signal_number == SIGTERM || signal_number == SIGINT) {
      if (!stopping) {
        stopping = true;
        reloading = false;
        kill_at = absl::Now() + options.grace;
        std::cout << options.name
                  << ": stopping (running work may finish; signal again to "
                     "kill)"
                  << std::endl;
        kill_all(SIGTERM, /*retiring_only=*/false);
      } else {
        kill_all(SIGKILL, /*retiring_only=*/false);
      }
    }
  }
}

}  // namespace mproc
