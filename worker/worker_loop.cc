#include "worker/worker_loop.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "common/log.h"
#include "common/task_wire.h"
#include "worker/task_feed.h"
#include "worker/task_runner.h"

namespace mproc {
namespace {

// A task's timeout is the manager's to declare; the process ends only a
// little later, so the manager's verdict (TimeoutError) comes first.
constexpr absl::Duration kTimeoutMargin = absl::Milliseconds(200);

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// How often a running task's process checks that it still holds the task.
constexpr absl::Duration kFenceInterval = absl::Seconds(1);

// A task held in hand longer than this is started only once the manager
// confirms it is still this process's (not cancelled, timed out or taken
// back meanwhile). Tasks taken in a batch of cheap ones start sooner and
// skip the round trip.
constexpr absl::Duration kStartCheckAfter = absl::Milliseconds(50);

// How long a process that must end waits to give its tasks in hand back.
constexpr absl::Duration kAbandonPatience = absl::Seconds(1);

// Ends the process if the current task outlives its deadline, or if the
// process lost the task (it was cancelled, or its stream to the manager
// ended while the task ran: `lost(task_id, attempt)` says so, and may wait
// on the manager). Each on a thread of its own, so a slow check never
// delays a timeout. `before_exit` runs first (it gives back the tasks in
// hand, which are not at fault, waiting at most about a second), with this
// watchdog's lock held until the process exits: the runner cannot finish
// its task and tear down what `before_exit` uses meanwhile.
class Watchdog {
 public:
  Watchdog(std::function<bool(int64_t task_id, int64_t attempt)> lost,
           std::function<void()> before_exit)
      : lost_(std::move(lost)),
        before_exit_(std::move(before_exit)),
        deadlines_([this] { DeadlineLoop(); }),
        fence_([this] { FenceLoop(); }) {}
  ~Watchdog() {
    {
      absl::MutexLock l(&mu_);
      stopped_ = true;
    }
    deadlines_.join();
    fence_.join();
  }

  // A task starts (`deadline`: infinite without a timeout).
  void Arm(absl::Time deadline, int64_t task_id, int64_t attempt) {
    absl::MutexLock l(&mu_);
    deadline_ = deadline;
    task_id_ = task_id;
    attempt_ = attempt;
    running_ = true;
  }
  void Disarm() {
    absl::MutexLock l(&mu_);
    deadline_ = absl::InfiniteFuture();
    running_ = false;
  }

 private:
  void DeadlineLoop() {
    absl::MutexLock l(&mu_);
    for (;;) {
      const absl::Time deadline = deadline_;
      auto changed = [this, deadline]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return deadline_ != deadline || stopped_;
      };
      const bool woken =
          mu_.AwaitWithDeadline(absl::Condition(&changed), deadline);
      if (stopped_) return;
      if (woken || absl::Now() < deadline_) continue;
      Log(LogLevel::kWarning, "task_timed_out",
          absl::StrCat("task ", task_id_,
                       " ran past its timeout; this process ends"),
          {{"task_id", task_id_}});
      before_exit_();
      _exit(kExitTaskTimeout);
    }
  }

  // About once a second while a task runs: is it still ours?
  void FenceLoop() {
    absl::MutexLock l(&mu_);
    for (;;) {
      auto stop_or_run = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopped_ || running_;
      };
      mu_.Await(absl::Condition(&stop_or_run));
      if (stopped_) return;
      const int64_t task = task_id_;
      const int64_t attempt = attempt_;
      mu_.AwaitWithTimeout(absl::Condition(&stopped_), kFenceInterval);
      if (stopped_) return;
      // That hand-out finished (the same task may run again: a retry).
      auto same = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return running_ && task_id_ == task && attempt_ == attempt;
      };
      if (!same()) continue;
      mu_.Unlock();
      const bool lost = lost_(task, attempt);
      mu_.Lock();
      if (lost && same()) {
        Log(LogLevel::kWarning, "fenced",
            absl::StrCat("the manager took task ", task,
                         " back (it was cancelled, or this process was "
                         "declared lost: paused or cut off); this process "
                         "ends"),
            {{"task_id", task}});
        before_exit_();
        _exit(kExitFenced);
      }
    }
  }

  absl::Mutex mu_;
  const std::function<bool(int64_t, int64_t)> lost_;
  const std::function<void()> before_exit_;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t task_id_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t attempt_ ABSL_GUARDED_BY(mu_) = 0;
  bool running_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  // Last: they start once the state above exists.
  std::thread deadlines_;
  std::thread fence_;
};

// The stop signals, taken by a thread of their own.
class StopSignals {
 public:
  StopSignals() : state_(std::make_shared<State>()) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    // The thread keeps the state alive: it may still be waiting for a
    // signal (and then take the lock) after this object is gone, while the
    // process exits. (Found by TSan: a lock of a destroyed mutex.)
    std::thread([set, state = state_] {
      int signal_number = 0;
      sigwait(&set, &signal_number);
      // Under the lock, so the hook's owner can clear it and go away.
      absl::MutexLock l(&state->mu);
      state->stopping = true;
      if (state->on_stop) state->on_stop();
    }).detach();
  }
  bool stopping() {
    absl::MutexLock l(&state_->mu);
    return state_->stopping;
  }
  // Runs `on_stop` at the stop signal (at once if it came already).
  void OnStop(std::function<void()> on_stop) {
    absl::MutexLock l(&state_->mu);
    state_->on_stop = std::move(on_stop);
    if (state_->stopping && state_->on_stop) state_->on_stop();
  }
  void ClearOnStop() {
    absl::MutexLock l(&state_->mu);
    state_->on_stop = nullptr;
  }
  // Sleeps up to `d`, returning early once stopping.
  void SleepFor(absl::Duration d) {
    absl::MutexLock l(&state_->mu);
    state_->mu.AwaitWithTimeout(absl::Condition(&state_->stopping), d);
  }

 private:
  struct State {
    absl::Mutex mu;
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::function<void()> on_stop ABSL_GUARDED_BY(mu);
  };
  const std::shared_ptr<State> state_;
};

}  // namespace

