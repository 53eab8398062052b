// Synchronisation from the shell: `mproc lock NAME -- CMD...` (like
// flock(1)), `mproc semaphore NAME -- CMD...` and `mproc barrier wait NAME`.
// The lock or permit belongs to this CLI's session with the manager: it is
// released when the command ends, or by the manager after the session
// lease if the CLI dies; the command is started to die with the CLI, so it
// never runs on without what it was started under.
#include <signal.h>

#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/command_line.h"
#include "client/manager.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace cli {
namespace {

constexpr char kLockUsage[] =
    R"(usage: mproc lock NAME [--timeout S] -- CMD [ARGS...]

Runs CMD while holding the manager's Lock NAME, like flock(1): waits for
the lock (for ever, or up to --timeout S seconds; 0: try once), runs CMD
with MPROC_FENCING_TOKEN set to the grant's fencing token (increasing with
every grant: a resource can refuse a stale holder), releases the lock when
CMD exits and exits with CMD's code. If this CLI dies, the manager
releases the lock after the session lease and CMD is killed with it.
Exit 1 if the lock was not taken within the timeout.
)";

constexpr char kSemaphoreUsage[] =
    R"(usage: mproc semaphore NAME [--value N] [--timeout S] -- CMD [ARGS...]

Runs CMD while holding one permit of the manager's Semaphore NAME (made
with N permits, default 1, if missing): at most N such commands run at
once, anywhere. Waits for a permit (for ever, or up to --timeout S; 0: try
once), releases it when CMD exits and exits with CMD's code. Exit 1 if no
permit came within the timeout.
)";

constexpr char kBarrierUsage[] =
    R"(usage: mproc barrier wait NAME --parties N [--timeout S]

Waits at the manager's Barrier NAME (made for N parties if missing) until
N callers wait there, then prints this caller's arrival index (0 for the
first). Exit 1 if the barrier broke (its timeout passed, or it was
aborted).
)";

// The command after NAME (and the "--" that ends the flags).
std::vector<std::string> CommandOf(const CommandLine& cl, size_t first) {
  return std::vector<std::string>(cl.positional.begin() + first,
                                  cl.positional.end());
}

// Runs `argv` with MPROC_FENCING_TOKEN (when `token` is set), the CLI
// ignoring SIGINT and SIGTERM meanwhile so that it outlives the command
// (the terminal's Ctrl-C reaches the command) and releases what it holds.
// The command's exit code, 128+N if signal N killed it; or the error.
absl::StatusOr<int> RunHolding(std::vector<std::string> argv,
                               std::optional<int64_t> token) {
  PopenOptions options;
  options.die_with_parent = true;
  if (token) options.env["MPROC_FENCING_TOKEN"] = absl::StrCat(*token);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &ignore, &old_int);
  sigaction(SIGTERM, &ignore, &old_term);
  absl::StatusOr<int> code = [&]() -> absl::StatusOr<int> {
    absl::StatusOr<std::unique_ptr<Popen>> child =
        Popen::Start(std::move(argv), options);
    if (!child.ok()) return child.status();
    return (*child)->Wait();
  }();
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  if (!code.ok()) return code;
  return *code >= 0 ? *code : 128 - *code;
}

// What a holding command took: how to give it back, and the token the
// command gets in MPROC_FENCING_TOKEN (a lock's).
struct Holding {
  std::function<absl::Status()> release;
  std::optional<int64_t> token;
};

// Takes the object named NAME within `timeout`: the Holding, nullopt if
// not within the timeout, or the error.
using Take = std::function<absl::StatusOr<std::optional<Holding>>(
    Manager& manager, const std::string& name, absl::Duration timeout)>;

