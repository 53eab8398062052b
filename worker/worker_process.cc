#include "worker/worker_process.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "client/task_wire.h"
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

// Ends the process if the current task outlives its deadline.
class Watchdog {
 public:
  Watchdog() : thread_([this] { Loop(); }) { thread_.detach(); }

  void Arm(absl::Time deadline, int64_t task_id) {
    absl::MutexLock l(&mu_);
    deadline_ = deadline;
    task_id_ = task_id;
  }
  void Disarm() {
    absl::MutexLock l(&mu_);
    deadline_ = absl::InfiniteFuture();
  }

 private:
  void Loop() {
    absl::MutexLock l(&mu_);
    for (;;) {
      const absl::Time deadline = deadline_;
      auto changed = [this, deadline]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return deadline_ != deadline;
      };
      if (mu_.AwaitWithDeadline(absl::Condition(&changed), deadline)) continue;
      if (absl::Now() < deadline_) continue;
      std::cerr << "mproc worker " << getpid() << ": task " << task_id_
                << " ran past its timeout; this process ends" << std::endl;
      _exit(kExitTaskTimeout);
    }
  }

  absl::Mutex mu_;
  absl::Time deadline_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  int64_t task_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// The tasks a process took but has not started. When the running task
// outlives `patience` while others wait behind it, a thread of its own
// hands those back to the manager, so a batch of cheap-looking tasks
// never holds the rest hostage behind an expensive one.
class LocalQueue {
 public:
  LocalQueue(const PoolProxy* proxy, absl::Duration patience)
      : proxy_(proxy), patience_(patience) {
    if (patience_ > absl::ZeroDuration()) {
      std::thread([this] { Loop(); }).detach();
    }
  }

  void Fill(std::deque<WorkItem> items) {
    absl::MutexLock l(&mu_);
    items_ = std::move(items);
  }
  // The next task to run (marking it running), or nullopt.
  std::optional<WorkItem> Next() {
    absl::MutexLock l(&mu_);
    running_since_ = absl::InfiniteFuture();
    if (items_.empty()) return std::nullopt;
    WorkItem item = std::move(items_.front());
    items_.pop_front();
    running_since_ = absl::Now();
    return item;
  }
  // Everything not started, for a stopping process to give back.
  List TakeAll() {
    absl::MutexLock l(&mu_);
    List ids;
    for (const WorkItem& item : items_) ids.push_back(item.task_id);
    items_.clear();
    return ids;
  }

 private:
  void Loop() {
    absl::MutexLock l(&mu_);
    for (;;) {
      const absl::Time since = running_since_;
      auto changed = [this, since]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return running_since_ != since;
      };
      const absl::Time due = items_.empty() || since == absl::InfiniteFuture()
                                 ? absl::InfiniteFuture()
                                 : since + patience_;
      if (mu_.AwaitWithDeadline(absl::Condition(&changed), due)) continue;
      if (items_.empty()) continue;
      List ids;
      for (const WorkItem& item : items_) ids.push_back(item.task_id);
      items_.clear();
      mu_.Unlock();
      (void)proxy_->WorkerNext(Map{}, {}, ids, 0);
      mu_.Lock();
    }
  }

  const PoolProxy* const proxy_;
  const absl::Duration patience_;
  absl::Mutex mu_;
  std::deque<WorkItem> items_ ABSL_GUARDED_BY(mu_);
  absl::Time running_since_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
};

// The stop signals, taken by a thread of their own.
class StopSignals {
 public:
  StopSignals() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    std::thread([this] {
      int signal_number = 0;
      sigwait(&set_, &signal_number);
      std::optional<PoolProxy> proxy;
      {
        absl::MutexLock l(&mu_);
        stopping_ = true;
        proxy = proxy_;
      }
      // Answers a waiting worker_next with [], so the main loop sees it.
      if (proxy.has_value()) (void)proxy->WorkerStop();
    }).detach();
  }
  bool stopping() {
    absl::MutexLock l(&mu_);
    return stopping_;
  }
  void set_proxy(const PoolProxy& proxy) {
    absl::MutexLock l(&mu_);
    proxy_ = proxy;
  }
  // Sleeps up to `d`, returning early once stopping.
  void SleepFor(absl::Duration d) {
    absl::MutexLock l(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), d);
  }

 private:
  sigset_t set_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<PoolProxy> proxy_ ABSL_GUARDED_BY(mu_);
};

// Reports `done`; results over the manager's message limit are replaced
// by a ResultTooLarge error, one by one.
absl::Status Report(const PoolProxy& proxy, const Map& info, List& done,
                    const RunnerContext& context) {
  absl::StatusOr<List> r = proxy.WorkerNext(info, done, {}, 0);
  if (r.ok() || r.status().code() != absl::StatusCode::kResourceExhausted) {
    if (r.ok()) done.clear();
    return r.status();
  }
  for (Value& result : done) {
    absl::StatusOr<List> one = proxy.WorkerNext(info, {result}, {}, 0);
    if (one.ok()) continue;
    if (one.status().code() != absl::StatusCode::kResourceExhausted) {
      return one.status();
    }
    TaskOutcome too_large;
    too_large.code = absl::StatusCode::kResourceExhausted;
    too_large.error = TaskError{
        "ResultTooLarge",
        absl::StrCat("the result is over the manager's message limit: ",
                     one.status().message()),
        context.host, context.pid};
    absl::StatusOr<List> replaced = proxy.WorkerNext(
        info,
        {EncodeResult(TaskResult{result.list_value()[0].int_value(),
                                 std::move(too_large)})},
        {}, 0);
    if (!replaced.ok()) return replaced.status();
  }
  done.clear();
  return absl::OkStatus();
}

}  // namespace

