// The task pool's API through real processes: apply, map, callbacks,
// many clients and daemons, results by id, terminate, bad use.
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
#include "common/task_wire.h"
#include "gtest/gtest.h"
#include "tests/integration/pool_fixture.h"
#include "tests/support/child_process.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace testing {
namespace {

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
    results.push_back(pool->ApplyAsync("worker", {i, seconds(random)}, {},
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
  for (int i = 0; i < 3; ++i)
    results.push_back(pool->ApplyAsync("worker", {i, 0.5}));
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
    for (int i = 0; i < 1000; ++i)
      ASSERT_EQ((*r)[i], Value(i * i)) << chunksize;
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
  EXPECT_CODE(pool->Apply("square", {1, 2}),
              absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(pool->Apply("square", {1}, {{"x", 1}}),
              absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*pool->Apply("greet", {"ann"}, {{"greeting", "hi"}}),
            Value("hi, ann"));
  // The worker is still there and serving.
  EXPECT_EQ(*pool->Apply("square", {12}), Value(144));
}

TEST_F(PoolTest, UndecodableResultReachesItsCallerAsDataLoss) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  // Nested past every decoder's limit: the worker sends it, no client can
  // read it, and the caller hears so instead of waiting forever.
  absl::StatusOr<Value> deep = pool->Apply("nest", {int64_t{600}});
  EXPECT_CODE(deep, absl::StatusCode::kDataLoss);
  EXPECT_TRUE(absl::StrContains(deep.status().message(), "task 'nest'"))
      << deep.status();
  absl::StatusOr<List> mapped = pool->Map("nest", {int64_t{3}, int64_t{600}});
  EXPECT_CODE(mapped.status(), absl::StatusCode::kDataLoss);
  // Within the limit it comes back whole, and the pool keeps serving.
  absl::StatusOr<Value> fine = pool->Apply("nest", {int64_t{400}});
  ASSERT_OK(fine);
  EXPECT_EQ(*pool->Apply("square", {3}), Value(9));
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
  for (int i = 0; i < 12; ++i)
    results.push_back(pool->ApplyAsync("worker", {i, 0.2}));
  std::set<int64_t> pids;
  for (auto& r : results) pids.insert(PidOf(*r.Get()));
  EXPECT_EQ(std::vector<int64_t>(pids.begin(), pids.end()), all);
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
  for (int i = 0; i < 3; ++i)
    queued.push_back(pool->ApplyAsync("worker", {i, 0.5}));
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

TEST_F(PoolTest, TaskNoWorkerStartsInTimeExpires) {
  auto pool = OpenPool();  // no worker connected
  TaskOptions options;
  options.expires = absl::Milliseconds(200);
  const absl::Time start = absl::Now();
  absl::StatusOr<Value> expired = pool->Apply("square", {2}, {}, options);
  EXPECT_CODE(expired, absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(TaskErrorType(expired.status()), "Expired");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // Once started, a task no longer expires.
  auto workers = StartWorkers(1);
  options.expires = absl::Seconds(5);
  absl::StatusOr<Value> slow = pool->Apply("worker", {1, 1.0}, {}, options);
  ASSERT_OK(slow);
  // The expired one left nothing queued behind.
  EXPECT_EQ(StatusNow().at(Value("queued")), Value(0));
}

TEST_F(PoolTest, SubmitToAPoolWithNoWorkerWarnsAndTheTaskStillWaits) {
  auto proxy = manager_->PoolCalls(UniqueName());
  ASSERT_OK(proxy);
  TaskSpec spec;
  spec.name = "square";
  spec.args = {3};
  std::string warning;
  auto first = proxy->Submit(1, {EncodeTaskSpec(spec)}, &warning);
  ASSERT_OK(first);
  EXPECT_TRUE(absl::StrContains(warning, "no connected worker")) << warning;
  EXPECT_TRUE(absl::StrContains(warning, UniqueName())) << warning;
  auto workers = StartWorkers(1);
  // The waiting task runs once a worker comes.
  auto result = proxy->GetResult(*first, absl::Seconds(30));
  ASSERT_OK(result);
  auto again = proxy->Submit(1, {EncodeTaskSpec(spec)}, &warning);
  ASSERT_OK(again);
  EXPECT_EQ(warning, "");
}

}  // namespace
}  // namespace testing
}  // namespace mproc
