// The task pool through real processes: a real manager, real worker
// daemons (examples/pool_worker: the built-in tasks plus square, add,
// worker, greet, crash, blob), real signals.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "client/task_wire.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace testing {
namespace {

class PoolTest : public ManagerTest {
 protected:
  // A daemon of `processes` for this test's own pool, once all are in.
  std::unique_ptr<WorkerDaemon> StartWorkers(int processes,
                                             std::vector<std::string> extra = {},
                                             const std::string& pool = "") {
    const std::string name = pool.empty() ? UniqueName() : pool;
    auto daemon = WorkerDaemon::Start(server_->address(), name, processes,
                                      std::move(extra));
    EXPECT_OK(daemon);
    if (!daemon.ok()) return nullptr;
    EXPECT_OK(AwaitPoolStatus(*manager_, name, [&](const Map& s) {
      return static_cast<int>(WorkerRows(s).size()) >= processes;
    }));
    return *std::move(daemon);
  }
  std::unique_ptr<Pool> OpenPool(const std::string& pool = "") {
    auto p = manager_->Pool(pool.empty() ? UniqueName() : pool);
    EXPECT_OK(p);
    return p.ok() ? *std::move(p) : nullptr;
  }
  // Waits until one worker process of this test's pool runs a task.
  absl::StatusOr<Map> AwaitOneBusy() {
    return AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
      return WorkerPids(s, /*busy_only=*/true).size() == 1;
    });
  }
  Map StatusNow() {
    auto s = AwaitPoolStatus(*manager_, UniqueName(),
                             [](const Map&) { return true; });
    EXPECT_OK(s);
    return s.ok() ? *s : Map{};
  }
};

int64_t PidOf(const Value& v) { return v.map_value().at(Value("pid")).int_value(); }

// The seed tutorial: Pool(3), ten apply_async of worker(msg) sleeping a
// random 0-2 s, close, join. Every task ends, with the pid that ran it.
TEST_F(PoolTest, SeedPoolOfThreeRunsTenRandomSleepsOnThreeProcesses) {
  auto workers = StartWorkers(3);
  auto pool = OpenPool();
  std::mt19937 random(42);
  std::uniform_real_distribution<double> seconds(0, 2);
  absl::Mutex mu;
  std::vector<Value> seen;
  std::vector<AsyncResult> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back(pool->ApplyAsync(
        "worker", {i, seconds(random)}, {},
        [&](const Value& v) {
          absl::MutexLock l(&mu);
          seen.push_back(v);
        }));
  }
  pool->Close();
  ASSERT_OK(pool->Join());
  ASSERT_EQ(seen.size(), 10u);
  std::set<int64_t> msgs, pids;
  for (const Value& v : seen) {
    msgs.insert(v.map_value().at(Value("msg")).int_value());
    pids.insert(PidOf(v));
  }
  EXPECT_EQ(msgs.size(), 10u);
  EXPECT_EQ(pids.size(), 3u);
  for (const AsyncResult& r : results) {
    EXPECT_TRUE(r.Ready());
    EXPECT_TRUE(*r.Successful());
    EXPECT_GT(r.task_id(), 0);
  }
}

// apply waits for each task; apply_async lets them overlap.
TEST_F(PoolTest, ApplyRunsSequentiallyApplyAsyncOverlaps) {
  auto workers = StartWorkers(3);
  auto pool = OpenPool();
  absl::Time start = absl::Now();
  for (int i = 0; i < 3; ++i) ASSERT_OK(pool->Apply("worker", {i, 0.5}));
  const absl::Duration sequential = absl::Now() - start;
  start = absl::Now();
  std::vector<AsyncResult> results;
  for (int i = 0; i < 3; ++i) results.push_back(pool->ApplyAsync("worker", {i, 0.5}));
  for (auto& r : results) ASSERT_OK(r.Get());
  const absl::Duration overlapped = absl::Now() - start;
  EXPECT_GE(sequential, absl::Milliseconds(1500));
  EXPECT_LT(overlapped, absl::Milliseconds(1400)) << "tasks did not overlap";
}

TEST_F(PoolTest, MapStarmapAndImapGiveResultsInOrder) {
  auto workers = StartWorkers(2);
  auto pool = OpenPool();
  auto squares = pool->Map("square", {1, 2, 3});
  ASSERT_OK(squares);
  EXPECT_EQ(Value(*squares), Value(List{1, 4, 9}));
  auto async = pool->MapAsync("square", {1, 2, 3});
  EXPECT_EQ(*async.Get(), Value(List{1, 4, 9}));

  List many;
  for (int64_t i = 0; i < 1000; ++i) many.push_back(Value(i));
  for (int64_t chunksize : {0, 1, 7, 1000}) {
    auto r = pool->Map("square", many, chunksize);
    ASSERT_OK(r);
    ASSERT_EQ(r->size(), 1000u);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ((*r)[i], Value(i * i)) << chunksize;
  }
  auto sums = pool->Starmap("add", {List{1, 2}, List{3, 4}}, 1);
  EXPECT_EQ(Value(*sums), Value(List{3, 7}));

  ResultIterator ordered = pool->Imap("square", {4, 5, 6}, 2);
  for (int x : {4, 5, 6}) EXPECT_EQ(**ordered.Next(), Value(x * x));
  EXPECT_FALSE(ordered.Next()->has_value());
  ResultIterator unordered = pool->ImapUnordered("square", {4, 5, 6});
  std::set<int64_t> got;
  for (int i = 0; i < 3; ++i) got.insert((*unordered.Next())->int_value());
  EXPECT_EQ(got, (std::set<int64_t>{16, 25, 36}));
  EXPECT_FALSE(unordered.Next()->has_value());
}

