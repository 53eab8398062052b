// The task pool when things go wrong, through real processes and real
// signals: killed and stuck workers, timeouts, recycling, fork, SIGTERM,
// exec permissions, message limits, result expiry, a restarted manager.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <thread>
#include <utility>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "common/task_wire.h"
#include "gtest/gtest.h"
#include "tests/integration/pool_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace testing {
namespace {

// SIGKILL of the process running a task: WorkerLost naming it, no hang,
// the task on the dead-letter list, and a new process serves the pool.
TEST_F(PoolTest, KilledWorkerProcessFailsItsTaskAndThePoolKeepsServing) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  AsyncResult r = pool->ApplyAsync("sleep", {60});
  auto busy = AwaitOneBusy();
  ASSERT_OK(busy);
  const int64_t pid = WorkerPids(*busy, true)[0];
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  auto lost = r.Get(absl::Seconds(10));
  EXPECT_CODE(lost, absl::StatusCode::kAborted);
  EXPECT_EQ(TaskErrorType(lost.status()), "WorkerLost");
  EXPECT_TRUE(absl::StrContains(lost.status().message(), std::to_string(pid)))
      << lost.status();
  auto again = pool->Apply("getpid");
  ASSERT_OK(again);
  EXPECT_NE(again->int_value(), pid);
  const Map status = StatusNow();
  EXPECT_EQ(status.at(Value("lost")), Value(1));
  ASSERT_EQ(status.at(Value("dead_letter")).list_value().size(), 1u);
}

TEST_F(PoolTest, KilledWorkerProcessWithRetriesLeftRunsTheTaskAgain) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  TaskOptions options;
  options.max_retries = 1;
  AsyncResult r =
      pool->ApplyAsync("worker", {5, 1.0}, {}, nullptr, nullptr, options);
  auto busy = AwaitOneBusy();
  ASSERT_OK(busy);
  const int64_t pid = WorkerPids(*busy, true)[0];
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  auto done = r.Get(absl::Seconds(20));
  ASSERT_OK(done);
  EXPECT_NE(PidOf(*done), pid);
  EXPECT_EQ(StatusNow().at(Value("retried")), Value(1));
}

// A task that kills its process every time is dead-lettered after
// max_retries + 1 losses instead of looping.
TEST_F(PoolTest, TaskThatKeepsKillingItsWorkerIsDeadLettered) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  TaskOptions options;
  options.max_retries = 2;
  auto crashed = pool->ApplyAsync("crash", {}, {}, nullptr, nullptr, options)
                     .Get(absl::Seconds(30));
  EXPECT_CODE(crashed, absl::StatusCode::kAborted);
  EXPECT_TRUE(absl::StrContains(crashed.status().message(), "3 times"))
      << crashed.status();
  const Map status = StatusNow();
  const List dead = status.at(Value("dead_letter")).list_value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].map_value().at(Value("losses")), Value(3));
  EXPECT_EQ(status.at(Value("retried")), Value(2));
  EXPECT_EQ(*pool->Apply("square", {2}), Value(4));
}

TEST_F(PoolTest, TaskOverItsTimeoutFailsAndItsProcessIsReplaced) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  const int64_t before = *pool->Apply("getpid")->As<int64_t>();
  TaskOptions options;
  options.timeout = absl::Milliseconds(300);
  const absl::Time start = absl::Now();
  auto late = pool->Apply("sleep", {60}, {}, options);
  EXPECT_CODE(late, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(TaskErrorType(late.status()), "TimeoutError");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  auto replaced = AwaitPoolStatus(*manager_, UniqueName(), [&](const Map& s) {
    auto pids = WorkerPids(s);
    return pids.size() == 1 && pids[0] != before;
  });
  EXPECT_OK(replaced);
  EXPECT_EQ(*pool->Apply("square", {3}), Value(9));
}

