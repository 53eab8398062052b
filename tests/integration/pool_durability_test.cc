// Tasks across a manager crash, through a real manager over a data dir,
// killed with SIGKILL and started again, with real worker daemons: queued
// tasks run after the restart, exactly once; unread results are still
// readable by id; a task running when the manager died runs again (and
// its loss does not count against max_retries); a client waiting on a
// result gets it; a retry's backoff still holds; dead letters stay.
#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "client/pool.h"
#include "common/task_wire.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace {

using testing::AwaitPoolStatus;
using testing::ManagerProcess;
using testing::WorkerDaemon;

// A manager on a unix socket over a data dir in a fresh temporary
// directory, started again at the same address after a kill.
class PoolDurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/mproc-pools.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    root_ = dir;
    ASSERT_OK(Start());
    auto m = Manager::Connect(address());
    ASSERT_OK(m);
    manager_ = *std::move(m);
  }
  void TearDown() override {
    manager_.reset();
    process_.reset();
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }

  std::string address() const { return "unix:" + root_ + "/s"; }
  absl::Status Start() {
    auto started = ManagerProcess::Start(
        address(), {"--data-dir", root_ + "/data", "--session-lease", "2"});
    if (!started.ok()) return started.status();
    process_ = *std::move(started);
    return absl::OkStatus();
  }
  // Kills the manager and starts it again, then waits until the test's
  // connection is through: a call finds the stream broken (UNAVAILABLE, as
  // for any client whose manager went away between calls), and calls made
  // while an attempt backs off fail UNAVAILABLE at once (connection.h).
  absl::Status KillAndRestart() {
    process_->KillAndWait(SIGKILL);
    process_.reset();
    if (absl::Status s = Start(); !s.ok()) return s;
    if (manager_ == nullptr) return absl::OkStatus();
    // Another thread of the client (the pool's result waiter) may have
    // tried while the manager was down: backoffs reach 2 s at most.
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    absl::Status reached = manager_->Info().status();
    while (absl::IsUnavailable(reached) && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
      reached = manager_->Info().status();
    }
    return reached;
  }
  std::unique_ptr<WorkerDaemon> StartWorkers(const std::string& pool,
                                             int processes = 1) {
    auto daemon = WorkerDaemon::Start(address(), pool, processes);
    EXPECT_OK(daemon);
    return daemon.ok() ? *std::move(daemon) : nullptr;
  }
  // The pool's status once `done` holds (up to 30 s).
  Map StatusWhen(const std::string& pool,
                 const std::function<bool(const Map&)>& done) {
    absl::StatusOr<Map> status =
        AwaitPoolStatus(*manager_, pool, done, absl::Seconds(30));
    EXPECT_OK(status);
    return status.ok() ? *status : Map{};
  }
  static int64_t Count(const Map& status, const char* key) {
    auto it = status.find(Value(key));
    return it != status.end() && it->second.is_int() ? it->second.int_value()
                                                     : -1;
  }

  std::string root_;
  std::unique_ptr<ManagerProcess> process_;
  std::unique_ptr<Manager> manager_;
};

Value SquareTask(int64_t x) {
  TaskSpec spec;
  spec.name = "square";
  spec.args = {x};
  return EncodeTaskSpec(spec);
}

TEST_F(PoolDurabilityTest, QueuedTasksRunAfterARestartExactlyOnce) {
  auto proxy = manager_->PoolCalls("p");
  ASSERT_OK(proxy);
  List tasks;
  for (int i = 0; i < 20; ++i) tasks.push_back(SquareTask(i));
  std::string warning;
  absl::StatusOr<int64_t> first = proxy->Submit(7, tasks, &warning);
  ASSERT_OK(first);
  EXPECT_TRUE(absl::StrContains(warning, "no connected worker")) << warning;

  ASSERT_OK(KillAndRestart());
  const Map recovered = StatusWhen("p", [](const Map&) { return true; });
  EXPECT_EQ(Count(recovered, "queued"), 20);
  EXPECT_EQ(Count(recovered, "recovered_tasks"), 20);
  auto workers = StartWorkers("p", 2);
  for (int i = 0; i < 20; ++i) {
    absl::StatusOr<Value> encoded =
        proxy->GetResult(*first + i, absl::Seconds(30));
    ASSERT_OK(encoded);
    absl::StatusOr<TaskResult> result = DecodeResult(*encoded);
    ASSERT_OK(result);
    ASSERT_EQ(result->outcome.code, absl::StatusCode::kOk);
    EXPECT_EQ(result->outcome.value, Value(int64_t{i} * i));
  }
  // Each ran once: 20 successes, nothing ignored or fenced.
  const Map status =
      StatusWhen("p", [](const Map& s) { return Count(s, "succeeded") == 20; });
  EXPECT_EQ(Count(status, "ignored_completions"), 0);
  EXPECT_EQ(Count(status, "fenced_completions"), 0);
  EXPECT_EQ(Count(status, "queued"), 0);
  // New ids never repeat the old ones.
  absl::StatusOr<int64_t> next = proxy->Submit(7, {SquareTask(100)});
  ASSERT_OK(next);
  EXPECT_GE(*next, *first + 20);
}