TEST_F(PoolTest, FailuresReachTheErrorCallbackWithWhereTheyRan) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  absl::Mutex mu;
  absl::Status error;
  bool called = false;
  AsyncResult r = pool->ApplyAsync("fail", {"boom"}, {}, nullptr,
                                   [&](const absl::Status& s) {
                                     absl::MutexLock l(&mu);
                                     error = s;
                                     called = true;
                                   });
  EXPECT_FALSE(r.Get().ok());
  {
    absl::MutexLock l(&mu);
    mu.Await(absl::Condition(&called));
  }
  EXPECT_EQ(TaskErrorType(error), "TaskError");
  EXPECT_TRUE(absl::StrContains(error.message(), "boom")) << error;
  const int64_t pid = WorkerPids(StatusNow())[0];
  EXPECT_TRUE(absl::StrContains(error.message(), ":" + std::to_string(pid)))
      << error;
  EXPECT_FALSE(*r.Successful());

  auto unknown = pool->Apply("no_such_task");
  EXPECT_CODE(unknown, absl::StatusCode::kNotFound);
  EXPECT_EQ(TaskErrorType(unknown.status()), "UnknownTask");
  auto wrong_type = pool->Apply("square", {"seven"});
  EXPECT_CODE(wrong_type, absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(TaskErrorType(wrong_type.status()), "ArgumentError");
  EXPECT_TRUE(absl::StrContains(wrong_type.status().message(), "argument 1"))
      << wrong_type.status();
  EXPECT_CODE(pool->Apply("square", {1, 2}), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(pool->Apply("square", {1}, {{"x", 1}}),
              absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*pool->Apply("greet", {"ann"}, {{"greeting", "hi"}}), Value("hi, ann"));
  // The worker is still there and serving.
  EXPECT_EQ(*pool->Apply("square", {12}), Value(144));
}

// 10,000 tasks from 4 client processes at once: each answered exactly
// once, with its own value.
TEST_F(PoolTest, TenThousandTasksFromFourClientsEachReturnOnce) {
  auto workers = StartWorkers(2, {"--prefetch", "16"});
  const std::string address = server_->address();
  const std::string name = UniqueName();
  std::vector<pid_t> clients;
  for (int c = 0; c < 4; ++c) {
    clients.push_back(ForkChild([&, c] {
      auto manager = Manager::Connect(address);
      if (!manager.ok()) return 2;
      auto pool = (*manager)->Pool(name);
      if (!pool.ok()) return 3;
      std::vector<int> hits(2500, 0);
      std::atomic<int> wrong{0};
      for (int i = 0; i < 2500; ++i) {
        const int64_t x = c * 10000 + i;
        (*pool)->ApplyAsync("square", {x}, {}, [&, i, x](const Value& v) {
          ++hits[i];
          if (v != Value(x * x)) ++wrong;
        });
      }
      (*pool)->Close();
      if (!(*pool)->Join(absl::Seconds(120)).ok()) return 4;
      for (int h : hits) {
        if (h != 1) return 5;
      }
      return wrong == 0 ? 0 : 6;
    }));
  }
  for (pid_t pid : clients) EXPECT_EQ(WaitChild(pid), 0);
  auto status = StatusNow();
  EXPECT_EQ(status.at(Value("succeeded")), Value(10000));
  EXPECT_EQ(status.at(Value("ignored_completions")), Value(0));
}

TEST_F(PoolTest, TwoWorkerDaemonsBothTakeWork) {
  auto first = StartWorkers(1);
  auto second = StartWorkers(2);
  auto pool = OpenPool();
  auto status = AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return WorkerRows(s).size() == 3;
  });
  ASSERT_OK(status);
  const std::vector<int64_t> all = WorkerPids(*status);
  ASSERT_EQ(all.size(), 3u);
  std::vector<AsyncResult> results;
  for (int i = 0; i < 12; ++i) results.push_back(pool->ApplyAsync("worker", {i, 0.2}));
  std::set<int64_t> pids;
  for (auto& r : results) pids.insert(PidOf(*r.Get()));
  EXPECT_EQ(std::vector<int64_t>(pids.begin(), pids.end()), all);
}

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
  AsyncResult r = pool->ApplyAsync("worker", {5, 1.0}, {}, nullptr, nullptr, options);
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
  for (int i = 0; i < 6; ++i) pids.push_back(pool->Apply("getpid")->int_value());
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