TEST_F(PoolTest, MaxTasksPerChildReplacesProcesses) {
  auto workers = StartWorkers(1, {"--maxtasksperchild", "2"});
  auto pool = OpenPool();
  std::vector<int64_t> pids;
  for (int i = 0; i < 6; ++i)
    pids.push_back(pool->Apply("getpid")->int_value());
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_EQ(pids[4], pids[5]);
  EXPECT_EQ(std::set<int64_t>(pids.begin(), pids.end()).size(), 3u);
}

// fork() while a task is in flight: the Pool steps aside for the fork
// (no wait for its pending call), the child's connection works and makes
// its own Pool, and the parent's task still completes.
TEST_F(PoolTest, ForkWhileATaskIsInFlightIsPromptAndBothSidesCarryOn) {
  auto workers = StartWorkers(2);
  auto pool = OpenPool();
  // Without the Pool stepping aside, fork() would wait for the task's
  // result (the Pool's call in flight), up to the fork guard's 5 s.
  AsyncResult slow = pool->ApplyAsync("worker", {9, 3.0});
  ASSERT_OK(AwaitOneBusy());
  const absl::Time before = absl::Now();
  const pid_t child = ForkChild([&] {
    auto dict = manager_->Dict(UniqueName("_dict"));
    if (!dict.ok() || !dict->Set("k", 1).ok()) return 2;
    auto own = manager_->Pool(UniqueName());
    if (!own.ok()) return 3;
    auto r = (*own)->Apply("identity", {4});
    return r.ok() && *r == Value(4) ? 0 : 4;
  });
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(1500));
  EXPECT_EQ(WaitChild(child), 0);
  auto done = slow.Get(absl::Seconds(10));
  ASSERT_OK(done);
  EXPECT_EQ(done->map_value().at(Value("msg")), Value(9));
  EXPECT_EQ(*pool->Apply("identity", {1}), Value(1));
}

// A task far longer than the manager's keepalive window (the suite's
// manager has a 2 s session lease: pings after 1 s of silence, dropped
// 1 s later) is not mistaken for a dead worker, and the waiting client is
// not dropped either.
TEST_F(PoolTest, LongTaskOutlivesTheKeepaliveWindow) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  auto done = pool->Apply("worker", {1, 5.0});
  ASSERT_OK(done);
  EXPECT_EQ(done->map_value().at(Value("msg")), Value(1));
  EXPECT_EQ(StatusNow().at(Value("lost")), Value(0));
}

// A worker SIGSTOPped mid-task past the keepalive is declared lost and its
// task queued again. Resumed, it finds out within about a second and ends
// itself (fencing) rather than finish a task that is no longer its own;
// the caller gets exactly one result, the retry's.
TEST_F(PoolTest, WorkerPausedPastTheKeepaliveEndsItselfAndItsTaskRunsOnce) {
  auto workers = StartWorkers(2);
  auto pool = OpenPool();
  TaskOptions options;
  options.max_retries = 1;
  AsyncResult paused =
      pool->ApplyAsync("worker", {7, 6.0}, {}, nullptr, nullptr, options);
  ASSERT_OK(AwaitOneBusy());
  const pid_t p1 =
      static_cast<pid_t>(WorkerPids(StatusNow(), /*busy_only=*/true)[0]);
  ASSERT_EQ(kill(p1, SIGSTOP), 0);
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("retried")) == Value(1);
  }));
  ASSERT_EQ(kill(p1, SIGCONT), 0);
  // Resumed with most of its 6 s task ahead, it fences itself.
  EXPECT_TRUE(testing::AwaitProcessGone(p1, absl::Seconds(5)));
  absl::StatusOr<Value> result = paused.Get(absl::Seconds(30));
  ASSERT_OK(result);
  EXPECT_EQ(result->map_value().at(Value("msg")), Value(7));
  EXPECT_NE(PidOf(*result), p1);
  const Map status = StatusNow();
  EXPECT_EQ(status.at(Value("succeeded")), Value(1));
  EXPECT_EQ(status.at(Value("lost")), Value(0));
}

