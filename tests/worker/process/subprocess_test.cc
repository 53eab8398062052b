// mproc::Run and mproc::Popen against real programs (sh, cat, env, sleep).
#include "worker/process/subprocess.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "worker/process/pipe.h"

namespace mproc {
namespace {

TEST(RunTest, CapturesStdoutStderrAndReturnCode) {
  absl::StatusOr<CompletedProcess> r =
      RunShell("echo out; echo err >&2; exit 3");
  ASSERT_OK(r);
  EXPECT_EQ(r->returncode, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->argv, (std::vector<std::string>{
                         "/bin/sh", "-c", "echo out; echo err >&2; exit 3"}));
}

TEST(RunTest, ArgumentsAreNotParsedByAShell) {
  absl::StatusOr<CompletedProcess> r =
      mproc::Run({"echo", "$HOME; rm -rf /", "*"});
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "$HOME; rm -rf / *\n");
}

TEST(RunTest, FeedsInputToStdin) {
  RunOptions options;
  options.input = "hello\nworld\n";
  absl::StatusOr<CompletedProcess> r = mproc::Run({"cat"}, options);
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "hello\nworld\n");
}

TEST(RunTest, InputAProgramDoesNotReadIsDroppedWithoutSigpipe) {
  // `true` exits without reading: writing the rest hits a closed pipe,
  // which must not kill this (SIGPIPE-default) test process.
  RunOptions options;
  options.input = std::string(4 << 20, 'x');
  absl::StatusOr<CompletedProcess> r = mproc::Run({"true"}, options);
  ASSERT_OK(r);
  EXPECT_EQ(r->returncode, 0);
}

TEST(RunTest, WithoutInputStdinIsEmpty) {
  absl::StatusOr<CompletedProcess> r = mproc::Run({"cat"});
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "");
  EXPECT_EQ(r->returncode, 0);
}

TEST(RunTest, EnvironmentIsExtendedOrReplaced) {
  ASSERT_EQ(setenv("MPROC_TEST_INHERITED", "kept", 1), 0);
  RunOptions extend;
  extend.env = {{"MPROC_TEST_ADDED", "added"}};
  absl::StatusOr<CompletedProcess> r =
      RunShell("echo $MPROC_TEST_INHERITED $MPROC_TEST_ADDED", extend);
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "kept added\n");

  RunOptions replace;
  replace.replace_env = true;
  replace.env = {{"ONLY", "this"}};
  r = mproc::Run({"/usr/bin/env"}, replace);
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "ONLY=this\n");
}

TEST(RunTest, ProgramIsFoundInTheChildsPath) {
  RunOptions options;
  options.env = {{"PATH", "/nonexistent"}};
  EXPECT_CODE(mproc::Run({"sh", "-c", "true"}, options),
              absl::StatusCode::kNotFound);
}

TEST(RunTest, RunsInTheGivenDirectory) {
  RunOptions options;
  options.cwd = "/tmp";
  absl::StatusOr<CompletedProcess> r = mproc::Run({"pwd"}, options);
  ASSERT_OK(r);
  EXPECT_EQ(r->out, "/tmp\n");
  options.cwd = "/nonexistent/dir";
  EXPECT_CODE(mproc::Run({"pwd"}, options), absl::StatusCode::kNotFound);
}

