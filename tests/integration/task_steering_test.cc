// Finding and steering tasks through a real manager and real worker
// processes: cancel by id (queued, in hand, and running: its process is
// replaced, giving back what it held), hand-outs fenced after a timeout,
// task records, retries with backoff, dead letters requeued, countdown and
// priority.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "common/task_wire.h"
#include "gtest/gtest.h"
#include "tests/integration/pool_fixture.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace testing {
namespace {

std::string Text(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it != m.end() && it->second.is_string() ? it->second.string_value()
                                                 : "";
}

// A fresh file path for the flaky task's call count.
std::string CallsFile() {
  static int n = 0;
  return ::testing::TempDir() + "/calls-" + std::to_string(getpid()) + "-" +
         std::to_string(++n);
}

TEST_F(PoolTest, CancelOfAQueuedTaskAndOfARunningOneWhoseProcessIsReplaced) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  AsyncResult running = pool->ApplyAsync("sleep", {60});
  auto busy = AwaitOneBusy();
  ASSERT_OK(busy);
  const int64_t pid = WorkerPids(*busy, true)[0];
  AsyncResult queued = pool->ApplyAsync("square", {4});
  ASSERT_NE(queued.task_id(), 0);

  auto was = queued.Cancel();
  ASSERT_OK(was);
  EXPECT_EQ(*was, "queued");
  EXPECT_CODE(queued.Get(absl::Seconds(5)), absl::StatusCode::kCancelled);

  auto was_running = pool->Cancel(running.task_id());
  ASSERT_OK(was_running);
  EXPECT_EQ(*was_running, "running");
  auto cancelled = running.Get(absl::Seconds(5));
  EXPECT_CODE(cancelled, absl::StatusCode::kCancelled);
  EXPECT_EQ(TaskErrorType(cancelled.status()), "Cancelled");
  // The process that ran it ends and a new one serves the pool.
  EXPECT_OK(AwaitPoolStatus(*manager_, UniqueName(), [&](const Map& s) {
    auto pids = WorkerPids(s);
    return pids.size() == 1 && pids[0] != pid;
  }));
  EXPECT_EQ(*pool->Apply("square", {3}), Value(9));
  EXPECT_CODE(pool->Cancel(running.task_id()),
              absl::StatusCode::kFailedPrecondition);

  auto record = pool->Task(running.task_id());
  ASSERT_OK(record);
  EXPECT_EQ(Text(*record, "state"), "cancelled");
  auto listed = pool->Tasks({"cancelled", "", 0});
  ASSERT_OK(listed);
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_CODE(pool->Task(999999), absl::StatusCode::kNotFound);
}

// A task the worker process holds in hand (taken behind a running one)
// and cancelled there never starts, and its process stays.
TEST_F(PoolTest, ATaskCancelledInHandNeverStartsAndItsProcessStays) {
  auto pool = OpenPool();
  const std::string calls = CallsFile();
  // Both queued before the worker asks: it takes them in one batch.
  AsyncResult first = pool->ApplyAsync("sleep", {2});
  AsyncResult held = pool->ApplyAsync("flaky", {calls, 0});
  AsyncResult third = pool->ApplyAsync("flaky", {calls + "-3", 0});
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("queued")) == Value(3);
  }));
  auto workers = StartWorkers(1, {"--prefetch", "3", "--batch-ms", "0"});
  auto both = AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("running")) == Value(3);
  });
  ASSERT_OK(both);
  const int64_t pid = WorkerPids(*both)[0];
  // The second and the third in hand (the third behind the second).
  auto was = pool->Cancel(held.task_id());
  ASSERT_OK(was);
  EXPECT_EQ(*was, "running");  // handed out, as far as the manager knows
  ASSERT_OK(pool->Cancel(third.task_id()));
  EXPECT_CODE(held.Get(absl::Seconds(5)), absl::StatusCode::kCancelled);
  ASSERT_OK(first.Get(absl::Seconds(10)));
  // The process went on past the cancelled tasks without running them.
  EXPECT_EQ(*pool->Apply("square", {3}), Value(9));
  EXPECT_FALSE(std::ifstream(calls).good()) << "a cancelled task ran";
  EXPECT_FALSE(std::ifstream(calls + "-3").good()) << "a cancelled task ran";
  EXPECT_EQ(WorkerPids(StatusNow()), std::vector<int64_t>{pid});
}

