// mproc::ThreadPool, method by method, the way Python's ThreadPool is
// used: results and errors, callbacks in completion order, maps, closing.
#include "worker/process/thread_pool.h"

#include <atomic>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"

namespace mproc {
namespace {

TEST(ThreadPoolTest, ApplyRunsAnyCallableWithItsArguments) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.threads(), 2);
  EXPECT_EQ(*pool.Apply([](int a, int b) { return a + b; }, 2, 3), 5);
  EXPECT_EQ(*pool.Apply([](const std::string& s) { return s + "!"; },
                        std::string("hi")),
            "hi!");
  std::atomic<int> ran{0};
  absl::StatusOr<NoValue> nothing = pool.Apply([&] { ++ran; });
  ASSERT_OK(nothing);
  EXPECT_EQ(ran.load(), 1);
}

TEST(ThreadPoolTest, ErrorsAndExceptionsReachTheCaller) {
  ThreadPool pool(2);
  auto status_or = pool.Apply(
      []() -> absl::StatusOr<int> { return absl::NotFoundError("x"); });
  EXPECT_CODE(status_or, absl::StatusCode::kNotFound);
  auto status = pool.Apply([] { return absl::InvalidArgumentError("bad"); });
  EXPECT_CODE(status, absl::StatusCode::kInvalidArgument);
  auto thrown = pool.Apply([]() -> int { throw std::runtime_error("boom"); });
  EXPECT_CODE(thrown, absl::StatusCode::kUnknown);
  EXPECT_TRUE(absl::StrContains(thrown.status().message(),
                                "task threw std::runtime_error: boom"))
      << thrown.status();
  auto odd = pool.Apply([]() -> int { throw 7; });
  EXPECT_CODE(odd, absl::StatusCode::kUnknown);
  // The pool goes on.
  EXPECT_EQ(*pool.Apply([] { return 1; }), 1);
}