// Tasks a worker held in hand (prefetched) when it was paused past the
// keepalive were taken back with it. Resumed, the process may not start
// them: they run once, on the worker that has them now.
TEST_F(PoolTest, TasksHeldByAPausedWorkerAreNotStartedWhenItResumes) {
  auto pool = OpenPool();
  const std::string runs =
      std::string(std::getenv("TEST_TMPDIR")) + "/held_task_runs";
  TaskOptions options;
  options.max_retries = 3;
  // Submitted before any worker exists, so the first takes all three.
  AsyncResult first =
      pool->ApplyAsync("worker", {1, 1.0}, {}, nullptr, nullptr, options);
  std::vector<AsyncResult> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(pool->ApplyAsync(
        "exec", {List{"sh", "-c", "echo $$ >> \"$1\"", "sh", runs}}, {},
        nullptr, nullptr, options));
  }
  // --batch-ms 0: no hand-back of tasks queued behind a long one.
  auto paused_daemon =
      StartWorkers(1, {"--allow-exec", "--prefetch", "3", "--batch-ms", "0"});
  auto busy = AwaitOneBusy();
  ASSERT_OK(busy);
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("queued")) == Value(0);  // all three in its hand
  }));
  const pid_t p1 = static_cast<pid_t>(WorkerPids(*busy, true)[0]);
  ASSERT_EQ(kill(p1, SIGSTOP), 0);
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("queued")) == Value(3);  // all three taken back
  }));
  // Its running task's second is over: resumed, it would finish that one
  // at once and go on to the two in hand.
  ASSERT_EQ(kill(p1, SIGCONT), 0);
  EXPECT_TRUE(testing::AwaitProcessGone(p1, absl::Seconds(10)));
  // The pool's own daemon replaced p1; its new process runs them.
  ASSERT_OK(first.Get(absl::Seconds(30)));
  for (AsyncResult& r : held) ASSERT_OK(r.Get(absl::Seconds(30)));
  std::ifstream in(runs);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  EXPECT_EQ(lines, 2) << "each held task ran once";
  EXPECT_EQ(StatusNow().at(Value("succeeded")), Value(3));
}

TEST_F(PoolTest, WorkersOfADeletedPoolAttachToItsSuccessor) {
  auto workers = StartWorkers(2);
  auto pool = OpenPool();
  EXPECT_EQ(*pool->Apply("square", {2}), Value(4));
  // Their parked worker_next calls are answered NOT_FOUND: they come back
  // to the pool of that name, made anew.
  ASSERT_OK(manager_->DeleteObject(UniqueName()));
  auto fresh = OpenPool();
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return WorkerRows(s).size() == 2;
  }));
  EXPECT_EQ(*fresh->Apply("square", {3}), Value(9));
}

TEST_F(PoolTest, InitializerRunsInEveryWorkerProcess) {
  auto with = StartWorkers(2, {"--initializer", "init"});
  auto pool = OpenPool();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(*pool->Apply("initialized"), Value(true));
  const std::string plain = UniqueName("_plain");
  auto without = StartWorkers(1, {}, plain);
  EXPECT_EQ(*(*manager_->Pool(plain))->Apply("initialized"), Value(false));
}

// The task has begun when SIGTERM comes: it says so by creating a file. (A
// task the manager handed out that the worker has not begun yet is given
// back at SIGTERM, so waiting for "busy" alone made this test racy.)
TEST_F(PoolTest, SigtermLetsTheRunningTaskFinish) {
  auto workers = StartWorkers(1, {"--allow-exec"});
  auto pool = OpenPool();
  const std::string started =
      std::string(std::getenv("TEST_TMPDIR")) + "/sigterm_task_started";
  AsyncResult r = pool->ApplyAsync(
      "exec", {List{"sh", "-c", "touch \"$1\" && sleep 1 && echo finished",
                    "sh", started}});
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (access(started.c_str(), F_OK) != 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(5));  // polls the task's own signal
  }
  ASSERT_EQ(access(started.c_str(), F_OK), 0) << "the task never started";
  auto exit_code = workers->SignalAndWait(SIGTERM);
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  auto done = r.Get(absl::Seconds(5));
  ASSERT_OK(done);
  EXPECT_EQ(done->map_value().at(Value("returncode")), Value(0));
  EXPECT_EQ(done->map_value().at(Value("stdout")), Value("finished\n"));
}

