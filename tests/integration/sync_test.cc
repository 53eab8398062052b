// Locks, semaphores and events through a real manager, used by real
// processes: the seed's bank-balance lock, holders that die, wake-ups.
#include <signal.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "tests/support/manager_fixture.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

using SyncTest = testing::ManagerTest;
using testing::AwaitDetail;
using testing::DetailOf;

std::unique_ptr<Manager> ConnectOrNull(const std::string& address) {
  absl::StatusOr<std::unique_ptr<Manager>> m = Manager::Connect(address);
  return m.ok() ? *std::move(m) : nullptr;
}

TEST_F(SyncTest, SeedBankBalanceUnderALockEndsAtZero) {
  // Seed: two processes x 10,000 (lock; balance += n; balance -= n;
  // unlock) on a shared Value, each step a separate read and write.
  const std::string name = UniqueName();
  ASSERT_OK(manager_->Value(name + "-balance", "int", 0));
  ASSERT_OK(manager_->Lock(name + "-lock"));
  const std::string address = server_->address();
  auto body = [&](int n) -> absl::Status {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return absl::UnavailableError("connect");
    absl::StatusOr<ValueProxy> balance = m->Value(name + "-balance", "int");
    absl::StatusOr<LockProxy> lock = m->Lock(name + "-lock");
    if (!balance.ok() || !lock.ok()) return absl::InternalError("open");
    for (int i = 0; i < 10000; ++i) {
      ScopedLock held(*lock);
      if (!held.ok()) return held.status();
      for (int sign : {1, -1}) {
        absl::StatusOr<Value> b = balance->Get();
        if (!b.ok()) return b.status();
        if (absl::Status s = balance->Set(b->int_value() + sign * n); !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  };
  Process a(body, 5), b(body, 8);
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  ASSERT_OK(a.Join());
  ASSERT_OK(b.Join());
  EXPECT_EQ(a.exitcode(), 0);
  EXPECT_EQ(b.exitcode(), 0);
  EXPECT_EQ(*(*manager_->Value(name + "-balance", "int")).Get(), Value(0));
}

TEST_F(SyncTest, LockOfAKilledHolderPassesToTheWaiter) {
  const std::string name = UniqueName();
  absl::StatusOr<LockProxy> lock = manager_->Lock(name);
  ASSERT_OK(lock);
  const std::string address = server_->address();
  auto [parent, child] = *Pipe();
  Process holder([&, &child = child] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> mine = m->Lock(name);
    if (!mine.ok() || !*mine->Acquire()) return 3;
    if (!child.Send("holding").ok()) return 4;
    for (;;) pause();  // dies holding it
  });
  ASSERT_OK(holder.Start());
  ASSERT_EQ(*parent.Recv(), Value("holding"));
  EXPECT_EQ(*lock->TryAcquire(), false);
  EXPECT_NE(DetailOf(*manager_, name, "holder"), Value());  // who holds it
  Process waiter([&] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> mine = m->Lock(name);
    if (!mine.ok()) return 3;
    absl::StatusOr<bool> got = mine->Acquire(absl::Seconds(30));
    return got.ok() && *got ? 0 : 4;
  });
  ASSERT_OK(waiter.Start());
  ASSERT_TRUE(AwaitDetail(*manager_, name, "waiters", Value(1)));
  ASSERT_OK(holder.Kill());
  ASSERT_OK(holder.Join());
  ASSERT_OK(waiter.Join());
  EXPECT_EQ(waiter.exitcode(), 0);
  // The waiter exited holding it: released again with its session.
  EXPECT_TRUE(AwaitDetail(*manager_, name, "locked", Value(false)));
}

TEST(SessionLeaseTest, LockOfASilentHolderIsReleasedAfterTheLease) {
  // A stopped process keeps its socket open but answers no pings, like a
  // machine that vanished: the manager ends its session after the lease.
  auto server =
      testing::ManagerProcess::Start("127.0.0.1:0", {"--session-lease", "2"});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<LockProxy> lock = (*manager)->Lock("leased");
  ASSERT_OK(lock);
  auto [parent, child] = *Pipe();
  Process holder([&, &child = child] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> mine = m->Lock("leased");
    if (!mine.ok() || !*mine->Acquire()) return 3;
    if (!child.Send("holding").ok()) return 4;
    for (;;) pause();
  });
  ASSERT_OK(holder.Start());
  ASSERT_EQ(*parent.Recv(), Value("holding"));
  ASSERT_EQ(kill(*holder.pid(), SIGSTOP), 0);
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> taken = lock->Acquire(absl::Seconds(30));
  ASSERT_OK(taken);
  EXPECT_TRUE(*taken);
  EXPECT_LT(absl::Now() - start, absl::Seconds(15));
  ASSERT_OK(holder.Kill());
  ASSERT_OK(holder.Join());
}