int RunWorkerProcess(const WorkerOptions& options) {
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
  for (const std::string& name : options.registry->Names()) names.push_back(name);
  const Map info{{"host", context.host},
                 {"pid", context.pid},
                 {"tasks", std::move(names)},
                 {"prefetch", options.prefetch},
                 {"batch_us", absl::ToInt64Microseconds(options.batch)}};

  // Connect, retrying while the manager is not there.
  std::unique_ptr<Manager> manager;
  std::optional<PoolProxy> proxy;
  absl::Duration backoff = absl::Milliseconds(100);
  bool complained = false;
  while (!signals.stopping()) {
    ConnectOptions connect;
    connect.authkey = options.authkey;
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
      std::cerr << "mproc worker " << context.pid << ": " << s.message()
                << std::endl;
      return 1;
    }
    if (!complained) {
      std::cerr << "mproc worker " << context.pid << ": waiting for the manager ("
                << s.message() << ")" << std::endl;
      complained = true;
    }
    signals.SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
  if (!proxy.has_value()) return 0;  // stopped before connecting
  signals.set_proxy(*proxy);

  if (options.initializer || !options.initializer_task.empty()) {
    absl::Status init = absl::OkStatus();
    if (options.initializer) init = options.initializer();
    if (init.ok() && !options.initializer_task.empty()) {
      TaskOutcome outcome =
          RunTask(context, options.initializer_task, List{}, Map{});
      init = OutcomeStatus(outcome, options.initializer_task, 0);
    }
    if (!init.ok()) {
      std::cerr << "mproc worker " << context.pid
                << ": initializer failed: " << init.message() << std::endl;
      return kExitInitializerFailed;
    }
  }

  Watchdog watchdog;
  LocalQueue local(&*proxy, 2 * options.batch);
  List done;
  int64_t tasks_run = 0;
  backoff = absl::Milliseconds(100);
  for (;;) {
    // The manager decides how many (prefetch, cheap batches, fair share);
    // maxtasksperchild caps it.
    int64_t want = int64_t{1} << 30;
    if (options.maxtasksperchild > 0) {
      want = options.maxtasksperchild - tasks_run;
    }
    if (signals.stopping() || want <= 0) break;
    absl::StatusOr<List> items = proxy->WorkerNext(info, done, {}, want);
    if (!items.ok()) {
      if (items.status().code() == absl::StatusCode::kResourceExhausted) {
        (void)Report(*proxy, info, done, context);  // shrinks what is too big
        continue;
      }
      // Unreachable manager: keep the results and try again.
      signals.SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(2));
      continue;
    }
    backoff = absl::Milliseconds(100);
    done.clear();
    std::deque<WorkItem> batch;
    for (const Value& encoded : *items) {
      absl::StatusOr<WorkItem> item = DecodeWorkItem(encoded);
      if (item.ok()) {
        batch.push_back(*std::move(item));
        continue;
      }
      // Arguments this process cannot unpack: an error result, not a crash.
      if (encoded.is_list() && !encoded.list_value().empty() &&
          encoded.list_value()[0].is_int()) {
        TaskResult bad;
        bad.task_id = encoded.list_value()[0].int_value();
        bad.outcome.code = absl::StatusCode::kInvalidArgument;
        bad.outcome.error = TaskError{"ArgumentError",
                                      std::string(item.status().message()),
                                      context.host, context.pid};
        done.push_back(EncodeResult(bad));
      }
    }
    local.Fill(std::move(batch));
    while (std::optional<WorkItem> item = local.Next()) {
      if (signals.stopping()) {
        // Not started: back to the queue with the rest.
        List returned = local.TakeAll();
        returned.push_back(item->task_id);
        (void)proxy->WorkerNext(info, done, returned, 0);
        done.clear();
        break;
      }
      if (item->spec.timeout_seconds > 0) {
        watchdog.Arm(absl::Now() + absl::Seconds(item->spec.timeout_seconds) +
                         kTimeoutMargin,
                     item->task_id);
      }
      const absl::Time start = absl::Now();
      TaskResult result;
      result.task_id = item->task_id;
      result.outcome = RunWorkItem(context, *item);
      result.run_us = absl::ToInt64Microseconds(absl::Now() - start);
      watchdog.Disarm();
      done.push_back(EncodeResult(result));
      ++tasks_run;
    }
  }
  // Final report, retried briefly if the manager is away.
  for (int attempt = 0; attempt < 20 && !done.empty(); ++attempt) {
    if (Report(*proxy, info, done, context).ok()) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return 0;
}

}  // namespace mproc