// The process of a cancelled running task ends, but first gives back the
// tasks it held in hand: they run elsewhere, not charged as lost.
TEST_F(PoolTest, CancelOfARunningTaskGivesBackTheTasksInHand) {
  auto pool = OpenPool();
  AsyncResult running = pool->ApplyAsync("sleep", {60});
  AsyncResult behind = pool->ApplyAsync("square", {4});  // no retries
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("queued")) == Value(2);
  }));
  auto workers = StartWorkers(1, {"--prefetch", "2", "--batch-ms", "0"});
  ASSERT_OK(AwaitPoolStatus(*manager_, UniqueName(), [](const Map& s) {
    return s.at(Value("running")) == Value(2);
  }));
  ASSERT_OK(pool->Cancel(running.task_id()));
  ASSERT_EQ(*behind.Get(absl::Seconds(20)), Value(16));
  auto record = pool->Task(behind.task_id());
  ASSERT_OK(record);
  EXPECT_EQ(record->at(Value("attempts")), Value(1))
      << Value(*record).ToString();
  EXPECT_EQ(StatusNow().at(Value("lost")), Value(0));
}

// A worker's late result of a timed-out hand-out is refused even when the
// retry went to that same worker: the result names its hand-out.
TEST_F(PoolTest, ALateResultOfATimedOutAttemptCannotPassForItsRetry) {
  auto pool = OpenPool();
  TaskOptions options;
  options.timeout = absl::Milliseconds(300);
  options.max_retries = 1;
  options.retry_on = {"TimeoutError"};
  AsyncResult r =
      pool->ApplyAsync("square", {6}, {}, nullptr, nullptr, options);
  ASSERT_NE(r.task_id(), 0);
  auto calls = manager_->PoolCalls(UniqueName());
  ASSERT_OK(calls);
  const Map me{{"host", "test"},
               {"pid", int64_t{1}},
               {"prefetch", 1},
               {"handouts", true}};
  auto first = calls->WorkerNext(me, {}, {}, 1, absl::Seconds(10));
  ASSERT_OK(first);
  ASSERT_EQ(first->size(), 1u);
  auto one = DecodeWorkItem((*first)[0]);
  ASSERT_OK(one);
  // It times out, and after a pause is handed out again, to this worker.
  auto second = calls->WorkerNext(me, {}, {}, 1, absl::Seconds(10));
  ASSERT_OK(second);
  ASSERT_EQ(second->size(), 1u);
  auto two = DecodeWorkItem((*second)[0]);
  ASSERT_OK(two);
  ASSERT_EQ(two->task_id, one->task_id);
  ASSERT_NE(two->attempt, one->attempt);
  EXPECT_EQ(*calls->WorkerHolds(one->task_id, one->attempt), false);
  EXPECT_EQ(*calls->WorkerHolds(two->task_id, two->attempt), true);

  TaskResult late;
  late.task_id = one->task_id;
  late.attempt = one->attempt;
  late.outcome.value = Value("stale");
  ASSERT_OK(calls->WorkerNext(me, {EncodeResult(late)}, {}, 0));
  EXPECT_EQ(StatusNow().at(Value("fenced_completions")), Value(1));
  auto record = pool->Task(r.task_id());
  ASSERT_OK(record);
  EXPECT_EQ(Text(*record, "state"), "running");

  TaskResult current = late;
  current.attempt = two->attempt;
  current.outcome.value = Value(36);
  ASSERT_OK(calls->WorkerNext(me, {EncodeResult(current)}, {}, 0));
  EXPECT_EQ(*r.Get(absl::Seconds(10)), Value(36));
}

TEST_F(PoolTest, TaskRecordsShowStateWorkerAttemptsAndArguments) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  AsyncResult r = pool->ApplyAsync("add", {2, 40});
  ASSERT_EQ(*r.Get(absl::Seconds(10)), Value(42));
  auto record = pool->Task(r.task_id());
  ASSERT_OK(record);
  EXPECT_EQ(Text(*record, "state"), "succeeded");
  EXPECT_EQ(Text(*record, "name"), "add");
  EXPECT_EQ(Text(*record, "args"), "[2, 40]");
  EXPECT_EQ(record->at(Value("attempts")), Value(1));
  const int64_t pid = WorkerPids(StatusNow())[0];
  EXPECT_NE(Text(*record, "worker").find(":" + std::to_string(pid)),
            std::string::npos)
      << Text(*record, "worker");
}