TEST_F(SyncTest, HeldLockSurvivesForkingAChild) {
  // Forking reconnects this process's Manager; the manager resumes its
  // session (same id, within the lease), so what it holds stays held. The
  // child is another process: another session.
  const std::string name = UniqueName();
  absl::StatusOr<LockProxy> lock = manager_->Lock(name);
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  Process child([&] {
    absl::StatusOr<bool> taken = lock->TryAcquire();  // inherited proxy
    return taken.ok() && !*taken ? 0 : 1;
  });
  ASSERT_OK(child.Start());
  ASSERT_OK(child.Join());
  EXPECT_EQ(child.exitcode(), 0);
  EXPECT_TRUE(*lock->Locked());
  EXPECT_OK(lock->Release());  // still ours
  EXPECT_FALSE(*lock->Locked());
}

TEST(SessionLeaseTest, CleanExitReleasesAtOnceAndACrashAfterTheLease) {
  // With a long lease, the difference is plain: a process that destroys its
  // Manager (a normal exit) says goodbye; a killed one does not.
  auto server =
      testing::ManagerProcess::Start("127.0.0.1:0", {"--session-lease", "30"});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  auto manager = Manager::Connect(address);
  ASSERT_OK(manager);
  absl::StatusOr<LockProxy> lock = (*manager)->Lock("goodbye");
  ASSERT_OK(lock);
  Process polite([&] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> mine = m->Lock("goodbye");
    return mine.ok() && *mine->Acquire() ? 0 : 3;  // exits holding it
  });
  ASSERT_OK(polite.Start());
  ASSERT_OK(polite.Join());
  ASSERT_EQ(polite.exitcode(), 0);
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> taken = lock->Acquire(absl::Seconds(60));
  ASSERT_OK(taken);
  EXPECT_TRUE(*taken);
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "waited for the lease";
  ASSERT_OK(lock->Release());

  auto [parent, child] = *Pipe();
  Process crashed([&, &child = child] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> mine = m->Lock("goodbye");
    if (!mine.ok() || !*mine->Acquire()) return 3;
    if (!child.Send("holding").ok()) return 4;
    for (;;) pause();
  });
  ASSERT_OK(crashed.Start());
  ASSERT_EQ(*parent.Recv(), Value("holding"));
  ASSERT_OK(crashed.Kill());
  ASSERT_OK(crashed.Join());
  // Within the lease the session could still be resumed: not released yet.
  EXPECT_FALSE(*lock->Acquire(absl::Seconds(1)));
}

