// Shared queues through a real manager, used by real processes (started
// with mproc::Process): the seed tutorials' Queue scenarios, waiting
// without server threads, and no item lost to a consumer that dies.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "tests/support/manager_fixture.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

class QueueTest : public testing::ManagerTest {
 protected:
  void FourProducersFourConsumers();
};

// The same traffic through a manager serving on three threads: clients'
// streams are spread over them, and a put on one thread answers a get
// parked on another.
class QueueOnThreeThreadsTest : public QueueTest {
 protected:
  static void SetUpTestSuite() {
    StartServer({"--session-lease", "2", "--threads", "3"});
  }
};

// In a child process: a fresh connection and the queue `name`.
absl::StatusOr<QueueProxy> OpenQueue(const std::string& address,
                                     const std::string& name,
                                     std::unique_ptr<Manager>* manager) {
  absl::StatusOr<std::unique_ptr<Manager>> m = Manager::Connect(address);
  if (!m.ok()) return m.status();
  *manager = *std::move(m);
  return (*manager)->Queue(name);
}

// Waits until queue `name` has `getters` and `putters` calls parked.
bool AwaitWaiters(Manager& manager, const std::string& name, int64_t getters,
                  int64_t putters, absl::Duration timeout = absl::Seconds(20)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    absl::StatusOr<std::vector<ObjectInfo>> objects = manager.Objects();
    if (!objects.ok()) return false;
    for (const ObjectInfo& o : *objects) {
      if (o.name != name) continue;
      auto count = [&o](const char* key) {
        auto it = o.details.find(Value(key));
        return it == o.details.end() ? -1 : it->second.int_value();
      };
      if (count("getters") == getters && count("putters") == putters) {
        return true;
      }
    }
    absl::SleepFor(absl::Milliseconds(2));  // polling the condition
  }
  return false;
}

TEST_F(QueueTest, SeedProducerAndConsumerPassTenItemsThroughAQueueOfThree) {
  const std::string name = UniqueName();
  ASSERT_OK(manager_->Queue(name, 3));
  const std::string address = server_->address();
  Process producer([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> q = OpenQueue(address, name, &m);
    if (!q.ok()) return q.status();
    for (int i = 0; i < 10; ++i) {
      if (absl::Status s = q->Put(i); !s.ok()) return s;  // waits while full
    }
    return absl::OkStatus();
  });
  Process consumer([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> q = OpenQueue(address, name, &m);
    if (!q.ok()) return q.status();
    for (int i = 0; i < 10; ++i) {
      absl::StatusOr<Value> v = q->Get();
      if (!v.ok()) return v.status();
      if (*v != Value(i)) return absl::InternalError("out of order");
    }
    return absl::OkStatus();
  });
  ASSERT_OK(producer.Start());
  ASSERT_OK(consumer.Start());
  ASSERT_OK(producer.Join());
  ASSERT_OK(consumer.Join());
  EXPECT_EQ(producer.exitcode(), 0);
  EXPECT_EQ(consumer.exitcode(), 0);
  EXPECT_EQ(*(*manager_->Queue(name)).Size(), 0);
}