TEST(RunTest, BadCommandsAreClearErrors) {
  EXPECT_CODE(mproc::Run({}), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<CompletedProcess> r = mproc::Run({"mproc-no-such-program"});
  EXPECT_CODE(r, absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("mproc-no-such-program"),
            absl::string_view::npos);
  EXPECT_CODE(mproc::Run({"/etc/passwd"}), absl::StatusCode::kPermissionDenied);
  EXPECT_CODE(mproc::Run({"echo", std::string("a\0b", 3)}),
              absl::StatusCode::kInvalidArgument);
  RunOptions bad_env;
  bad_env.env = {{"A=B", "c"}};
  EXPECT_CODE(mproc::Run({"true"}, bad_env),
              absl::StatusCode::kInvalidArgument);
}

TEST(RunTest, TimeoutKillsTheGroupAndKeepsPartialOutput) {
  RunOptions options;
  options.timeout = absl::Milliseconds(500);
  absl::Time start = absl::Now();
  // The shell starts a grandchild and reports its pid before hanging.
  absl::StatusOr<CompletedProcess> r =
      RunShell("sleep 60 & echo $!; echo waiting >&2; wait", options);
  absl::Duration took = absl::Now() - start;
  EXPECT_CODE(r, absl::StatusCode::kDeadlineExceeded);
  EXPECT_GE(took, absl::Milliseconds(500));
  EXPECT_LT(took, absl::Seconds(20));
  std::optional<CompletedProcess> partial = PartialOutput(r.status());
  ASSERT_TRUE(partial.has_value());
  EXPECT_EQ(partial->err, "waiting\n");
  int grandchild;
  ASSERT_TRUE(
      absl::SimpleAtoi(absl::StripSuffix(partial->out, "\n"), &grandchild))
      << partial->out;
  EXPECT_TRUE(testing::AwaitProcessGone(grandchild)) << "grandchild survived";
  EXPECT_FALSE(PartialOutput(absl::DeadlineExceededError("other")).has_value());
}

TEST(RunTest, IgnoredSignalsAreRestoredInTheChild) {
  // Servers ignore SIGPIPE; the programs they run must not inherit that.
  sighandler_t old = signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<CompletedProcess> r = RunShell("kill -PIPE $$; echo survived");
  signal(SIGPIPE, old);
  ASSERT_OK(r);
  EXPECT_EQ(r->returncode, -SIGPIPE);
  EXPECT_EQ(r->out, "");
}

TEST(RunTest, ChildInheritsNoDescriptorsOfOurs) {
  auto [a, b] = *Pipe();
  char target[64] = {};
  ASSERT_GT(readlink(absl::StrCat("/proc/self/fd/", a.fd()).c_str(), target,
                     sizeof target - 1),
            0);
  // The shell lists its own descriptors: our socket must not be among them.
  absl::StatusOr<CompletedProcess> r = RunShell("ls -l /proc/$$/fd");
  ASSERT_OK(r);
  EXPECT_EQ(r->out.find(target), std::string::npos)
      << target << " leaked into:\n"
      << r->out;
}

TEST(RunTest, ThousandRunsLeakNoDescriptorsAndNoZombies) {
  int before = testing::CountOpenFds();
  for (int i = 0; i < 1000; ++i) {
    absl::StatusOr<CompletedProcess> r = mproc::Run({"true"});
    ASSERT_OK(r);
    ASSERT_EQ(r->returncode, 0);
  }
  EXPECT_EQ(testing::CountOpenFds(), before);
  EXPECT_EQ(testing::CountZombieChildren(), 0);
}

TEST(PopenTest, CommunicateMovesTenMegabytesBothWaysWithoutDeadlock) {
  PopenOptions options;
  options.stdin_mode = StreamMode::kPipe;
  options.stdout_mode = StreamMode::kPipe;
  options.stderr_mode = StreamMode::kPipe;
  // cat echoes 10 MB while another 10 MB goes to stderr at the same time:
  // sequential reads or writes would fill a pipe and hang.
  absl::StatusOr<std::unique_ptr<Popen>> p =
      Popen::Start({"/bin/sh", "-c",
                    "head -c 10485760 /dev/zero | tr '\\0' e >&2 & cat; wait"},
                   options);
  ASSERT_OK(p);
  std::string input(10 << 20, 'i');
  absl::StatusOr<CompletedProcess> r =
      (*p)->Communicate(input, absl::Seconds(60));
  ASSERT_OK(r);
  EXPECT_EQ(r->returncode, 0);
  EXPECT_EQ(r->out.size(), input.size());
  EXPECT_TRUE(r->out == input);
  EXPECT_EQ(r->err, std::string(10 << 20, 'e'));
}

TEST(PopenTest, CommunicateTimeoutLeavesTheChildRunningAndResumes) {
  PopenOptions options;
  options.stdin_mode = StreamMode::kPipe;
  options.stdout_mode = StreamMode::kPipe;
  absl::StatusOr<std::unique_ptr<Popen>> p = Popen::Start(
      {"/bin/sh", "-c", "echo first; read line; echo $line"}, options);
  ASSERT_OK(p);
  // The shell waits for a line; give it none yet by writing nothing.
  int in = (*p)->stdin_fd();
  absl::StatusOr<CompletedProcess> r =
      (*p)->Communicate({}, absl::Milliseconds(100));
  // With empty input Communicate closed stdin: the read sees EOF and the
  // shell finishes, so this completes.
  ASSERT_OK(r) << in;
  EXPECT_EQ(r->out, "first\n\n");

  absl::StatusOr<std::unique_ptr<Popen>> slow =
      Popen::Start({"/bin/sh", "-c", "echo early; exec sleep 60"}, options);
  ASSERT_OK(slow);
  absl::StatusOr<CompletedProcess> timed_out =
      (*slow)->Communicate({}, absl::Seconds(1));
  EXPECT_CODE(timed_out, absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(PartialOutput(timed_out.status()).has_value());
  EXPECT_EQ(PartialOutput(timed_out.status())->out, "early\n");
  EXPECT_EQ((*slow)->Poll(), std::nullopt);
  ASSERT_OK((*slow)->Kill());
  absl::StatusOr<CompletedProcess> rest = (*slow)->Communicate();
  ASSERT_OK(rest);
  EXPECT_EQ(rest->returncode, -SIGKILL);
  EXPECT_EQ(rest->out, "early\n");
}

TEST(PopenTest, PollWaitAndSignals) {
  absl::StatusOr<std::unique_ptr<Popen>> p = Popen::Start({"sleep", "60"});
  ASSERT_OK(p);
  EXPECT_GT((*p)->pid(), 0);
  EXPECT_EQ((*p)->Poll(), std::nullopt);
  EXPECT_CODE((*p)->Wait(absl::Milliseconds(50)),
              absl::StatusCode::kDeadlineExceeded);
  ASSERT_OK((*p)->Terminate());
  absl::StatusOr<int> code = (*p)->Wait();
  ASSERT_OK(code);
  EXPECT_EQ(*code, -SIGTERM);
  EXPECT_EQ((*p)->Poll(), -SIGTERM);
  EXPECT_OK((*p)->Kill());  // no-op after exit

  absl::StatusOr<std::unique_ptr<Popen>> q = Popen::Start({"sleep", "60"});
  ASSERT_OK(q);
  ASSERT_OK((*q)->SendSignal(SIGINT));
  EXPECT_EQ(*(*q)->Wait(), -SIGINT);
}

TEST(PopenTest, KillReachesAChildWhileAnotherThreadCommunicates) {
  PopenOptions options;
  options.stdout_mode = StreamMode::kPipe;
  absl::StatusOr<std::unique_ptr<Popen>> p =
      Popen::Start({"sleep", "60"}, options);
  ASSERT_OK(p);
  absl::StatusOr<CompletedProcess> result;
  std::thread communicator([&] { result = (*p)->Communicate(); });
  EXPECT_EQ((*p)->Poll(), std::nullopt);  // answers while Communicate runs
  ASSERT_OK((*p)->Kill());
  communicator.join();
  ASSERT_OK(result);
  EXPECT_EQ(result->returncode, -SIGKILL);
}

TEST(PopenTest, StreamsStdoutAsItIsWritten) {
  PopenOptions options;
  options.stdin_mode = StreamMode::kPipe;
  options.stdout_mode = StreamMode::kPipe;
  options.stderr_mode = StreamMode::kStdout;
  absl::StatusOr<std::unique_ptr<Popen>> p = Popen::Start(
      {"/bin/sh", "-c", "while read x; do echo got $x; echo err $x >&2; done"},
      options);
  ASSERT_OK(p);
  ASSERT_EQ(write((*p)->stdin_fd(), "1\n", 2), 2);
  std::string seen;
  char buf[256];
  while (seen.find("err 1\n") == std::string::npos) {
    ssize_t n = read((*p)->stdout_fd(), buf, sizeof buf);
    ASSERT_GT(n, 0);
    seen.append(buf, n);
  }
  EXPECT_EQ(seen, "got 1\nerr 1\n");
  absl::StatusOr<CompletedProcess> r = (*p)->Communicate();  // closes stdin
  ASSERT_OK(r);
  EXPECT_EQ(r->returncode, 0);
}

TEST(PopenTest, DestroyedWhileRunningIsReapedLater) {
  pid_t pid;
  {
    absl::StatusOr<std::unique_ptr<Popen>> p = Popen::Start({"sleep", "0.05"});
    ASSERT_OK(p);
    pid = (*p)->pid();
  }
  ASSERT_TRUE(testing::AwaitChildExitNoReap(pid));
  ASSERT_OK(mproc::Run({"true"}));  // each start reaps ended orphans
  EXPECT_EQ(testing::CountZombieChildren(), 0);
}

}  // namespace
}  // namespace mproc