int RunWorkerLoop(const WorkerOptions& options) {
  StopSignals signals;  // before any other thread exists
  sigset_t child;
  sigemptyset(&child);
  sigaddset(&child, SIGCHLD);
  pthread_sigmask(SIG_UNBLOCK, &child, nullptr);

  // Timers of this process (sleeps, timeouts) fire when due, not up to
  // 50 µs later: short tasks are what a pool runs most.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

  RunnerContext context;
  context.registry = options.registry;
  context.host = HostName();
  context.pid = getpid();
  context.allow_exec = options.allow_exec;

  List names;
  for (const std::string& name : options.registry->Names())
    names.push_back(name);
  const Map info{{"host", context.host},
                 {"pid", context.pid},
                 {"tasks", std::move(names)},
                 {"prefetch", options.prefetch},
                 {"batch_us", absl::ToInt64Microseconds(options.batch)},
                 // Its results name their hand-out (WorkItem::attempt).
                 {"handouts", true}};

  // Connect, retrying while the manager is not there.
  std::unique_ptr<Manager> manager;
  std::optional<PoolProxy> proxy;
  absl::Duration backoff = absl::Milliseconds(100);
  bool complained = false;
  while (!signals.stopping()) {
    ConnectOptions connect;
    connect.authkey = options.authkey;
    connect.no_auth = options.no_auth;
    connect.user = options.user;
    connect.tls_ca = options.tls_ca;
    connect.tls_cert = options.tls_cert;
    connect.tls_key = options.tls_key;
    connect.tls_server_name = options.tls_server_name;
    absl::StatusOr<std::unique_ptr<Manager>> m =
        Manager::Connect(options.manager, connect);
    absl::Status s = m.status();
    if (m.ok()) {
      absl::StatusOr<PoolProxy> p = (*m)->PoolCalls(options.pool);
      s = p.status();
      if (p.ok()) {
        manager = *std::move(m);
        proxy = *p;
        break;
      }
    }
    if (s.code() == absl::StatusCode::kUnauthenticated ||
        s.code() == absl::StatusCode::kFailedPrecondition ||
        s.code() == absl::StatusCode::kInvalidArgument) {
      Log(LogLevel::kError, "refused", std::string(s.message()));
      return 1;
    }
    if (!complained) {
      Log(LogLevel::kWarning, "waiting_for_manager",
          absl::StrCat("waiting for the manager (", s.message(), ")"),
          {{"manager", options.manager}});
      complained = true;
    }
    signals.SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
  if (!proxy.has_value()) return 0;  // stopped before connecting

  if (options.initializer || !options.initializer_task.empty()) {
    absl::Status init = absl::OkStatus();
    if (options.initializer) init = options.initializer();
    if (init.ok() && !options.initializer_task.empty()) {
      TaskOutcome outcome =
          RunTask(context, options.initializer_task, List{}, Map{});
      init = OutcomeStatus(outcome, options.initializer_task, 0);
    }
    if (!init.ok()) {
      Log(LogLevel::kError, "initializer_failed",
          absl::StrCat("initializer failed: ", init.message()));
      return kExitInitializerFailed;
    }
  }

  // The stream the running task was taken on; a new one means the manager
  // saw that one end, and took the task back.
  std::atomic<int64_t> task_stream{0};
  TaskFeed feed(*proxy, manager.get(), info, context, options.maxtasksperchild,
                2 * options.batch, kStartCheckAfter);
  Watchdog watchdog(
      [&manager, &proxy, &task_stream](int64_t task, int64_t attempt) {
        // One round trip: false once the task was cancelled or taken back
        // (a call on a new stream is answered false too). Only if it fails
        // does the stream check decide, as TasksStillHeld does for held
        // tasks.
        absl::StatusOr<bool> holds = proxy->WorkerHolds(task, attempt);
        if (!holds.ok()) return !TasksStillHeld(*manager, task_stream.load());
        return !*holds || manager->streams_opened() != task_stream.load();
      },
      [&feed] { feed.Abandon(kAbandonPatience); });
  signals.OnStop([&feed] { feed.Stop(); });
  int64_t stream = 0;
  while (std::optional<WorkItem> item = feed.NextTask(&stream)) {
    task_stream = stream;
    watchdog.Arm(item->spec.timeout_seconds > 0
                     ? absl::Now() + absl::Seconds(item->spec.timeout_seconds) +
                           kTimeoutMargin
                     : absl::InfiniteFuture(),
                 item->task_id, item->attempt);
    const absl::Time start = absl::Now();
    TaskResult result;
    result.task_id = item->task_id;
    result.attempt = item->attempt;
    result.outcome = RunWorkItem(context, *item);
    result.run_us = absl::ToInt64Microseconds(absl::Now() - start);
    watchdog.Disarm();
    feed.TaskDone(EncodeResult(result));
  }
  if (feed.fenced()) {
    Log(LogLevel::kWarning, "fenced",
        "the manager declared this process lost while it held tasks (paused "
        "or cut off); this process ends without starting them");
    _exit(kExitFenced);
  }
  feed.Finish();
  signals.ClearOnStop();
  return 0;
}

}  // namespace mproc