TEST_F(QueueTest, SeedFullQueueRefusesPutNowaitAndTimesOutAPut) {
  absl::StatusOr<QueueProxy> q = manager_->Queue(UniqueName(), 3);
  ASSERT_OK(q);
  for (int i = 0; i < 3; ++i) ASSERT_OK(q->Put(i));
  EXPECT_TRUE(*q->Full());
  absl::Status nowait = q->PutNowait(3);
  EXPECT_TRUE(IsQueueFull(nowait)) << nowait;
  const absl::Time start = absl::Now();
  absl::Status timed = q->Put(3, absl::Seconds(2));
  EXPECT_TRUE(IsQueueFull(timed)) << timed;
  EXPECT_GE(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(*q->Size(), 3);
  EXPECT_EQ(*q->Get(), Value(0));
}

TEST_F(QueueTest, EmptyQueueGetNowaitAndGetWithTimeout) {
  absl::StatusOr<QueueProxy> q = manager_->Queue(UniqueName());
  ASSERT_OK(q);
  EXPECT_TRUE(*q->Empty());
  EXPECT_TRUE(IsQueueEmpty(q->GetNowait().status()));
  const absl::Time start = absl::Now();
  absl::StatusOr<Value> timed = q->Get(absl::Milliseconds(200));
  EXPECT_TRUE(IsQueueEmpty(timed.status())) << timed.status();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  EXPECT_TRUE(AwaitWaiters(*manager_, UniqueName(), 0, 0));
}

TEST_F(QueueTest, BlockedGetterReceivesALaterPut) {
  const std::string name = UniqueName();
  ASSERT_OK(manager_->Queue(name));
  const std::string address = server_->address();
  Process consumer([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> q = OpenQueue(address, name, &m);
    if (!q.ok()) return q.status();
    absl::StatusOr<Value> v = q->Get();
    if (!v.ok()) return v.status();
    return *v == Value("late") ? absl::OkStatus()
                               : absl::InternalError(v->ToString());
  });
  ASSERT_OK(consumer.Start());
  ASSERT_TRUE(AwaitWaiters(*manager_, name, 1, 0));
  ASSERT_OK((*manager_->Queue(name)).Put("late"));
  ASSERT_OK(consumer.Join());
  EXPECT_EQ(consumer.exitcode(), 0);
}

TEST_F(QueueTest, BlockedPutterEntersWhenRoomFrees) {
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name, 1);
  ASSERT_OK(q);
  ASSERT_OK(q->Put("first"));
  const std::string address = server_->address();
  Process producer([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> mine = OpenQueue(address, name, &m);
    if (!mine.ok()) return mine.status();
    return mine->Put("second");
  });
  ASSERT_OK(producer.Start());
  ASSERT_TRUE(AwaitWaiters(*manager_, name, 0, 1));
  EXPECT_EQ(*q->Get(), Value("first"));
  EXPECT_EQ(*q->Get(), Value("second"));
  ASSERT_OK(producer.Join());
  EXPECT_EQ(producer.exitcode(), 0);
}

TEST_F(QueueTest, ConsumerKilledWhileBlockedLosesNoItem) {
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name);
  ASSERT_OK(q);
  const std::string address = server_->address();
  Process consumer([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> mine = OpenQueue(address, name, &m);
    if (!mine.ok()) return 2;
    mine->Get().IgnoreError();
    return 3;  // not reached: killed while waiting
  });
  ASSERT_OK(consumer.Start());
  ASSERT_TRUE(AwaitWaiters(*manager_, name, 1, 0));
  ASSERT_OK(consumer.Kill());
  ASSERT_OK(consumer.Join());
  EXPECT_EQ(consumer.exitcode(), -SIGKILL);
  // The manager withdraws the dead session's get...
  ASSERT_TRUE(AwaitWaiters(*manager_, name, 0, 0));
  // ...so the next item stays in the queue for a live consumer.
  ASSERT_OK(q->Put("precious"));
  EXPECT_EQ(*q->GetNowait(), Value("precious"));
}

TEST_F(QueueTest, FourProducersFourConsumersDeliverEachItemExactlyOnce) {
  FourProducersFourConsumers();
}

TEST_F(QueueOnThreeThreadsTest,
       FourProducersFourConsumersDeliverEachItemExactlyOnce) {
  FourProducersFourConsumers();
}

void QueueTest::FourProducersFourConsumers() {
  constexpr int kProducers = 4, kConsumers = 4, kItems = 5000;
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name, 100);  // puts wait too
  ASSERT_OK(q);
  const std::string address = server_->address();
  std::vector<std::unique_ptr<Process>> producers, consumers;
  auto [results, results_in] = *Pipe(/*duplex=*/false);
  for (int p = 0; p < kProducers; ++p) {
    producers.push_back(std::make_unique<Process>([&, p] {
      std::unique_ptr<Manager> m;
      absl::StatusOr<QueueProxy> mine = OpenQueue(address, name, &m);
      if (!mine.ok()) return mine.status();
      for (int i = 0; i < kItems; ++i) {
        if (absl::Status s = mine->Put(p * 1000000 + i); !s.ok()) return s;
      }
      return absl::OkStatus();
    }));
  }
  for (int c = 0; c < kConsumers; ++c) {
    consumers.push_back(std::make_unique<Process>([&, &out = results_in] {
      std::unique_ptr<Manager> m;
      absl::StatusOr<QueueProxy> mine = OpenQueue(address, name, &m);
      if (!mine.ok()) return mine.status();
      int64_t count = 0, sum = 0;
      for (;;) {
        absl::StatusOr<Value> v = mine->Get();
        if (!v.ok()) return v.status();
        if (v->is_null()) break;  // the stop marker
        ++count;
        sum += v->int_value();
      }
      return out.Send(List{count, sum});
    }));
  }
  for (auto& p : producers) ASSERT_OK(p->Start());
  for (auto& c : consumers) ASSERT_OK(c->Start());
  results_in.Close();
  for (auto& p : producers) {
    ASSERT_OK(p->Join());
    EXPECT_EQ(p->exitcode(), 0);
  }
  for (int c = 0; c < kConsumers; ++c) ASSERT_OK(q->Put(nullptr));
  int64_t count = 0, sum = 0;
  for (int c = 0; c < kConsumers; ++c) {
    absl::StatusOr<Value> r = results.Recv();
    ASSERT_OK(r);
    count += r->list_value()[0].int_value();
    sum += r->list_value()[1].int_value();
  }
  for (auto& c : consumers) {
    ASSERT_OK(c->Join());
    EXPECT_EQ(c->exitcode(), 0);
  }
  int64_t expected_sum = 0;
  for (int p = 0; p < kProducers; ++p) {
    for (int i = 0; i < kItems; ++i) expected_sum += p * 1000000 + i;
  }
  EXPECT_EQ(count, kProducers * kItems);
  EXPECT_EQ(sum, expected_sum);
  EXPECT_EQ(*q->Size(), 0);
}

