// mproc::Process through real fork(2)s: the seed tutorials' Process
// scenarios plus the lifecycle rules Python documents.
#include "worker/process/process.h"

#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "worker/process/pipe.h"

namespace mproc {
namespace {

using testing::AwaitChildExitNoReap;
using testing::AwaitProcessGone;
using testing::ProcessRunning;

// Blocks the calling child until the parent sends something (or closes).
void WaitForGo(Connection& conn) { conn.Recv().IgnoreError(); }

TEST(ProcessTest, TwoProcessesRunConcurrently) {
  // The seed tutorial: two workers sleeping 1 s and 2 s finish in ≈2 s.
  Process a([] { absl::SleepFor(absl::Seconds(1)); });
  Process b([] { absl::SleepFor(absl::Seconds(2)); });
  absl::Time start = absl::Now();
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  ASSERT_OK(a.Join());
  ASSERT_OK(b.Join());
  absl::Duration wall = absl::Now() - start;
  EXPECT_GE(wall, absl::Seconds(2));
  EXPECT_LT(wall, absl::Milliseconds(2800)) << "ran one after the other";
}

TEST(ProcessTest, ArgumentsAndKeywordMapReachTheChild) {
  auto [parent, child] = *Pipe();
  Process p(
      [&child = child](int n, const std::string& text, const Map& kwargs) {
        return child.Send(List{n, text, kwargs});
      },
      7, std::string("seven"), Map{{"color", "red"}, {"size", 3}});
  ASSERT_OK(p.Start());
  absl::StatusOr<Value> got = parent.Recv();
  ASSERT_OK(got);
  EXPECT_EQ(*got, Value(List{7, "seven", Map{{"color", "red"}, {"size", 3}}}));
  ASSERT_OK(p.Join());
  EXPECT_EQ(p.exitcode(), 0);
}

std::vector<int> g_appended;  // the seed's "global list"

TEST(ProcessTest, GlobalsAreNotSharedAfterFork) {
  auto [parent, child] = *Pipe();
  Process p([&child = child] {
    for (int i = 0; i < 5; ++i) g_appended.push_back(i);
    return child.Send(static_cast<int>(g_appended.size()));
  });
  ASSERT_OK(p.Start());
  EXPECT_EQ(*parent.Recv(), Value(5));
  ASSERT_OK(p.Join());
  EXPECT_TRUE(g_appended.empty());
}

TEST(ProcessTest, JoinWaitsForTheExitCode) {
  auto [parent, child] = *Pipe();
  Process p([&child = child] {
    WaitForGo(child);
    absl::SleepFor(absl::Milliseconds(100));
    return 7;
  });
  ASSERT_OK(p.Start());
  EXPECT_TRUE(p.IsAlive());
  ASSERT_OK(parent.Send("go"));
  ASSERT_OK(p.Join());
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.exitcode(), 7);
}

TEST(ProcessTest, JoinWithTimeoutReturnsWhileTheChildRuns) {
  auto [parent, child] = *Pipe();
  Process p([&child = child] { WaitForGo(child); });
  ASSERT_OK(p.Start());
  EXPECT_CODE(p.Join(absl::Milliseconds(100)),
              absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(p.IsAlive());
  EXPECT_EQ(p.exitcode(), std::nullopt);
  ASSERT_OK(parent.Send("go"));
  ASSERT_OK(p.Join(absl::Seconds(30)));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessTest, TerminateGivesMinusSigterm) {
  Process p([] {
    for (;;) pause();
  });
  ASSERT_OK(p.Start());
  ASSERT_OK(p.Terminate());
  ASSERT_OK(p.Join());
  EXPECT_FALSE(p.IsAlive());
  EXPECT_EQ(p.exitcode(), -SIGTERM);
  EXPECT_OK(p.Terminate());  // a no-op once ended, as in Python
}

TEST(ProcessTest, KillGivesMinusSigkill) {
  Process p([] {
    signal(SIGTERM, SIG_IGN);
    for (;;) pause();
  });
  ASSERT_OK(p.Start());
  ASSERT_OK(p.Kill());
  ASSERT_OK(p.Join());
  EXPECT_EQ(p.exitcode(), -SIGKILL);
}

TEST(ProcessTest, FailedTargetsExitWithOne) {
  Process throws([]() -> int { throw std::runtime_error("boom"); });
  Process fails([] { return absl::InternalError("disk on fire"); });
  Process succeeds([] { return absl::OkStatus(); });
  for (Process* p : {&throws, &fails, &succeeds}) ASSERT_OK(p->Start());
  for (Process* p : {&throws, &fails, &succeeds}) ASSERT_OK(p->Join());
  EXPECT_EQ(throws.exitcode(), 1);
  EXPECT_EQ(fails.exitcode(), 1);
  EXPECT_EQ(succeeds.exitcode(), 0);
}

class Squarer : public Process {
 public:
  explicit Squarer(int n) : n_(n) {}

 protected:
  int Run() override { return n_ * n_; }

 private:
  int n_;
};

TEST(ProcessTest, SubclassRunOverrideRunsInTheChild) {
  Squarer p(9);
  ASSERT_OK(p.Start());
  ASSERT_OK(p.Join());
  EXPECT_EQ(p.exitcode(), 81);
}

class SelfAware : public Process {
 protected:
  // Uses its own Process object in the child (Start must not hold its lock
  // across fork).
  int Run() override {
    return name() == CurrentProcess().name && daemon() ? 0 : 3;
  }
};

TEST(ProcessTest, RunMayUseItsOwnProcessObject) {
  SelfAware p;
  ASSERT_OK(p.set_daemon(true));
  ASSERT_OK(p.Start());
  ASSERT_OK(p.Join(absl::Seconds(30)));
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessTest, IsAliveDoesNotWaitForAJoinInProgress) {
  auto [parent, child] = *Pipe();
  Process p([&child = child] { WaitForGo(child); });
  ASSERT_OK(p.Start());
  absl::Notification joined;
  std::thread joiner([&] {
    EXPECT_OK(p.Join());
    joined.Notify();
  });
  // The joiner is (or soon will be) blocked in Join; these must answer.
  for (int i = 0; i < 100; ++i) {
    EXPECT_TRUE(p.IsAlive());
    EXPECT_EQ(p.exitcode(), std::nullopt);
  }
  EXPECT_FALSE(joined.HasBeenNotified());
  ASSERT_OK(parent.Send("go"));
  joiner.join();
  EXPECT_EQ(p.exitcode(), 0);
}

TEST(ProcessTest, LifecycleMisuseIsRefused) {
  Process p([] {});
  EXPECT_EQ(p.pid(), std::nullopt);
  EXPECT_EQ(p.exitcode(), std::nullopt);
  EXPECT_FALSE(p.IsAlive());
  EXPECT_CODE(p.Join(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(p.Terminate(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(p.set_name(""), absl::StatusCode::kInvalidArgument);
  ASSERT_OK(p.Start());
  EXPECT_CODE(p.Start(), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(p.set_daemon(true), absl::StatusCode::kFailedPrecondition);
  EXPECT_CODE(p.set_name("late"), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p.pid().has_value());
  ASSERT_OK(p.Join());
}

TEST(ProcessTest, OnlyTheParentMayJoin) {
  auto [parent, child] = *Pipe();
  Process sibling([&child = child] { WaitForGo(child); });
  ASSERT_OK(sibling.Start());
  Process other([&] {
    absl::Status s = sibling.Join();
    return s.code() == absl::StatusCode::kFailedPrecondition ? 0 : 1;
  });
  ASSERT_OK(other.Start());
  ASSERT_OK(other.Join());
  EXPECT_EQ(other.exitcode(), 0);
  ASSERT_OK(parent.Send("go"));
  ASSERT_OK(sibling.Join());
}

TEST(ProcessTest, CurrentProcessDescribesMainAndChild) {
  ProcessInfo self = CurrentProcess();
  EXPECT_EQ(self.name, "MainProcess");
  EXPECT_EQ(self.pid, getpid());
  EXPECT_EQ(self.parent_pid, getppid());
  EXPECT_FALSE(self.daemon);

  auto [parent, child] = *Pipe();
  Process p([&child = child] {
    ProcessInfo me = CurrentProcess();
    return child.Send(List{me.name, me.pid, me.parent_pid, me.daemon});
  });
  ASSERT_OK(p.set_name("reporter"));
  ASSERT_OK(p.set_daemon(true));
  ASSERT_OK(p.Start());
  absl::StatusOr<Value> got = parent.Recv();
  ASSERT_OK(got);
  EXPECT_EQ(*got, Value(List{"reporter", *p.pid(), getpid(), true}));
  ASSERT_OK(p.Join());
}

TEST(ProcessTest, ActiveChildrenListsRunningAndReapsEnded) {
  auto [to_a, a_end] = *Pipe();
  auto [to_b, b_end] = *Pipe();
  Process a([&a_end = a_end] { WaitForGo(a_end); });
  Process b([&b_end = b_end] { WaitForGo(b_end); });
  ASSERT_OK(a.Start());
  ASSERT_OK(b.Start());
  std::vector<pid_t> pids;
  for (const ProcessInfo& info : ActiveChildren()) pids.push_back(info.pid);
  EXPECT_NE(std::find(pids.begin(), pids.end(), *a.pid()), pids.end());
  EXPECT_NE(std::find(pids.begin(), pids.end(), *b.pid()), pids.end());

  ASSERT_OK(to_a.Send("go"));
  ASSERT_OK(to_b.Send("go"));
  ASSERT_TRUE(AwaitChildExitNoReap(*a.pid()));
  ASSERT_TRUE(AwaitChildExitNoReap(*b.pid()));
  EXPECT_TRUE(ActiveChildren().empty());
  // ActiveChildren reaped them: no zombies left.
  EXPECT_EQ(testing::CountZombieChildren(), 0);
  EXPECT_EQ(a.exitcode(), 0);
}

TEST(ProcessTest, ChildOfADestroyedProcessIsStillReaped) {
  pid_t pid;
  {
    Process p([] { absl::SleepFor(absl::Milliseconds(50)); });
    ASSERT_OK(p.Start());
    pid = *p.pid();
  }
  ASSERT_TRUE(AwaitChildExitNoReap(pid));
  ActiveChildren();
  EXPECT_EQ(testing::CountZombieChildren(), 0);
}

TEST(ProcessTest, DaemonChildDiesWhenItsParentIsKilled) {
  auto [parent, child] = *Pipe();
  Process middle([&child = child] {
    Process daemon([] {
      for (;;) pause();
    });
    if (absl::Status s = daemon.set_daemon(true); !s.ok()) return s;
    if (absl::Status s = daemon.Start(); !s.ok()) return s;
    if (absl::Status s = child.Send(*daemon.pid()); !s.ok()) return s;
    for (;;) pause();
  });
  ASSERT_OK(middle.Start());
  absl::StatusOr<Value> daemon_pid = parent.Recv();
  ASSERT_OK(daemon_pid);
  pid_t pid = static_cast<pid_t>(daemon_pid->int_value());
  ASSERT_TRUE(ProcessRunning(pid));
  ASSERT_OK(middle.Kill());
  ASSERT_OK(middle.Join());
  EXPECT_TRUE(AwaitProcessGone(pid)) << "daemon child outlived its parent";
}

TEST(ProcessTest, NormalExitTerminatesDaemonsAndWaitsForOthers) {
  auto [parent, child] = *Pipe();
  Process middle([&child = child] {
    Process daemon([] {
      for (;;) pause();
    });
    Process worker([&child = child] { WaitForGo(child); });
    if (absl::Status s = daemon.set_daemon(true); !s.ok()) return s;
    if (absl::Status s = daemon.Start(); !s.ok()) return s;
    if (absl::Status s = worker.Start(); !s.ok()) return s;
    return child.Send(List{*daemon.pid(), *worker.pid()});
    // Returning runs the exit handler: SIGTERM to the daemon, then a wait
    // for the worker.
  });
  ASSERT_OK(middle.Start());
  absl::StatusOr<Value> pids = parent.Recv();
  ASSERT_OK(pids);
  pid_t daemon_pid = static_cast<pid_t>(pids->list_value()[0].int_value());
  EXPECT_TRUE(AwaitProcessGone(daemon_pid));
  EXPECT_CODE(middle.Join(absl::Milliseconds(200)),
              absl::StatusCode::kDeadlineExceeded)
      << "the parent did not wait for its non-daemon child";
  ASSERT_OK(parent.Send("go"));
  ASSERT_OK(middle.Join());
  EXPECT_EQ(middle.exitcode(), 0);
}

TEST(ProcessTest, CpuCountFollowsTheAffinityMask) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  EXPECT_EQ(CpuCount(), CPU_COUNT(&set));
  Process pinned([] {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) return 2;
    return CpuCount();
  });
  ASSERT_OK(pinned.Start());
  ASSERT_OK(pinned.Join());
  EXPECT_EQ(pinned.exitcode(), 1);
}

}  // namespace
}  // namespace mproc