TEST_F(PoolTest, InitializerRunsInEveryWorkerProcess) {
  auto with = StartWorkers(2, {"--initializer", "init"});
  auto pool = OpenPool();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(*pool->Apply("initialized"), Value(true));
  const std::string plain = UniqueName("_plain");
  auto without = StartWorkers(1, {}, plain);
  EXPECT_EQ(*(*manager_->Pool(plain))->Apply("initialized"), Value(false));
}

TEST_F(PoolTest, SigtermLetsTheRunningTaskFinish) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  AsyncResult r = pool->ApplyAsync("worker", {7, 1.0});
  ASSERT_OK(AwaitOneBusy());
  auto exit_code = workers->SignalAndWait(SIGTERM);
  ASSERT_OK(exit_code);
  EXPECT_EQ(*exit_code, 0);
  auto done = r.Get(absl::Seconds(5));
  ASSERT_OK(done);
  EXPECT_EQ(done->map_value().at(Value("msg")), Value(7));
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

TEST_F(PoolTest, TasksSubmittedBeforeAnyWorkerWaitForOne) {
  auto pool = OpenPool();
  AsyncResult r = pool->ApplyAsync("square", {11});
  EXPECT_FALSE(r.Wait(absl::Milliseconds(100)));
  EXPECT_EQ(StatusNow().at(Value("queued")), Value(1));
  auto workers = StartWorkers(1);
  EXPECT_EQ(*r.Get(absl::Seconds(20)), Value(121));
}

// A client that went away before its result came: another reads it by id.
TEST_F(PoolTest, ResultOutlivesItsClientAndIsReadByTaskId) {
  auto workers = StartWorkers(1);
  int64_t task_id = 0;
  {
    auto pool = OpenPool();
    AsyncResult r = pool->ApplyAsync("worker", {3, 0.5});
    auto busy = AwaitOneBusy();
    ASSERT_OK(busy);
    task_id = r.task_id();
    ASSERT_GT(task_id, 0);
  }  // the pool (its inbox reader) is gone before the task ends
  auto other = Manager::Connect(server_->address());
  ASSERT_OK(other);
  auto pool = (*other)->Pool(UniqueName());
  ASSERT_OK(pool);
  auto result = (*pool)->GetResult(task_id, absl::Seconds(10));
  ASSERT_OK(result);
  EXPECT_EQ(result->map_value().at(Value("msg")), Value(3));
  EXPECT_CODE((*pool)->GetResult(999999, absl::Seconds(1)),
              absl::StatusCode::kNotFound);
}

TEST_F(PoolTest, TerminateCancelsTasksNotStarted) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  AsyncResult running = pool->ApplyAsync("worker", {1, 0.5});
  ASSERT_OK(AwaitOneBusy());
  std::vector<AsyncResult> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(pool->ApplyAsync("worker", {i, 0.5}));
  ASSERT_OK(pool->Terminate());
  ASSERT_OK(pool->Join(absl::Seconds(20)));
  EXPECT_OK(running.Get());
  for (auto& r : queued) {
    EXPECT_CODE(r.Get(), absl::StatusCode::kCancelled);
    EXPECT_EQ(TaskErrorType(r.Get().status()), "Cancelled");
  }
}

TEST_F(PoolTest, BadUseIsAClearError) {
  auto pool = OpenPool();
  EXPECT_CODE(pool->Join(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(pool->Map("square", {1}, -1), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(pool->Starmap("add", {1, 2}), absl::StatusCode::kInvalidArgument);
  pool->Close();
  auto closed = pool->Apply("square", {1});
  EXPECT_CODE(closed, absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(closed.status().message(), "closed"));
  ASSERT_OK(pool->Join());

  ASSERT_OK(manager_->Dict(UniqueName("_dict")));
  EXPECT_CODE(manager_->Pool(UniqueName("_dict")),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(manager_->Pool(""), absl::StatusCode::kInvalidArgument);
  // Malformed tasks on the wire: refused whole, naming the task.
  auto proxy = manager_->PoolCalls(UniqueName());
  ASSERT_OK(proxy);
  auto bad = proxy->Submit(1, {Value(List{"square", 5})});
  EXPECT_CODE(bad, absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(bad.status().message(), "task 1 of submit"))
      << bad.status();
}

// A result over the manager's message limit becomes a ResultTooLarge
// error; the worker and the pool go on.
TEST(PoolLimitsTest, ResultOverTheMessageLimitIsAnError) {
  auto server = ManagerProcess::Start("127.0.0.1:0",
                                      {"--max-message-bytes", "1000000"});
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