TEST_F(QueueTest, JoinableQueueJoinWaitsForEveryTaskDone) {
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->JoinableQueue(name);
  ASSERT_OK(q);
  ASSERT_OK(q->Join(absl::ZeroDuration()));  // nothing unfinished
  ASSERT_OK(q->PutMany({1, 2, 3}));
  EXPECT_CODE(q->Join(absl::Milliseconds(50)),
              absl::StatusCode::kDeadlineExceeded);
  const std::string address = server_->address();
  Process worker([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> mine = OpenQueue(address, name, &m);
    if (!mine.ok()) return mine.status();
    for (int i = 0; i < 3; ++i) {
      if (absl::Status s = mine->Get().status(); !s.ok()) return s;
      if (absl::Status s = mine->TaskDone(); !s.ok()) return s;
    }
    return absl::OkStatus();
  });
  ASSERT_OK(worker.Start());
  ASSERT_OK(q->Join(absl::Seconds(30)));  // parked until the third task_done
  ASSERT_OK(worker.Join());
  EXPECT_EQ(worker.exitcode(), 0);
  absl::Status extra = q->TaskDone();
  EXPECT_CODE(extra, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(extra.message().find("task_done"), absl::string_view::npos);
}

TEST_F(QueueTest, CloseRefusesPutsAndDrainsGets) {
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name);
  ASSERT_OK(q);
  ASSERT_OK(q->Put("left"));
  ASSERT_OK(q->Close());
  absl::Status put = q->Put("late");
  EXPECT_CODE(put, absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsQueueClosed(put));
  EXPECT_EQ(*q->Get(), Value("left"));  // drains what is left
  absl::StatusOr<Value> drained = q->Get();
  EXPECT_CODE(drained, absl::StatusCode::kOutOfRange);
  EXPECT_TRUE(IsQueueClosed(drained.status()));

  // A getter already waiting when the queue closes is released.
  absl::StatusOr<QueueProxy> other = manager_->Queue(name + "-2");
  ASSERT_OK(other);
  const std::string address = server_->address();
  const std::string other_name = name + "-2";
  Process getter([&] {
    std::unique_ptr<Manager> m;
    absl::StatusOr<QueueProxy> mine = OpenQueue(address, other_name, &m);
    if (!mine.ok()) return 2;
    return IsQueueClosed(mine->Get().status()) ? 0 : 3;
  });
  ASSERT_OK(getter.Start());
  ASSERT_TRUE(AwaitWaiters(*manager_, other_name, 1, 0));
  ASSERT_OK(other->Close());
  ASSERT_OK(getter.Join());
  EXPECT_EQ(getter.exitcode(), 0);
}

TEST_F(QueueTest, PutManyAndGetManyMoveBatches) {
  absl::StatusOr<QueueProxy> q = manager_->Queue(UniqueName(), 5);
  ASSERT_OK(q);
  ASSERT_OK(q->PutMany({1, 2, 3, 4}));
  absl::Status too_many = q->PutMany({5, 6});
  EXPECT_TRUE(IsQueueFull(too_many)) << too_many;  // all or none
  EXPECT_EQ(*q->Size(), 4);
  EXPECT_EQ(*q->GetMany(3), (List{1, 2, 3}));
  EXPECT_EQ(*q->GetMany(10), (List{4}));
  EXPECT_TRUE(IsQueueEmpty(q->GetMany(2, absl::ZeroDuration()).status()));
}

