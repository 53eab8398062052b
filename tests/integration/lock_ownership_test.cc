// Lock ownership at its edges, through a real manager and real processes:
// only the holder releases, a holder paused past the session lease learns
// it lost the lock and cannot disturb the new holder, and every grant
// carries an increasing fencing token.
#include <signal.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "tests/support/manager_fixture.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"

namespace mproc {
namespace {

using LockOwnershipTest = testing::ManagerTest;

std::unique_ptr<Manager> ConnectOrNull(const std::string& address) {
  absl::StatusOr<std::unique_ptr<Manager>> m = Manager::Connect(address);
  return m.ok() ? *std::move(m) : nullptr;
}

TEST_F(LockOwnershipTest, ReleaseOfAnotherClientsLockIsRefused) {
  const std::string name = UniqueName();
  absl::StatusOr<LockProxy> mine = manager_->Lock(name);
  ASSERT_OK(mine);
  ASSERT_TRUE(*mine->Acquire());
  std::unique_ptr<Manager> other = ConnectOrNull(server_->address());
  ASSERT_NE(other, nullptr);
  absl::StatusOr<LockProxy> theirs = other->Lock(name);
  ASSERT_OK(theirs);
  absl::Status refused = theirs->Release();
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_TRUE(absl::StrContains(refused.message(), "held by another client"))
      << refused;
  EXPECT_TRUE(*theirs->Locked());  // still ours
  EXPECT_FALSE(*theirs->TryAcquire());
  // A plain Lock may be released by another thread of the holding process,
  // as in Python.
  absl::Status from_thread;
  std::thread([&] { from_thread = mine->Release(); }).join();
  EXPECT_OK(from_thread);
  EXPECT_TRUE(*theirs->TryAcquire());
  EXPECT_EQ(mine->Release().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(LockOwnershipTest, RLockReleaseFromAnotherThreadIsRefused) {
  absl::StatusOr<LockProxy> lock = manager_->RLock(UniqueName());
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  absl::Status from_thread;
  std::thread([&] { from_thread = lock->Release(); }).join();
  EXPECT_EQ(from_thread.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(from_thread.message(), "another thread"));
  EXPECT_OK(lock->Release());
}

TEST_F(LockOwnershipTest, FencingTokensIncreaseWithEveryGrant) {
  const std::string name = UniqueName();
  absl::StatusOr<LockProxy> lock = manager_->Lock(name);
  ASSERT_OK(lock);
  std::unique_ptr<Manager> other = ConnectOrNull(server_->address());
  ASSERT_NE(other, nullptr);
  absl::StatusOr<LockProxy> theirs = other->Lock(name);
  ASSERT_OK(theirs);
  int64_t last = 0;
  for (int round = 0; round < 10; ++round) {
    const LockProxy& who = round % 2 == 0 ? *lock : *theirs;
    absl::StatusOr<int64_t> token = who.AcquireToken(absl::Seconds(10));
    ASSERT_OK(token);
    EXPECT_GT(*token, last);
    last = *token;
    // Not taken: 0, and no token is used up.
    const LockProxy& loser = round % 2 == 0 ? *theirs : *lock;
    EXPECT_EQ(*loser.AcquireToken(absl::ZeroDuration()), 0);
    ASSERT_OK(who.Release());
  }
  // An RLock's re-entry answers the token it holds.
  absl::StatusOr<LockProxy> rlock = manager_->RLock(UniqueName("-r"));
  ASSERT_OK(rlock);
  absl::StatusOr<int64_t> outer = rlock->AcquireToken();
  ASSERT_OK(outer);
  EXPECT_EQ(*rlock->AcquireToken(), *outer);
  ASSERT_OK(rlock->Release());
  ASSERT_OK(rlock->Release());
}

TEST_F(LockOwnershipTest, ConditionNotifyNeedsTheLockHeld) {
  absl::StatusOr<ConditionProxy> cond =
      manager_->Condition(UniqueName(), UniqueName("-lock"));
  ASSERT_OK(cond);
  absl::StatusOr<int64_t> woken = cond->Notify();
  EXPECT_EQ(woken.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(cond->NotifyAll().status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(*cond->Acquire());
  EXPECT_EQ(*cond->Notify(), 0);
  ASSERT_OK(cond->Release());
}

TEST_F(LockOwnershipTest, SemaphoreReleaseOverflowIsRefused) {
  absl::StatusOr<SemaphoreProxy> sem = manager_->Semaphore(UniqueName(), 1);
  ASSERT_OK(sem);
  absl::Status overflow = sem->Release(INT64_MAX);
  EXPECT_EQ(overflow.code(), absl::StatusCode::kOutOfRange) << overflow;
  EXPECT_EQ(*sem->Value(), 1);   // unchanged
  ASSERT_TRUE(*sem->Acquire());  // and still works
  absl::StatusOr<SemaphoreProxy> bounded =
      manager_->BoundedSemaphore(UniqueName("-bounded"), 2);
  ASSERT_OK(bounded);
  EXPECT_EQ(bounded->Release(INT64_MAX).code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(bounded->Release(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*bounded->Value(), 2);
}

// A holder SIGSTOPped past the lease loses the lock; B gets it. When A
// resumes, its release fails ABORTED and its Manager counts the loss; B
// stays the holder; then B and C take turns 200 times while A keeps
// trying to release, and the critical section never has two holders.
TEST(PausedHolderTest, HolderPausedPastTheLeaseNeverFreesTheNewHoldersLock) {
  auto server =
      testing::ManagerProcess::Start("127.0.0.1:0", {"--session-lease", "1"});
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  std::unique_ptr<Manager> b = ConnectOrNull(address);
  std::unique_ptr<Manager> c = ConnectOrNull(address);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  absl::StatusOr<LockProxy> b_lock = b->Lock("fenced");
  absl::StatusOr<LockProxy> c_lock = c->Lock("fenced");
  absl::StatusOr<DictProxy> room = b->Dict("room");
  ASSERT_OK(b_lock);
  ASSERT_OK(c_lock);
  ASSERT_OK(room);

  auto [parent, child] = *Pipe();
  Process a([&, &child = child] {
    std::unique_ptr<Manager> m = ConnectOrNull(address);
    if (m == nullptr) return 2;
    absl::StatusOr<LockProxy> lock = m->Lock("fenced");
    absl::StatusOr<DictProxy> flags = m->Dict("room");
    if (!lock.ok() || !flags.ok()) return 3;
    absl::StatusOr<int64_t> token = lock->AcquireToken();
    if (!token.ok() || !child.Send(*token).ok()) return 4;
    if (!child.Recv().ok()) return 5;  // paused in here, then resumed
    // The first call may find the dropped stream (UNAVAILABLE); the
    // reconnect then learns the session expired.
    absl::Status release;
    for (int i = 0; i < 100; ++i) {
      release = lock->Release();
      if (release.code() != absl::StatusCode::kUnavailable) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (!child
             .Send(List{static_cast<int64_t>(release.code()),
                        std::string(release.message()), m->session_losses()})
             .ok()) {
      return 6;
    }
    // Keep trying while B and C take turns.
    int64_t released = 0;
    while (*flags->Get("done", false) != Value(true)) {
      if (lock->Release().ok()) ++released;
    }
    return child.Send(released).ok() ? 0 : 7;
  });
  ASSERT_OK(a.Start());
  absl::StatusOr<Value> a_token = parent.Recv();
  ASSERT_OK(a_token);
  ASSERT_EQ(kill(*a.pid(), SIGSTOP), 0);
  absl::StatusOr<int64_t> b_token = b_lock->AcquireToken(absl::Seconds(30));
  ASSERT_OK(b_token);
  ASSERT_GT(*b_token, a_token->int_value());  // A's lease ran out
  ASSERT_OK(parent.Send("resume"));
  ASSERT_EQ(kill(*a.pid(), SIGCONT), 0);

  absl::StatusOr<Value> report = parent.Recv();
  ASSERT_OK(report);
  const List& r = report->list_value();
  EXPECT_EQ(r[0].int_value(), static_cast<int64_t>(absl::StatusCode::kAborted))
      << r[1].string_value();
  EXPECT_TRUE(absl::StrContains(r[1].string_value(), "session expired"))
      << r[1].string_value();
  EXPECT_EQ(r[2].int_value(), 1);       // A's Manager saw the loss
  EXPECT_FALSE(*c_lock->TryAcquire());  // B is undisturbed

  std::atomic<int> overlaps{0};
  auto take_turns = [&](const LockProxy& lock, const std::string& me) {
    for (int round = 0; round < 100; ++round) {
      if (!*lock.Acquire(absl::Seconds(30))) return;
      if (!room->Set("owner", me).ok()) return;
      for (int look = 0; look < 3; ++look) {
        if (*room->Get("owner") != Value(me)) ++overlaps;
      }
      if (!lock.Release().ok()) ++overlaps;
    }
  };
  ASSERT_OK(b_lock->Release());
  std::thread tb([&] { take_turns(*b_lock, "b"); });
  std::thread tc([&] { take_turns(*c_lock, "c"); });
  tb.join();
  tc.join();
  ASSERT_OK(room->Set("done", true));
  absl::StatusOr<Value> released = parent.Recv();
  ASSERT_OK(released);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(released->int_value(), 0);  // none of A's releases took effect
  ASSERT_OK(a.Join());
  EXPECT_EQ(*a.exitcode(), 0);
}

}  // namespace
}  // namespace mproc
