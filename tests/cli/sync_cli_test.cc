// `mproc lock`, `mproc semaphore` and `mproc barrier wait` against a real
// manager, as shell scripts use them.
#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "worker/process/subprocess.h"

namespace mproc {
namespace {

using testing::CommandResult;

class SyncCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // A short lease: a killed CLI's lock comes back within a second or two.
    auto server =
        testing::ManagerProcess::Start("127.0.0.1:0", {"--session-lease", "1"});
    ASSERT_OK(server);
    server_ = server->release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  std::vector<std::string> Args(std::vector<std::string> args) {
    args.insert(args.begin(),
                {testing::MprocBinary(), "--manager", server_->address()});
    return args;
  }
  CommandResult Mproc(std::vector<std::string> args) {
    return testing::RunCommand(Args(std::move(args)));
  }
  // `mproc ARGS...` running in the background.
  std::unique_ptr<Popen> Background(std::vector<std::string> args) {
    absl::StatusOr<std::unique_ptr<Popen>> p =
        Popen::Start(Args(std::move(args)));
    EXPECT_OK(p);
    return p.ok() ? *std::move(p) : nullptr;
  }
  // Waits until `mproc lock NAME --timeout 0 -- true` fails: someone holds it.
  bool AwaitHeld(const std::string& name) {
    for (int i = 0; i < 500; ++i) {
      if (Mproc({"lock", name, "--timeout", "0", "--", "true"}).exit_code ==
          1) {
        return true;
      }
    }
    return false;
  }
  static std::string UniqueName() {
    return ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  static inline testing::ManagerProcess* server_ = nullptr;
};

TEST_F(SyncCliTest, LockRunsTheCommandWithAFencingTokenAndPassesItsCode) {
  const std::string name = UniqueName();
  CommandResult first = Mproc(
      {"lock", name, "--", "sh", "-c", "echo $MPROC_FENCING_TOKEN; exit 7"});
  EXPECT_EQ(first.exit_code, 7) << first.err;
  CommandResult second =
      Mproc({"lock", name, "--", "sh", "-c", "echo $MPROC_FENCING_TOKEN"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  int64_t a = 0, b = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(first.out), &a))
      << first.out;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(second.out), &b))
      << second.out;
  EXPECT_GE(a, 1);
  EXPECT_GT(b, a);  // released when the command ended, granted anew
}

TEST_F(SyncCliTest, LockExcludesASecondLockUntilTheFirstCommandExits) {
  const std::string name = UniqueName();
  const std::string marker = std::string(std::getenv("TEST_TMPDIR")) + "/go";
  // The first holder waits for the marker file, then exits.
  std::unique_ptr<Popen> holder = Background(
      {"lock", name, "--", "sh", "-c",
       absl::StrCat("while [ ! -e ", marker, " ]; do sleep 0.05; done")});
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(AwaitHeld(name));
  CommandResult refused =
      Mproc({"lock", name, "--timeout", "0.2", "--", "true"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(refused.err, "not taken within the timeout"))
      << refused.err;
  // A waiter gets it as soon as the holder's command ends.
  std::unique_ptr<Popen> waiter =
      Background({"lock", name, "--timeout", "30", "--", "true"});
  ASSERT_NE(waiter, nullptr);
  ASSERT_EQ(testing::RunCommand({"touch", marker}).exit_code, 0);
  EXPECT_EQ(*holder->Wait(absl::Seconds(30)), 0);
  EXPECT_EQ(*waiter->Wait(absl::Seconds(30)), 0);
}

TEST_F(SyncCliTest, LockOfAKilledCliIsReleasedAfterTheLeaseAndItsCommandDies) {
  const std::string name = UniqueName();
  const std::string pid_file =
      std::string(std::getenv("TEST_TMPDIR")) + "/holder.pid";
  std::unique_ptr<Popen> holder =
      Background({"lock", name, "--", "sh", "-c",
                  absl::StrCat("echo $$ > ", pid_file, ".tmp && mv ", pid_file,
                               ".tmp ", pid_file, " && exec sleep 60")});
  ASSERT_NE(holder, nullptr);
  ASSERT_TRUE(AwaitHeld(name));
  std::string pid_text;
  for (int i = 0; i < 1000 && pid_text.empty(); ++i) {
    pid_text = testing::RunCommand({"cat", pid_file}).out;
  }
  int command_pid = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(absl::StripAsciiWhitespace(pid_text), &command_pid))
      << pid_text;
  ASSERT_OK(holder->Kill());  // SIGKILL: no release, the session just ends
  ASSERT_OK(holder->Wait(absl::Seconds(10)));
  // The command does not run on without the lock...
  EXPECT_TRUE(testing::AwaitProcessGone(command_pid, absl::Seconds(10)));
  // ...and the manager gives the lock back after the lease.
  CommandResult after = Mproc({"lock", name, "--timeout", "20", "--", "true"});
  EXPECT_EQ(after.exit_code, 0) << after.err;
}

TEST_F(SyncCliTest, SemaphoreAdmitsValueHoldersAtOnce) {
  const std::string name = UniqueName();
  const std::string marker = std::string(std::getenv("TEST_TMPDIR")) + "/sem";
  const std::string wait_for_marker =
      absl::StrCat("while [ ! -e ", marker, " ]; do sleep 0.05; done");
  std::vector<std::unique_ptr<Popen>> holders;
  for (int i = 0; i < 2; ++i) {
    holders.push_back(Background({"semaphore", name, "--value", "2", "--", "sh",
                                  "-c", wait_for_marker}));
  }
  // Until both hold a permit, a third gets the one left.
  bool full = false;
  for (int i = 0; i < 500 && !full; ++i) {
    full = Mproc({"semaphore", name, "--value", "2", "--timeout", "0", "--",
                  "true"})
               .exit_code == 1;
  }
  EXPECT_TRUE(full);
  ASSERT_EQ(testing::RunCommand({"touch", marker}).exit_code, 0);
  for (auto& h : holders) EXPECT_EQ(*h->Wait(absl::Seconds(30)), 0);
  EXPECT_EQ(
      Mproc({"semaphore", name, "--timeout", "0", "--", "true"}).exit_code, 0);
}

TEST_F(SyncCliTest, BarrierWaitReleasesAllPartiesWithDistinctIndices) {
  const std::string name = UniqueName();
  std::unique_ptr<Popen> first = Background(
      {"barrier", "wait", name, "--parties", "2", "--timeout", "30"});
  ASSERT_NE(first, nullptr);
  CommandResult second =
      Mproc({"barrier", "wait", name, "--parties", "2", "--timeout", "30"});
  EXPECT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(*first->Wait(absl::Seconds(30)), 0);
  EXPECT_TRUE(second.out == "0\n" || second.out == "1\n") << second.out;
  CommandResult alone = Mproc({"barrier", "wait", UniqueName() + "-alone",
                               "--parties", "2", "--timeout", "0.2"});
  EXPECT_EQ(alone.exit_code, 1) << alone.err;
  EXPECT_EQ(Mproc({"barrier", "wait", name}).exit_code, 2);  // no --parties
}

}  // namespace
}  // namespace mproc