TEST_F(PoolTest, ErrorInRetryOnRunsAgainWithGrowingBackoff) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  TaskOptions options;
  options.max_retries = 3;
  options.retry_on = {"TaskError"};
  options.retry_backoff = absl::Milliseconds(300);
  AsyncResult r = pool->ApplyAsync("flaky", {CallsFile(), 2}, {}, nullptr,
                                   nullptr, options);
  auto done = r.Get(absl::Seconds(20));
  ASSERT_OK(done);
  EXPECT_EQ(*done, Value(3));  // two failures, then the third call
  auto record = pool->Task(r.task_id());
  ASSERT_OK(record);
  const List& history = record->at(Value("history")).list_value();
  ASSERT_EQ(history.size(), 3u);
  auto at = [&](size_t i, const char* key) {
    return history[i].map_value().at(Value(key)).AsDouble();
  };
  EXPECT_NE(Text(history[0].map_value(), "error").find("TaskError"),
            std::string::npos);
  const double first_wait = at(1, "started") - at(0, "finished");
  const double second_wait = at(2, "started") - at(1, "finished");
  EXPECT_GE(first_wait, 0.15);  // [150, 300] ms
  EXPECT_GE(second_wait, 0.3);  // [300, 600] ms
  EXPECT_GE(second_wait, first_wait);
  EXPECT_EQ(StatusNow().at(Value("retried")), Value(2));

  // An error type not listed is final.
  TaskOptions only_timeouts = options;
  only_timeouts.retry_on = {"TimeoutError"};
  auto failed = pool->ApplyAsync("flaky", {CallsFile(), 1}, {}, nullptr,
                                 nullptr, only_timeouts)
                    .Get(absl::Seconds(10));
  EXPECT_FALSE(failed.ok());
}

TEST_F(PoolTest, DeadLetterRequeuedWithItsArgumentsSucceeds) {
  auto workers = StartWorkers(1);
  auto pool = OpenPool();
  const std::string calls = CallsFile();
  AsyncResult r = pool->ApplyAsync("flaky", {calls, 1});
  EXPECT_FALSE(r.Get(absl::Seconds(10)).ok());
  const List dead = StatusNow().at(Value("dead_letter")).list_value();
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].map_value().at(Value("task_id")), Value(r.task_id()));
  // Its arguments, shortened: [path, 1].
  EXPECT_EQ(Text(dead[0].map_value(), "args").rfind("[\"/", 0), 0u)
      << Text(dead[0].map_value(), "args");
  auto fresh = pool->Requeue(r.task_id());
  ASSERT_OK(fresh);
  EXPECT_NE(*fresh, r.task_id());
  EXPECT_EQ(*pool->GetResult(*fresh, absl::Seconds(10)), Value(2));
  EXPECT_TRUE(StatusNow().at(Value("dead_letter")).list_value().empty());
  EXPECT_CODE(pool->Requeue(r.task_id()), absl::StatusCode::kNotFound);
}

TEST_F(PoolTest, CountdownHoldsATaskBackAndPriorityGoesFirst) {
  // One task at a time (no batches, so no prefetch): the order observed is
  // the manager's hand-out order, which is what this test is about. With
  // batches, the worker's prefetch may take a task before tasks of higher
  // priority are queued (seen under ASan: 2 runs of 6 ran 4,2,1,3,0).
  auto workers = StartWorkers(1, {"--batch-ms", "0"});
  auto pool = OpenPool();
  TaskOptions later;
  later.countdown = absl::Milliseconds(700);
  const absl::Time start = absl::Now();
  AsyncResult held =
      pool->ApplyAsync("square", {5}, {}, nullptr, nullptr, later);
  ASSERT_NE(held.task_id(), 0);
  auto record = pool->Task(held.task_id());
  ASSERT_OK(record);
  EXPECT_EQ(Text(*record, "state"), "scheduled");
  ASSERT_EQ(*held.Get(absl::Seconds(10)), Value(25));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(700));

  // One worker, busy: the queued tasks run highest priority first, FIFO
  // within one.
  AsyncResult blocker = pool->ApplyAsync("sleep", {0.5});
  ASSERT_OK(AwaitOneBusy());
  absl::Mutex mu;
  std::vector<int64_t> order;
  std::vector<AsyncResult> results;
  const int64_t priorities[] = {0, 5, 0, 5, 9};
  for (int i = 0; i < 5; ++i) {
    TaskOptions o;
    o.priority = priorities[i];
    results.push_back(pool->ApplyAsync(
        "identity", {i}, {},
        [&](const Value& v) {
          absl::MutexLock l(&mu);
          order.push_back(v.int_value());
        },
        nullptr, o));
    ASSERT_NE(results.back().task_id(), 0);
  }
  for (AsyncResult& r : results) ASSERT_OK(r.Get(absl::Seconds(10)));
  // A result is ready just before its callback runs: wait for all five.
  absl::MutexLock l(&mu);
  auto all_called = [&order]() { return order.size() == 5; };
  ASSERT_TRUE(
      mu.AwaitWithTimeout(absl::Condition(&all_called), absl::Seconds(10)));
  EXPECT_EQ(order, (std::vector<int64_t>{4, 1, 3, 0, 2}));
}

}  // namespace
}  // namespace testing
}  // namespace mproc
