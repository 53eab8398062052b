// The seed tutorials' Process, Pipe and subprocess examples, rebuilt on
// mproc (../shared/seeds: the Pipe greeting, Popen with stdin/stdout/stderr
// and communicate, a daemon stopped with terminate, active_children, and
// the thread pool: apply_async with a callback, close, join, get).
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/support/status_matchers.h"
#include "worker/process/pipe.h"
#include "worker/process/process.h"
#include "worker/process/subprocess.h"
#include "worker/process/thread_pool.h"

namespace mproc {
namespace {

TEST(SeedScenarios, PipeGreetingBothWays) {
  auto [conn1, conn2] = *Pipe();
  Process p(
      [](Connection& conn) -> absl::Status {
        if (absl::Status s = conn.Send("  你好主进程"); !s.ok()) return s;
        absl::StatusOr<Value> reply = conn.Recv();
        if (!reply.ok()) return reply.status();
        return *reply == Value("  你好子进程")
                   ? absl::OkStatus()
                   : absl::InternalError("wrong reply");
      },
      std::ref(conn2));
  ASSERT_OK(p.Start());
  EXPECT_EQ(*conn1.Recv(), Value("  你好主进程"));
  ASSERT_OK(conn1.Send("  你好子进程"));
  ASSERT_OK(p.Join());
  EXPECT_EQ(p.exitcode(), 0);
}

PopenOptions AllPiped() {
  PopenOptions options;
  options.stdin_mode = StreamMode::kPipe;
  options.stdout_mode = StreamMode::kPipe;
  options.stderr_mode = StreamMode::kPipe;
  return options;
}

TEST(SeedScenarios, PopenInterpreterReadsProgramFromStdin) {
  // The seed feeds "print('Hello World')" to python3; sh is our interpreter.
  absl::StatusOr<std::unique_ptr<Popen>> ok = Popen::Start({"sh"}, AllPiped());
  ASSERT_OK(ok);
  absl::StatusOr<CompletedProcess> out =
      (*ok)->Communicate("echo 'Hello World'");
  ASSERT_OK(out);
  EXPECT_EQ(out->out, "Hello World\n");
  EXPECT_EQ(out->err, "");

  absl::StatusOr<std::unique_ptr<Popen>> bad = Popen::Start({"sh"}, AllPiped());
  ASSERT_OK(bad);
  absl::StatusOr<CompletedProcess> err =
      (*bad)->Communicate("noprint 'Hello World'");
  ASSERT_OK(err);
  EXPECT_EQ(err->out, "");
  EXPECT_TRUE(absl::StrContains(err->err, "noprint")) << err->err;
  EXPECT_EQ(err->returncode, 127);
}

TEST(SeedScenarios, MissingProgramIsNotFound) {
  // The seed's second program, "python1", does not exist.
  EXPECT_CODE(Popen::Start({"python1"}, AllPiped()),
              absl::StatusCode::kNotFound);
}

TEST(SeedScenarios, DaemonStoppedWithTerminateBeforeMainExits) {
  auto [parent, child] = *Pipe();
  Process sub([&child = child] {
    for (int i = 0;; ++i) {
      if (!child.Send(i).ok()) return 1;
    }
  });
  ASSERT_OK(sub.set_daemon(true));
  ASSERT_OK(sub.Start());
  EXPECT_EQ(*parent.Recv(), Value(0));  // it is working
  ASSERT_OK(sub.Terminate());
  ASSERT_OK(sub.Join());
  EXPECT_EQ(sub.exitcode(), -SIGTERM);
}

// pool = ThreadPool(6); apply_async(func, args=(i,), callback=print_back)
// for i in range(5); close(); join() — then async_result.get().
TEST(SeedScenarios, ThreadPoolApplyAsyncWithCallbacksThenCloseAndJoin) {
  ThreadPool pool(6);
  absl::Mutex mu;
  std::vector<int> called_back;
  auto func = [](int i) {
    absl::SleepFor(absl::Milliseconds(20));  // the seed's time.sleep(2)
    return i;
  };
  std::vector<ThreadResult<int>> results;
  for (int i = 0; i < 5; ++i) {
    results.push_back(
        pool.ApplyAsync(func, std::make_tuple(i), [&](const int& done) {
          absl::MutexLock l(&mu);
          called_back.push_back(done);
        }));
  }
  pool.Close();
  ASSERT_OK(pool.Join());
  absl::MutexLock l(&mu);
  EXPECT_EQ(called_back.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*results[i].Get(), i);
}

}  // namespace
}  // namespace mproc
