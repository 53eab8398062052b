// `mproc up`, `run`, `submit` and `status` as a user types them: a real
// sidecar (manager + worker daemon) in a child process.
#include <signal.h>

#include "absl/strings/match.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace testing {
namespace {

class SidecarTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> args) {
    auto up = ManagerProcess::StartSidecar("127.0.0.1:0", std::move(args));
    ASSERT_OK(up);
    up_ = *std::move(up);
    auto manager = Manager::Connect(up_->address());
    ASSERT_OK(manager);
    manager_ = *std::move(manager);
    ASSERT_OK(AwaitPoolStatus(*manager_, "default", [](const Map& s) {
      return WorkerRows(s).size() == 2;
    }));
  }
  CommandResult Mproc(std::vector<std::string> args) {
    args.insert(args.begin(), MprocBinary());
    return RunCommand(args, {"MPROC_ADDRESS=" + up_->address()});
  }

  std::unique_ptr<ManagerProcess> up_;
  std::unique_ptr<Manager> manager_;
};

TEST_F(SidecarTest, RunSubmitStatusThenCtrlCStopsEverything) {
  Start({"--processes", "2", "--allow-exec"});
  CommandResult run =
      Mproc({"run", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3"});
  EXPECT_EQ(run.exit_code, 3);
  EXPECT_EQ(run.out, "hi\n");
  EXPECT_EQ(run.err, "oops\n");

  CommandResult killed =
      Mproc({"run", "--timeout", "0.5", "--", "sleep", "30"});
  EXPECT_EQ(killed.exit_code, 124) << killed.err;

  CommandResult echo = Mproc({"submit", "echo", "[1, \"two\"]"});
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_EQ(echo.out, "[1, \"two\"]\n");
  CommandResult failed = Mproc({"submit", "fail", "[\"no luck\"]"});
  EXPECT_EQ(failed.exit_code, 5);  // the task failed
  EXPECT_TRUE(absl::StrContains(failed.err, "TaskError: no luck"))
      << failed.err;
  EXPECT_EQ(Mproc({"submit", "echo", "not json"}).exit_code, 2);

  CommandResult status = Mproc({"status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_TRUE(
      absl::StrContains(status.out, "pool 'default': 2 worker processes"))
      << status.out;
  EXPECT_TRUE(absl::StrContains(status.out, "2 failed"))
      << status.out;  // timeout, fail
  EXPECT_EQ(Mproc({"status", "--pool", "nope"}).exit_code, 1);

  // Ctrl-C: the workers stop, then the manager; nothing is left behind.
  auto pool_status =
      AwaitPoolStatus(*manager_, "default", [](const Map&) { return true; });
  ASSERT_OK(pool_status);
  const std::vector<int64_t> worker_pids = WorkerPids(*pool_status);
  manager_.reset();
  EXPECT_EQ(up_->KillAndWait(SIGINT), 0);
  for (int64_t pid : worker_pids) {
    EXPECT_TRUE(AwaitProcessGone(static_cast<pid_t>(pid), absl::Seconds(10)))
        << pid;
  }
}

TEST_F(SidecarTest, RunIsRefusedWithoutAllowExec) {
  Start({"--processes", "2"});
  CommandResult run = Mproc({"run", "--", "true"});
  EXPECT_EQ(run.exit_code, 4);  // permission
  EXPECT_TRUE(absl::StrContains(run.err, "PERMISSION_DENIED")) << run.err;
  EXPECT_TRUE(absl::StrContains(run.err, "--allow-exec")) << run.err;
}

TEST(PoolCliHelpTest, EveryPoolCommandHasHelp) {
  for (const char* command : {"up", "worker", "run", "submit", "status"}) {
    CommandResult r = RunCommand({MprocBinary(), command, "--help"});
    EXPECT_EQ(r.exit_code, 0) << command;
    EXPECT_TRUE(absl::StrContains(r.out, "usage: mproc")) << command << r.out;
  }
  CommandResult bad = RunCommand({MprocBinary(), "worker", "--processes", "0"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(bad.err, "--processes")) << bad.err;
}

}  // namespace
}  // namespace testing
}  // namespace mproc