TEST(ThreadPoolTest, AsyncResultWaitsReadyAndSuccessful) {
  ThreadPool pool(1);
  absl::Notification go;
  ThreadResult<int> r = pool.ApplyAsync([&] {
    go.WaitForNotification();
    return 42;
  });
  EXPECT_FALSE(r.Ready());
  EXPECT_CODE(r.Successful(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(r.Get(absl::Milliseconds(20)),
              absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(r.Wait(absl::Milliseconds(1)));
  go.Notify();
  EXPECT_TRUE(r.Wait());
  EXPECT_TRUE(r.Ready());
  EXPECT_TRUE(*r.Successful());
  EXPECT_EQ(*r.Get(), 42);
  ThreadResult<int> failed = pool.ApplyAsync(
      []() -> absl::StatusOr<int> { return absl::AbortedError("no"); });
  failed.Wait();
  EXPECT_FALSE(*failed.Successful());
}

TEST(ThreadPoolTest, CallbacksRunOneAtATimeInCompletionOrder) {
  ThreadPool pool(4);
  absl::Mutex mu;
  std::vector<int> order;
  std::vector<absl::Status> errors;
  std::atomic<int> in_callback{0};
  std::atomic<int> overlap{0};
  absl::Notification release[4];
  std::vector<ThreadResult<int>> results;
  // Submitted 0..3; the test lets them finish 3, 2, 1, 0, each once the
  // callback of the one before has run.
  for (int i = 0; i < 4; ++i) {
    results.push_back(pool.ApplyAsync(
        [&release](int n) -> absl::StatusOr<int> {
          release[n].WaitForNotification();
          if (n == 1) return absl::InternalError("one fails");
          return n;
        },
        std::make_tuple(i),
        [&](const int& n) {
          absl::MutexLock l(&mu);
          order.push_back(n);
        },
        [&](const absl::Status& s) {
          absl::MutexLock l(&mu);
          order.push_back(-1);
          errors.push_back(s);
        }));
  }
  for (int n : {3, 2, 1, 0}) {
    release[n].Notify();
    results[n].Wait();  // a ready result's callback has run
  }
  {
    absl::MutexLock l(&mu);
    EXPECT_EQ(order, (std::vector<int>{3, 2, -1, 0}));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_CODE(errors[0], absl::StatusCode::kInternal);
  }
  // Tasks that finish together still have their callbacks run one at a
  // time.
  absl::Notification go;
  std::vector<ThreadResult<int>> together;
  for (int i = 0; i < 4; ++i) {
    together.push_back(pool.ApplyAsync(
        [&go](int n) -> absl::StatusOr<int> {
          go.WaitForNotification();
          return n;
        },
        std::make_tuple(i),
        [&](const int&) {
          if (in_callback.fetch_add(1) > 0) ++overlap;
          absl::SleepFor(absl::Milliseconds(5));  // a window to overlap in
          in_callback.fetch_sub(1);
        }));
  }
  go.Notify();
  for (const auto& r : together) r.Wait();
  EXPECT_EQ(overlap.load(), 0);
}

TEST(ThreadPoolTest, MapKeepsOrderAcrossChunksAndFailsOnTheFirstError) {
  ThreadPool pool(3);
  std::vector<int> items(1000);
  std::iota(items.begin(), items.end(), 0);
  for (int64_t chunksize : {0, 1, 7, 5000}) {
    auto squares = pool.Map([](int x) { return x * x; }, items, chunksize);
    ASSERT_OK(squares);
    ASSERT_EQ(squares->size(), items.size());
    for (int i = 0; i < 1000; ++i) EXPECT_EQ((*squares)[i], i * i);
  }
  auto failed = pool.Map(
      [](int x) -> absl::StatusOr<int> {
        if (x == 10 || x == 900) {
          return absl::OutOfRangeError(absl::StrCat("item ", x));
        }
        return x;
      },
      items, 10);
  EXPECT_CODE(failed, absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "item 10"));
  auto empty = pool.Map([](int x) { return x; }, std::vector<int>{});
  ASSERT_OK(empty);
  EXPECT_TRUE(empty->empty());

  std::vector<std::tuple<int, int>> pairs = {{1, 2}, {3, 4}};
  auto sums = pool.Starmap([](int a, int b) { return a + b; }, pairs);
  ASSERT_OK(sums);
  EXPECT_EQ(*sums, (std::vector<int>{3, 7}));

  absl::Notification called;
  std::vector<int> seen;
  auto async =
      pool.MapAsync([](int x) { return -x; }, std::vector<int>{1, 2, 3}, 0,
                    [&](const std::vector<int>& all) {
                      seen = all;
                      called.Notify();
                    });
  ASSERT_OK(async.Get());
  EXPECT_TRUE(called.HasBeenNotified());
  EXPECT_EQ(seen, (std::vector<int>{-1, -2, -3}));
}

TEST(ThreadPoolTest, ImapInOrderImapUnorderedAsTheyFinish) {
  ThreadPool pool(3);
  const std::vector<int> delays = {60, 0, 30};
  auto sleep_then_return = [](int ms) {
    absl::SleepFor(absl::Milliseconds(ms));
    return ms;
  };
  ThreadResultIterator<int> ordered = pool.Imap(sleep_then_return, delays);
  std::vector<int> got;
  for (;;) {
    absl::StatusOr<std::optional<int>> next = ordered.Next();
    ASSERT_OK(next);
    if (!next->has_value()) break;
    got.push_back(**next);
  }
  EXPECT_EQ(got, delays);
  ThreadResultIterator<int> unordered =
      pool.ImapUnordered(sleep_then_return, delays);
  got.clear();
  for (;;) {
    absl::StatusOr<std::optional<int>> next = unordered.Next();
    ASSERT_OK(next);
    if (!next->has_value()) break;
    got.push_back(**next);
  }
  EXPECT_EQ(got, (std::vector<int>{0, 30, 60}));
  ThreadResultIterator<int> slow =
      pool.Imap(sleep_then_return, std::vector<int>{500});
  EXPECT_CODE(slow.Next(absl::Milliseconds(10)),
              absl::StatusCode::kDeadlineExceeded);
}

TEST(ThreadPoolTest, CloseRefusesNewTasksAndJoinWaitsForTheQueued) {
  ThreadPool pool(2);
  EXPECT_CODE(pool.Join(), absl::StatusCode::kFailedPrecondition);
  std::atomic<int> done{0};
  for (int i = 0; i < 20; ++i) {
    pool.ApplyAsync([&] {
      absl::SleepFor(absl::Milliseconds(2));
      ++done;
    });
  }
  pool.Close();
  absl::Status refused_by_callback;
  auto refused =
      pool.ApplyAsync([] { return 1; }, std::tuple<>(), nullptr,
                      [&](const absl::Status& s) { refused_by_callback = s; });
  EXPECT_CODE(refused.Get(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(refused_by_callback, absl::StatusCode::kFailedPrecondition);
  ASSERT_OK(pool.Join());
  EXPECT_EQ(done.load(), 20);
}

TEST(ThreadPoolTest, SubmissionToAJoinedPoolFailsThroughItsErrorCallback) {
  ThreadPool pool(2);
  pool.Close();
  ASSERT_OK(pool.Join());
  ASSERT_OK(pool.Join());  // again: at once
  absl::Status seen;
  auto late = pool.ApplyAsync([] { return 1; }, std::tuple<>(), nullptr,
                              [&](const absl::Status& s) { seen = s; });
  EXPECT_CODE(late.Get(absl::Seconds(10)),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(seen, absl::StatusCode::kFailedPrecondition);
  auto late_map = pool.MapAsync([](int x) { return x; }, std::vector<int>{1}, 0,
                                [](const std::vector<int>&) {});
  EXPECT_CODE(late_map.Get(absl::Seconds(10)),
              absl::StatusCode::kFailedPrecondition);
}

TEST(ThreadPoolTest, TerminateDropsWhatHasNotStarted) {
  ThreadPool pool(1);
  absl::Notification started, release;
  ThreadResult<int> running = pool.ApplyAsync([&] {
    started.Notify();
    release.WaitForNotification();
    return 1;
  });
  std::vector<ThreadResult<int>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(pool.ApplyAsync([] { return 2; }));
  auto queued_map =
      pool.MapAsync([](int x) { return x; }, std::vector<int>{1, 2});
  ThreadResultIterator<int> queued_imap =
      pool.ImapUnordered([](int x) { return x; }, std::vector<int>{1});
  started.WaitForNotification();
  pool.Terminate();
  release.Notify();
  ASSERT_OK(pool.Join());
  EXPECT_EQ(*running.Get(), 1);  // it had started: it finished
  for (const auto& r : queued) {
    EXPECT_CODE(r.Get(), absl::StatusCode::kCancelled);
  }
  EXPECT_CODE(queued_map.Get(), absl::StatusCode::kCancelled);
  EXPECT_CODE(queued_imap.Next(), absl::StatusCode::kCancelled);
}

TEST(ThreadPoolTest, HundredThousandSmallTasks) {
  ThreadPool pool(4);
  std::vector<ThreadResult<int64_t>> results;
  results.reserve(100000);
  for (int64_t i = 0; i < 100000; ++i) {
    results.push_back(
        pool.ApplyAsync([](int64_t x) { return x; }, std::make_tuple(i)));
  }
  int64_t sum = 0;
  for (const auto& r : results) sum += *r.Get();
  EXPECT_EQ(sum, int64_t{100000} * 99999 / 2);
}

TEST(ThreadPoolTest, DestroyingThePoolCancelsItsQueuedTasks) {
  ThreadResult<int> queued = [] {
    ThreadPool pool(1);
    pool.ApplyAsync([] {
      absl::SleepFor(absl::Milliseconds(50));
      return 0;
    });
    return pool.ApplyAsync([] { return 1; });
  }();
  EXPECT_CODE(queued.Get(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace mproc