// An `exec` of a shell that writes its own pid and a background child's,
// then waits: its result, and both pids once written (0 if never).
struct ShellTask {
  AsyncResult result;
  pid_t shell = 0;
  pid_t child = 0;
};

ShellTask StartShellWithChild(Pool& pool, const std::string& file,
                              TaskOptions options) {
  ShellTask task{pool.ApplyAsync(
      "exec",
      {List{"sh", "-c",
            "sleep 1000 & echo $$ $! > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"; "
            "wait",
            "sh", file}},
      {}, nullptr, nullptr, options)};
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::ifstream in;
  while (absl::Now() < deadline) {
    in.open(file);
    if (in.is_open()) break;
    absl::SleepFor(absl::Milliseconds(5));  // polls the task's own signal
  }
  in >> task.shell >> task.child;
  return task;
}

TEST_F(PoolTest, ExecCommandDiesWithItsWorker) {
  auto workers = StartWorkers(1, {"--allow-exec"});
  auto pool = OpenPool();
  ShellTask task = StartShellWithChild(
      *pool, std::string(std::getenv("TEST_TMPDIR")) + "/exec_pids_kill", {});
  const pid_t shell = task.shell, child = task.child;
  ASSERT_GT(shell, 0);
  ASSERT_GT(child, 0);
  const int64_t worker = WorkerPids(StatusNow(), /*busy_only=*/true).at(0);
  ASSERT_EQ(kill(static_cast<pid_t>(worker), SIGKILL), 0);
  EXPECT_TRUE(testing::AwaitProcessGone(shell, absl::Seconds(10)));
  EXPECT_TRUE(testing::AwaitProcessGone(child, absl::Seconds(10)))
      << "the command's own child outlived the worker";
  EXPECT_CODE(task.result.Get(absl::Seconds(30)), absl::StatusCode::kAborted);
}

TEST_F(PoolTest, ExecCommandDiesWithItsTimedOutTask) {
  auto workers = StartWorkers(1, {"--allow-exec"});
  auto pool = OpenPool();
  TaskOptions options;
  options.timeout = absl::Seconds(1);
  ShellTask task = StartShellWithChild(
      *pool, std::string(std::getenv("TEST_TMPDIR")) + "/exec_pids_timeout",
      options);
  const pid_t shell = task.shell, child = task.child;
  ASSERT_GT(shell, 0);
  ASSERT_GT(child, 0);
  absl::StatusOr<Value> timed_out = task.result.Get(absl::Seconds(30));
  EXPECT_EQ(TaskErrorType(timed_out.status()), "TimeoutError");
  EXPECT_TRUE(testing::AwaitProcessGone(shell, absl::Seconds(10)));
  EXPECT_TRUE(testing::AwaitProcessGone(child, absl::Seconds(10)));
}

// A command's double-forked child is orphaned to the supervisor while the
// command and its worker live on: the command is not taken for an orphan.
TEST_F(PoolTest, LiveExecCommandIsNotTakenForAnOrphan) {
  auto workers = StartWorkers(1, {"--allow-exec"});
  auto pool = OpenPool();
  auto ran = pool->Apply(
      "exec",
      {List{"sh", "-c", "(sleep 30 >/dev/null 2>&1 &); sleep 2; echo alive"}});
  ASSERT_OK(ran);
  EXPECT_EQ(ran->map_value().at(Value("returncode")), Value(0));
  EXPECT_EQ(ran->map_value().at(Value("stdout")), Value("alive\n"));
}