TEST_F(PoolDurabilityTest, UnreadResultsAreReadableByIdAfterARestart) {
  auto proxy = manager_->PoolCalls("p");
  ASSERT_OK(proxy);
  auto workers = StartWorkers("p");
  List tasks;
  for (int i = 0; i < 5; ++i) tasks.push_back(SquareTask(i + 10));
  absl::StatusOr<int64_t> first = proxy->Submit(8, tasks);
  ASSERT_OK(first);
  // Finished, and nobody read inbox 8.
  StatusWhen("p", [](const Map& s) { return Count(s, "succeeded") == 5; });
  workers.reset();
  ASSERT_OK(KillAndRestart());
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Value> encoded = proxy->GetResult(*first + i);
    ASSERT_OK(encoded);
    EXPECT_EQ(DecodeResult(*encoded)->outcome.value,
              Value(int64_t{i + 10} * (i + 10)));
  }
  const Map status = StatusWhen("p", [](const Map&) { return true; });
  EXPECT_EQ(Count(status, "succeeded"), 5);  // counters survive too
  EXPECT_EQ(Count(status, "results_waiting"), 5);
}

TEST_F(PoolDurabilityTest,
       ATaskRunningWhenTheManagerDiesRunsAgainAndItsWaiterGetsIt) {
  auto workers = StartWorkers("p");
  auto pool = manager_->Pool("p");
  ASSERT_OK(pool);
  TaskOptions options;
  options.max_retries = 0;  // the manager's crash is not the task's fault
  AsyncResult r =
      (*pool)->ApplyAsync("worker", {7, 1.5}, {}, nullptr, nullptr, options);
  StatusWhen("p", [](const Map& s) { return Count(s, "running") == 1; });
  ASSERT_OK(KillAndRestart());
  // The client waiting on it gets its result, not UNAVAILABLE.
  absl::StatusOr<Value> got = r.Get(absl::Seconds(60));
  ASSERT_OK(got);
  ASSERT_TRUE(got->is_map()) << got->ToString();
  EXPECT_EQ(got->map_value().at(Value("msg")), Value(7));
  const Map status = StatusWhen("p", [](const Map&) { return true; });
  EXPECT_EQ(Count(status, "lost"), 0);
  EXPECT_EQ(status.at(Value("dead_letter")).list_value().size(), 0u);
}

// A retry waiting out its backoff still waits after a restart: the wait
// is recorded, not worked out again from the submission.
TEST_F(PoolDurabilityTest, ARetryBackoffSurvivesARestart) {
  auto workers = StartWorkers("p");
  auto pool = manager_->Pool("p");
  ASSERT_OK(pool);
  TaskOptions options;
  options.max_retries = 1;
  options.retry_on = {"TaskError"};
  options.retry_backoff = absl::Seconds(8);  // waits 4 to 8 s
  AsyncResult r = (*pool)->ApplyAsync("flaky", {root_ + "/calls", 1}, {},
                                      nullptr, nullptr, options);
  ASSERT_NE(r.task_id(), 0);
  StatusWhen("p", [](const Map& s) { return Count(s, "scheduled") == 1; });
  ASSERT_OK(KillAndRestart());
  // Still waiting out its backoff, not queued at once.
  auto pool_status = (*pool)->Status();
  ASSERT_OK(pool_status);
  EXPECT_EQ(Count(*pool_status, "scheduled"), 1)
      << Value(*pool_status).ToString();
  absl::StatusOr<Value> got = r.Get(absl::Seconds(60));
  ASSERT_OK(got);
  EXPECT_EQ(*got, Value(2));  // failed once, then ran again
  auto record = (*pool)->Task(r.task_id());
  ASSERT_OK(record);
  const List& history = record->at(Value("history")).list_value();
  ASSERT_EQ(history.size(), 2u) << Value(*record).ToString();
  auto at = [&](size_t i, const char* key) {
    return history[i].map_value().at(Value(key)).AsDouble();
  };
  EXPECT_GE(at(1, "started") - at(0, "finished"), 4.0)
      << Value(*record).ToString();
}

TEST_F(PoolDurabilityTest, DeadLettersStayAfterARestart) {
  auto workers = StartWorkers("p");
  auto pool = manager_->Pool("p");
  ASSERT_OK(pool);
  auto crashed = (*pool)->ApplyAsync("crash", {}).Get(absl::Seconds(30));
  EXPECT_EQ(crashed.status().code(), absl::StatusCode::kAborted);
  workers.reset();
  pool->reset();
  ASSERT_OK(KillAndRestart());
  const Map status = StatusWhen("p", [](const Map&) { return true; });
  const List& dead = status.at(Value("dead_letter")).list_value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].map_value().at(Value("name")), Value("crash"));
  EXPECT_EQ(Count(status, "lost"), 1);
}

}  // namespace
}  // namespace mproc
