// The seed tutorials' Manager examples, rebuilt on mproc with real forked
// processes sharing objects through a real manager.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <iostream>
#include <thread>

#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::ForkChild;
using testing::WaitChild;
using SeedScenarioTest = testing::ManagerTest;

// Forks `n` children running `body(i)`; returns how many exited non-zero.
int RunChildren(int n, const std::function<int(int)>& body) {
  std::vector<pid_t> pids;
  for (int i = 0; i < n; ++i)
    pids.push_back(ForkChild([&body, i] { return body(i); }));
  int failures = 0;
  for (pid_t pid : pids) failures += WaitChild(pid) != 0;
  return failures;
}

// Seed: `dic = m.dict({'count': 100})`, 100 processes each decrement it.
// With an atomic add the classic lost-update race cannot happen.
TEST_F(SeedScenarioTest, HundredProcessesDecrementACounterToExactlyZero) {
  auto dic = manager_->Dict(UniqueName(), Map{{"count", 100}});
  ASSERT_OK(dic);
  const std::string address = server_->address();
  const std::string name = UniqueName();
  int failures = RunChildren(100, [&](int) {
    auto m = Manager::Connect(address);
    if (!m.ok()) {
      std::cerr << "child " << getpid() << ": " << m.status() << std::endl;
      return 2;
    }
    auto d = (*m)->Dict(name);
    if (!d.ok()) return 3;
    return d->Add("count", -1).ok() ? 0 : 4;
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*dic->Get("count"), Value(0));
}

// Seed: `l = manager.list()` handed to a child Process that appends to it;
// the parent sees the child's items after join(). The child uses the
// parent's own proxy, inherited through fork().
TEST_F(SeedScenarioTest, ChildAppendsThroughTheParentsProxy) {
  auto l = manager_->List(UniqueName());
  ASSERT_OK(l);
  ASSERT_OK(l->Append("parent"));
  pid_t child = ForkChild([&l] {
    for (int i = 0; i < 3; ++i) {
      if (!l->Append(i).ok()) return 1;
    }
    return 0;
  });
  ASSERT_EQ(WaitChild(child), 0);
  EXPECT_EQ(*l->Slice(), (List{"parent", 0, 1, 2}));
  ASSERT_OK(l->Append("parent-again"));  // the parent's session still works
  EXPECT_EQ(*l->Len(), 5);
}

TEST_F(SeedScenarioTest, EightProcessesAppendEightThousandItemsNoneLost) {
  auto l = manager_->List(UniqueName());
  ASSERT_OK(l);
  int failures = RunChildren(8, [&l](int worker) {
    for (int i = 0; i < 1000; ++i) {
      if (!l->Append(worker * 1000 + i).ok()) return 1;
    }
    return 0;
  });
  EXPECT_EQ(failures, 0);
  auto items = l->Slice();
  ASSERT_OK(items);
  ASSERT_EQ(items->size(), 8000u);
  std::vector<bool> seen(8000, false);
  for (const Value& v : *items) seen[v.int_value()] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 8000);
}

// Seed: `num = manager.Value('i', 1)`; one process adds 1, another
// subtracts 2, repeatedly. In Python `num.value = num.value + 1` races; an
// atomic add makes the result exact.
TEST_F(SeedScenarioTest, PlusOneAndMinusTwoProcessesOnASharedValue) {
  auto num = manager_->Value(UniqueName(), "i", 1);
  ASSERT_OK(num);
  int failures = RunChildren(2, [&num](int which) {
    for (int i = 0; i < 500; ++i) {
      if (!num->Add(which == 0 ? 1 : -2).ok()) return 1;
    }
    return 0;
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*num->Get(), Value(1 + 500 - 1000));
}

// A process forks while another of its threads is using the same Manager:
// the fork waits for that thread's call, and both sides carry on.
TEST_F(SeedScenarioTest, ForkWhileAnotherThreadIsBusy) {
  auto l = manager_->List(UniqueName());
  ASSERT_OK(l);
  std::atomic<bool> stop{false};
  std::atomic<int> thread_appends{0};
  std::thread busy([&] {
    while (!stop.load()) {
      if (l->Append("thread").ok()) thread_appends.fetch_add(1);
    }
  });
  int failures = 0;
  for (int child = 0; child < 5; ++child) {
    pid_t pid = ForkChild([&l] {
      for (int i = 0; i < 10; ++i) {
        if (!l->Append("child").ok()) return 1;
      }
      return 0;
    });
    failures += WaitChild(pid) != 0;
  }
  stop.store(true);
  busy.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(*l->Count("child"), 50);
  EXPECT_EQ(*l->Count("thread"), thread_appends.load());
}

// Seed (Namespace): processes publish results as attributes.
TEST_F(SeedScenarioTest, ProcessesPublishIntoANamespace) {
  auto ns = manager_->Namespace(UniqueName());
  ASSERT_OK(ns);
  int failures = RunChildren(4, [&ns](int i) {
    return ns->Set("worker" + std::to_string(i), static_cast<int64_t>(getpid()))
                   .ok()
               ? 0
               : 1;
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(ns->Items()->size(), 4u);
}

}  // namespace
}  // namespace mproc