TEST_F(PoolTest, ExecRunsCommandsOnlyWhereAllowed) {
  auto allowed = StartWorkers(1, {"--allow-exec"});
  auto pool = OpenPool();
  auto ran = pool->Apply(
      "exec", {List{"sh", "-c", "read x; echo out $x; echo err >&2; exit 3"}},
      {{"stdin", "in"}});
  ASSERT_OK(ran);
  EXPECT_EQ(ran->map_value().at(Value("returncode")), Value(3));
  EXPECT_EQ(ran->map_value().at(Value("stdout")), Value("out in\n"));
  EXPECT_EQ(ran->map_value().at(Value("stderr")), Value("err\n"));

  const std::string other = UniqueName("_no_exec");
  auto refusing = StartWorkers(1, {}, other);
  auto refused = (*manager_->Pool(other))->Apply("exec", {List{"true"}});
  EXPECT_CODE(refused, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--allow-exec"));
}

// A result over the manager's message limit becomes a ResultTooLarge
// error; the worker and the pool go on.
TEST(PoolLimitsTest, ResultOverTheMessageLimitIsAnError) {
  auto server =
      ManagerProcess::Start("127.0.0.1:0", {"--max-message-bytes", "1000000"});
  ASSERT_OK(server);
  auto workers = WorkerDaemon::Start((*server)->address(), "default", 1);
  ASSERT_OK(workers);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  auto pool = (*manager)->Pool();
  ASSERT_OK(pool);
  auto big = (*pool)->Apply("blob", {2000000});
  EXPECT_CODE(big, absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(TaskErrorType(big.status()), "ResultTooLarge");
  EXPECT_EQ(*(*pool)->Apply("square", {5}), Value(25));
}

// Unread results of a client that went away expire after --result-ttl.
TEST(PoolLimitsTest, UnreadResultsExpireAfterTheTtl) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {"--result-ttl", "1"});
  ASSERT_OK(server);
  auto workers = WorkerDaemon::Start((*server)->address(), "default", 1);
  ASSERT_OK(workers);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  int64_t task_id = 0;
  {
    auto pool = (*manager)->Pool();
    ASSERT_OK(pool);
    task_id = (*pool)->ApplyAsync("worker", {1, 0.3}).task_id();
    ASSERT_GT(task_id, 0);
  }  // detached before the result comes
  auto waiting = AwaitPoolStatus(**manager, "default", [](const Map& s) {
    return s.at(Value("results_waiting")) == Value(1);
  });
  ASSERT_OK(waiting);
  auto expired = AwaitPoolStatus(**manager, "default", [](const Map& s) {
    return s.at(Value("results_expired")) == Value(1);
  });
  ASSERT_OK(expired);
  EXPECT_EQ(expired->at(Value("results_waiting")), Value(0));
  auto pool = (*manager)->Pool();
  ASSERT_OK(pool);
  EXPECT_CODE((*pool)->GetResult(task_id, absl::Seconds(1)),
              absl::StatusCode::kNotFound);
}

// Tasks die with a restarted manager: their results fail with UNAVAILABLE
// (no hang), and the workers serve the new manager.
TEST(PoolRestartTest, TasksOfARestartedManagerFailAndWorkersComeBack) {
  auto first = ManagerProcess::Start();
  ASSERT_OK(first);
  const std::string address = (*first)->address();
  auto workers = WorkerDaemon::Start(address, "default", 2);
  ASSERT_OK(workers);
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  auto pool = (*manager)->Pool();
  ASSERT_OK(pool);
  AsyncResult r = (*pool)->ApplyAsync("sleep", {60});
  ASSERT_OK(AwaitPoolStatus(**manager, "default", [](const Map& s) {
    return WorkerPids(s, true).size() == 1;
  }));
  (*first)->KillAndWait(SIGKILL);
  auto second = ManagerProcess::Start(address);
  ASSERT_OK(second);
  auto lost = r.Get(absl::Seconds(30));
  EXPECT_CODE(lost, absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(lost.status().message(), "restarted"))
      << lost.status();
  auto after = (*pool)->Apply("identity", {5});
  ASSERT_OK(after);
  EXPECT_EQ(*after, Value(5));
}

}  // namespace
}  // namespace testing
}  // namespace mproc
