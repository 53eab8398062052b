#include "server/store/ordered_worker.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace mproc {
namespace {

TEST(OrderedWorkerTest, RunsStepsInOrderOnAnotherThread) {
  std::vector<int> seen;  // touched only by the worker's thread
  std::thread::id ran_on;
  {
    OrderedWorker worker(4);
    for (int i = 0; i < 1000; ++i) {
      worker.Add([&seen, &ran_on, i] {
        seen.push_back(i);
        ran_on = std::this_thread::get_id();
        return absl::OkStatus();
      });
    }
    EXPECT_TRUE(worker.Drain().ok());
  }
  ASSERT_EQ(seen.size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[i], i);
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(OrderedWorkerTest, AFailureDropsTheStepsAfterItAndIsReported) {
  OrderedWorker worker(2);
  int ran = 0;
  worker.Add([&ran] {
    ++ran;
    return absl::OkStatus();
  });
  worker.Add([] { return absl::DataLossError("record 2 is damaged"); });
  for (int i = 0; i < 10; ++i) {
    worker.Add([&ran] {
      ++ran;
      return absl::OkStatus();
    });
  }
  const absl::Status drained = worker.Drain();
  EXPECT_EQ(drained.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(drained.message(), "record 2 is damaged");
  EXPECT_EQ(worker.status(), drained);
  EXPECT_EQ(ran, 1);
}

TEST(OrderedWorkerTest, AddWaitsWhileTheQueueIsFull) {
  OrderedWorker worker(2);
  absl::Notification gate;
  worker.Add([&gate] {
    gate.WaitForNotification();
    return absl::OkStatus();
  });
  // The first step runs (and blocks); two more fill the queue.
  absl::Notification first_two;
  absl::Notification third;
  std::thread adder([&] {
    worker.Add([] { return absl::OkStatus(); });
    worker.Add([] { return absl::OkStatus(); });
    first_two.Notify();
    worker.Add([] { return absl::OkStatus(); });
    third.Notify();
  });
  first_two.WaitForNotification();
  EXPECT_FALSE(third.WaitForNotificationWithTimeout(absl::Milliseconds(100)))
      << "a third step was queued while two waited behind a running one";
  gate.Notify();
  third.WaitForNotification();
  adder.join();
  EXPECT_TRUE(worker.Drain().ok());
}

}  // namespace
}  // namespace mproc