TEST_F(SyncTest, RLockIsReentrantForItsThreadOnly) {
  absl::StatusOr<LockProxy> rlock = manager_->RLock(UniqueName());
  ASSERT_OK(rlock);
  EXPECT_TRUE(*rlock->Acquire());
  EXPECT_TRUE(*rlock->Acquire());  // same thread: again
  absl::Status other;
  std::thread([&] { other = rlock->Release(); }).join();
  EXPECT_CODE(other, absl::StatusCode::kFailedPrecondition);
  bool taken_elsewhere = true;
  std::thread([&] { taken_elsewhere = *rlock->TryAcquire(); }).join();
  EXPECT_FALSE(taken_elsewhere);
  ASSERT_OK(rlock->Release());
  EXPECT_TRUE(*rlock->Locked());  // still held once
  ASSERT_OK(rlock->Release());
  EXPECT_FALSE(*rlock->Locked());
  EXPECT_CODE(rlock->Release(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SyncTest, LockAcquireTimesOutWithFalse) {
  const std::string name = UniqueName();
  absl::StatusOr<LockProxy> lock = manager_->Lock(name);
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  const absl::Time start = absl::Now();
  bool second = true;
  std::thread([&] { second = *lock->Acquire(absl::Milliseconds(200)); }).join();
  EXPECT_FALSE(second);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(200));
  // A plain Lock may be released by another thread, as in Python.
  absl::Status released;
  std::thread([&] { released = lock->Release(); }).join();
  EXPECT_OK(released);
  EXPECT_CODE(lock->Release(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(manager_->RLock(name), absl::StatusCode::kFailedPrecondition);
}

TEST_F(SyncTest, SemaphoreCountsPermitsAndGetsThemBackFromTheDead) {
  const std::string name = UniqueName();
  absl::StatusOr<SemaphoreProxy> sem = manager_->Semaphore(name, 2);
  ASSERT_OK(sem);
  const std::string address = server_->address();
  auto [parent, child] = *Pipe();
  Process holder([&, &child = child] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<SemaphoreProxy> mine = m->Semaphore(name);
    if (!mine.ok() || !*mine->Acquire() || !*mine->Acquire()) return 3;
    if (!child.Send("holding two").ok()) return 4;
    for (;;) pause();
  });
  ASSERT_OK(holder.Start());
  ASSERT_EQ(*parent.Recv(), Value("holding two"));
  EXPECT_EQ(*sem->Value(), 0);
  EXPECT_FALSE(*sem->TryAcquire());
  ASSERT_OK(holder.Kill());
  ASSERT_OK(holder.Join());
  EXPECT_TRUE(*sem->Acquire(absl::Seconds(20)));  // a permit came back
  EXPECT_EQ(*sem->Value(), 1);
  ASSERT_OK(sem->Release());
  ASSERT_OK(sem->Release(5));  // unbounded: may grow, as in Python
  EXPECT_EQ(*sem->Value(), 7);
}

TEST_F(SyncTest, BoundedSemaphoreRefusesExtraReleases) {
  absl::StatusOr<SemaphoreProxy> sem =
      manager_->BoundedSemaphore(UniqueName(), 1);
  ASSERT_OK(sem);
  EXPECT_CODE(sem->Release(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(*sem->Acquire());
  EXPECT_FALSE(*sem->Acquire(absl::Milliseconds(50)));
  ASSERT_OK(sem->Release());
  EXPECT_CODE(sem->Release(0), absl::StatusCode::kInvalidArgument);
  EXPECT_CODE(manager_->Semaphore(UniqueName() + "-neg", -1),
              absl::StatusCode::kInvalidArgument);
}

TEST_F(SyncTest, EventWakesTwentyWaitingProcesses) {
  const std::string name = UniqueName();
  absl::StatusOr<EventProxy> event = manager_->Event(name);
  ASSERT_OK(event);
  const std::string address = server_->address();
  std::vector<std::unique_ptr<Process>> waiters;
  for (int i = 0; i < 20; ++i) {
    waiters.push_back(std::make_unique<Process>([&] {
      std::unique_ptr<Manager> m = ConnectOrNull(address);
      if (m == nullptr) return 2;
      absl::StatusOr<EventProxy> mine = m->Event(name);
      if (!mine.ok()) return 3;
      absl::StatusOr<bool> set = mine->Wait(absl::Seconds(60));
      return set.ok() && *set ? 0 : 4;
    }));
    ASSERT_OK(waiters.back()->Start());
  }
  ASSERT_TRUE(AwaitDetail(*manager_, name, "waiters", Value(20)));
  ASSERT_OK(event->Set());
  for (auto& w : waiters) {
    ASSERT_OK(w->Join());
    EXPECT_EQ(w->exitcode(), 0);
  }
  EXPECT_TRUE(*event->IsSet());
  EXPECT_TRUE(*event->Wait(absl::ZeroDuration()));
  ASSERT_OK(event->Clear());
  EXPECT_FALSE(*event->Wait(absl::Milliseconds(50)));
}

TEST_F(SyncTest, ConditionNotifyWakesOneAndNotifyAllTheRest) {
  const std::string name = UniqueName();
  absl::StatusOr<ConditionProxy> cond =
      manager_->Condition(name, name + "-lock");
  ASSERT_OK(cond);
  const std::string address = server_->address();
  std::vector<std::unique_ptr<Process>> waiters;
  for (int i = 0; i < 3; ++i) {
    waiters.push_back(std::make_unique<Process>([&] {
      std::unique_ptr<Manager> m = ConnectOrNull(address);
      if (m == nullptr) return 2;
      absl::StatusOr<ConditionProxy> mine = m->Condition(name, name + "-lock");
      absl::StatusOr<LockProxy> lock = m->Lock(name + "-lock");
      if (!mine.ok() || !lock.ok() || !*mine->Acquire()) return 3;
      absl::StatusOr<bool> notified = mine->Wait(absl::Seconds(60));
      if (!notified.ok() || !*notified) return 4;
      // Woken with the lock held again.
      if (!*lock->Locked()) return 5;
      return mine->Release().ok() ? 0 : 6;
    }));
    ASSERT_OK(waiters.back()->Start());
  }
  ASSERT_TRUE(AwaitDetail(*manager_, name, "waiters", Value(3)));
  // As in Python, notifying needs the lock; the woken waiter takes it
  // once it is released.
  ASSERT_TRUE(*cond->Acquire());
  EXPECT_EQ(*cond->Notify(), 1);
  ASSERT_OK(cond->Release());
  ASSERT_TRUE(AwaitDetail(*manager_, name, "waiters", Value(2)));
  ASSERT_TRUE(*cond->Acquire());
  EXPECT_EQ(*cond->NotifyAll(), 2);
  ASSERT_OK(cond->Release());
  for (auto& w : waiters) {
    ASSERT_OK(w->Join());
    EXPECT_EQ(w->exitcode(), 0);
  }
}

TEST_F(SyncTest, ConditionWaitTimesOutHoldingTheLockAgain) {
  const std::string name = UniqueName();
  absl::StatusOr<ConditionProxy> cond = manager_->Condition(name, name + "-rl");
  ASSERT_OK(cond);
  EXPECT_CODE(cond->Wait(absl::Milliseconds(10)),
              absl::StatusCode::kFailedPrecondition);  // lock not held
  ASSERT_TRUE(*cond->Acquire());
  EXPECT_FALSE(*cond->Wait(absl::Milliseconds(100)));
  absl::StatusOr<LockProxy> lock = manager_->Lock(name + "-rl");
  ASSERT_OK(lock);
  EXPECT_TRUE(*lock->Locked());
  ASSERT_OK(cond->Release());
  EXPECT_FALSE(*lock->Locked());
  EXPECT_CODE(manager_->Condition(name, "another-lock"),
              absl::StatusCode::kFailedPrecondition);
}

TEST_F(SyncTest, ConditionWaitForAPredicateOnSharedState) {
  const std::string name = UniqueName();
  absl::StatusOr<ConditionProxy> cond = manager_->Condition(name, name + "-l");
  absl::StatusOr<DictProxy> state = manager_->Dict(name + "-state");
  ASSERT_OK(cond);
  ASSERT_OK(state);
  const std::string address = server_->address();
  Process producer([&] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<ConditionProxy> c = m->Condition(name, name + "-l");
    absl::StatusOr<DictProxy> d = m->Dict(name + "-state");
    if (!c.ok() || !d.ok()) return 3;
    for (int i = 1; i <= 3; ++i) {
      if (!*c->Acquire() || !d->Set("n", i).ok() || !c->NotifyAll().ok() ||
          !c->Release().ok()) {
        return 4;
      }
    }
    return 0;
  });
  ASSERT_TRUE(*cond->Acquire());
  ASSERT_OK(producer.Start());  // the fork does not lose the lock we hold
  absl::StatusOr<bool> reached =
      cond->WaitFor([&] { return state->Get("n", 0).value_or(0) == Value(3); },
                    absl::Seconds(60));
  ASSERT_OK(reached);
  EXPECT_TRUE(*reached);
  ASSERT_OK(cond->Release());
  ASSERT_OK(producer.Join());
  EXPECT_EQ(producer.exitcode(), 0);
}

TEST_F(SyncTest, BarrierOfFiveProcessesReleasesAllWithDistinctIndices) {
  const std::string name = UniqueName();
  absl::StatusOr<BarrierProxy> barrier = manager_->Barrier(name, 5);
  ASSERT_OK(barrier);
  EXPECT_EQ(*barrier->Parties(), 5);
  const std::string address = server_->address();
  auto [results, results_in] = *Pipe(/*duplex=*/false);
  std::vector<std::unique_ptr<Process>> parties;
  for (int i = 0; i < 5; ++i) {
    parties.push_back(std::make_unique<Process>([&, &out = results_in] {
      std::unique_ptr<Manager> m = ConnectOrNull(address);
      if (m == nullptr) return absl::UnavailableError("connect");
      absl::StatusOr<BarrierProxy> mine = m->Barrier(name, 5);
      if (!mine.ok()) return mine.status();
      List indices;
      for (int round = 0; round < 2; ++round) {  // the barrier is reusable
        absl::StatusOr<int64_t> index = mine->Wait(absl::Seconds(60));
        if (!index.ok()) return index.status();
        indices.push_back(*index);
      }
      return out.Send(indices);
    }));
    ASSERT_OK(parties.back()->Start());
  }
  results_in.Close();
  std::set<int64_t> first, second;
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<Value> got = results.Recv();
    ASSERT_OK(got);
    first.insert(got->list_value()[0].int_value());
    second.insert(got->list_value()[1].int_value());
  }
  EXPECT_EQ(first, (std::set<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(second, (std::set<int64_t>{0, 1, 2, 3, 4}));
  for (auto& p : parties) {
    ASSERT_OK(p->Join());
    EXPECT_EQ(p->exitcode(), 0);
  }
  EXPECT_FALSE(*barrier->Broken());
}

TEST_F(SyncTest, BarrierAbortTimeoutAndReset) {
  const std::string name = UniqueName();
  absl::StatusOr<BarrierProxy> barrier = manager_->Barrier(name, 2);
  ASSERT_OK(barrier);
  const std::string address = server_->address();
  Process waiter([&] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<BarrierProxy> mine = m->Barrier(name, 2);
    if (!mine.ok()) return 3;
    return IsBrokenBarrier(mine->Wait().status()) ? 0 : 4;
  });
  ASSERT_OK(waiter.Start());
  ASSERT_TRUE(AwaitDetail(*manager_, name, "n_waiting", Value(1)));
  ASSERT_OK(barrier->Abort());
  ASSERT_OK(waiter.Join());
  EXPECT_EQ(waiter.exitcode(), 0);
  EXPECT_TRUE(*barrier->Broken());
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait().status()));
  ASSERT_OK(barrier->Reset());
  EXPECT_FALSE(*barrier->Broken());
  // A wait that times out breaks it, as in Python.
  EXPECT_TRUE(IsBrokenBarrier(barrier->Wait(absl::Milliseconds(100)).status()));
  EXPECT_TRUE(*barrier->Broken());
  EXPECT_CODE(manager_->Barrier(name, 3),
              absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(manager_->Barrier(name + "-zero", 0),
              absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace mproc