// `mproc lock|semaphore NAME [--timeout S] -- CMD...`: takes, runs CMD,
// gives back; CMD's exit code. `refusal` ends "NAME ... within the
// timeout".
int RunWhileHolding(const CommandLine& cl, const char* usage,
                    const char* refusal, const Take& take) {
  if (cl.help) {
    std::cout << usage;
    return kExitOk;
  }
  if (cl.positional.size() < 3) return Fail(kExitUsage, usage);
  absl::StatusOr<absl::Duration> timeout = TimeoutFlag(cl, true);
  if (!timeout.ok()) {
    return Fail(kExitUsage, std::string(timeout.status().message()));
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  const std::string& name = cl.positional[1];
  absl::StatusOr<std::optional<Holding>> held = take(**manager, name, *timeout);
  if (!held.ok()) return FailStatus(held.status());
  if (!held->has_value()) {
    return Fail(kExitFailed, absl::StrCat(cl.positional[0], " '", name, "' ",
                                          refusal, " within the timeout"));
  }
  absl::StatusOr<int> code = RunHolding(CommandOf(cl, 2), (*held)->token);
  absl::Status released = (*held)->release();
  if (!code.ok()) return FailStatus(code.status());
  // Lost while the command ran (the CLI was paused past the lease): say
  // so, and fail even if the command succeeded.
  if (!released.ok()) return FailStatus(released);
  return *code;
}

}  // namespace

int RunLockCommand(const CommandLine& cl) {
  return RunWhileHolding(
      cl, kLockUsage, "was not taken",
      [](Manager& manager, const std::string& name,
         absl::Duration timeout) -> absl::StatusOr<std::optional<Holding>> {
        absl::StatusOr<LockProxy> lock = manager.Lock(name);
        if (!lock.ok()) return lock.status();
        absl::StatusOr<int64_t> token = lock->AcquireToken(timeout);
        if (!token.ok()) return token.status();
        if (*token == 0) return std::nullopt;
        return Holding{[lock = *lock] { return lock.Release(); }, *token};
      });
}

int RunSemaphoreCommand(const CommandLine& cl) {
  int64_t value = 1;
  if (auto flag = cl.Flag("value")) {
    if (!absl::SimpleAtoi(*flag, &value) || value < 1) {
      return Fail(kExitUsage, "--value must be a whole number >= 1");
    }
  }
  return RunWhileHolding(
      cl, kSemaphoreUsage, "gave no permit",
      [value](Manager& manager, const std::string& name, absl::Duration timeout)
          -> absl::StatusOr<std::optional<Holding>> {
        absl::StatusOr<SemaphoreProxy> semaphore =
            manager.Semaphore(name, value);
        if (!semaphore.ok()) return semaphore.status();
        absl::StatusOr<bool> taken = semaphore->Acquire(timeout);
        if (!taken.ok()) return taken.status();
        if (!*taken) return std::nullopt;
        return Holding{[semaphore = *semaphore] { return semaphore.Release(); },
                       std::nullopt};
      });
}

int RunBarrierCommand(const CommandLine& cl) {
  if (cl.help) {
    std::cout << kBarrierUsage;
    return kExitOk;
  }
  if (cl.positional.size() != 3 || cl.positional[1] != "wait" ||
      !cl.Flag("parties")) {
    return Fail(kExitUsage, kBarrierUsage);
  }
  int64_t parties = 0;
  if (!absl::SimpleAtoi(*cl.Flag("parties"), &parties) || parties < 1) {
    return Fail(kExitUsage, "--parties must be a whole number >= 1");
  }
  absl::StatusOr<absl::Duration> timeout = TimeoutFlag(cl);
  if (!timeout.ok()) {
    return Fail(kExitUsage, std::string(timeout.status().message()));
  }
  absl::StatusOr<std::unique_ptr<Manager>> manager = ConnectFromFlags(cl);
  if (!manager.ok()) return FailStatus(manager.status());
  absl::StatusOr<BarrierProxy> barrier =
      (*manager)->Barrier(cl.positional[2], parties);
  if (!barrier.ok()) return FailStatus(barrier.status());
  std::optional<absl::Duration> wait;
  if (*timeout != absl::InfiniteDuration()) wait = *timeout;
  absl::StatusOr<int64_t> index = barrier->Wait(wait);
  if (!index.ok()) {
    // Broken, by its timeout or an abort: like a wait that timed out.
    if (IsBrokenBarrier(index.status()) ||
        index.status().code() == absl::StatusCode::kDeadlineExceeded) {
      return Fail(kExitFailed, ErrorText(index.status()));
    }
    return FailStatus(index.status());
  }
  std::cout << *index << std::endl;
  return kExitOk;
}

}  // namespace cli
}  // namespace mproc