int ThreadsOf(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    int n;
    if (line.rfind("Threads:", 0) == 0 &&
        absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(8)), &n)) {
      return n;
    }
  }
  return -1;
}

TEST_F(QueueTest, ThousandBlockedGettersUseNoManagerThreads) {
  constexpr int kClients = 10, kGettersEach = 100;
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name);
  ASSERT_OK(q);
  std::vector<std::unique_ptr<Manager>> clients;
  for (int c = 0; c < kClients; ++c) {
    auto m = Manager::Connect(server_->address());
    ASSERT_OK(m);
    ASSERT_OK((*m)->Queue(name));  // connected and warm
    clients.push_back(*std::move(m));
  }
  const int threads_before = ThreadsOf(server_->pid());
  std::atomic<int> received{0};
  std::vector<std::thread> getters;
  for (int c = 0; c < kClients; ++c) {
    for (int g = 0; g < kGettersEach; ++g) {
      getters.emplace_back([&, c] {
        absl::StatusOr<QueueProxy> mine = clients[c]->Queue(name);
        if (mine.ok() && mine->Get().ok()) ++received;
      });
    }
  }
  ASSERT_TRUE(AwaitWaiters(*manager_, name, kClients * kGettersEach, 0));
  const int threads_parked = ThreadsOf(server_->pid());
  List items;
  for (int i = 0; i < kClients * kGettersEach; ++i) items.push_back(i);
  ASSERT_OK(q->PutMany(items));
  for (std::thread& t : getters) t.join();
  EXPECT_EQ(received.load(), kClients * kGettersEach);
  // No thread per waiter: at most the one or two gRPC's own pools may add
  // under load (seen under TSan), never anything like 1,000 or 100.
  EXPECT_LE(threads_parked, threads_before + 2)
      << "manager threads: " << threads_before << " before, " << threads_parked
      << " with 1,000 parked gets";
}

TEST_F(QueueTest, DeletingAQueueAnswersItsParkedCalls) {
  const std::string name = UniqueName();
  absl::StatusOr<QueueProxy> q = manager_->Queue(name, 1);
  ASSERT_OK(q);
  ASSERT_OK(q->Put(1));  // full: a put waits too
  std::unique_ptr<Manager> other;
  absl::StatusOr<QueueProxy> theirs =
      OpenQueue(server_->address(), name, &other);
  ASSERT_OK(theirs);
  absl::StatusOr<QueueProxy> empty = manager_->Queue(name + "-empty");
  ASSERT_OK(empty);
  absl::Status put, get;
  std::thread putter([&] { put = theirs->Put(2, absl::Seconds(60)); });
  std::thread getter([&] { get = empty->Get(absl::Seconds(60)).status(); });
  ASSERT_TRUE(testing::AwaitDetail(*manager_, name, "putters", Value(1)));
  ASSERT_TRUE(
      testing::AwaitDetail(*manager_, name + "-empty", "getters", Value(1)));
  const absl::Time start = absl::Now();
  ASSERT_OK(manager_->DeleteObject(name));
  ASSERT_OK(manager_->DeleteObject(name + "-empty"));
  putter.join();
  getter.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));  // not their timeouts
  EXPECT_CODE(put, absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(put.message(), "was deleted")) << put;
  EXPECT_CODE(get, absl::StatusCode::kNotFound);
  // The name is free for a new queue.
  absl::StatusOr<QueueProxy> again = manager_->Queue(name);
  ASSERT_OK(again);
  EXPECT_EQ(*again->Size(), 0);
}

TEST_F(QueueTest, BadInputIsRefusedClearly) {
  const std::string name = UniqueName();
  EXPECT_CODE(manager_->Queue(name, -1), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<QueueProxy> q = manager_->Queue(name, 2);
  ASSERT_OK(q);
  EXPECT_CODE(manager_->Queue(name, 5), absl::StatusCode::kFailedPrecondition);
  EXPECT_OK(manager_->Queue(name));  // maxsize 0 attaches to any
  absl::StatusOr<Value> negative = q->Get(absl::Seconds(-1));
  EXPECT_CODE(negative, absl::StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("timeout"),
            absl::string_view::npos);
  EXPECT_CODE(q->GetMany(0), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(manager_->Dict(name + "-dict"));
  EXPECT_CODE(manager_->Queue(name + "-dict"),
              absl::StatusCode::kFailedPrecondition);
  // The manager still serves.
  ASSERT_OK(q->Put(1));
  EXPECT_EQ(*q->Get(), Value(1));
}

}  // namespace
}  // namespace mproc
