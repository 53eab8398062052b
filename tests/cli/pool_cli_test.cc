// `mproc up`, `run`, `submit` and `status` as a user types them: a real
// sidecar (manager + worker daemon) in a child process.
#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/manager.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/os_probes.h"
#include "tests/support/status_matchers.h"
#include "tests/support/worker_daemon.h"
#include "worker/process/subprocess.h"

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

// The id `mproc submit` printed on stderr ("mproc: task 42 submitted").
int64_t SubmittedId(const std::string& err) {
  const size_t at = err.find("mproc: task ");
  int64_t id = 0;
  if (at == std::string::npos) return 0;
  const std::string rest = err.substr(at + 12);
  if (!absl::SimpleAtoi(rest.substr(0, rest.find(' ')), &id)) return 0;
  return id;
}

TEST_F(SidecarTest, SubmitPrintsTheIdAndResultCollectsAfterCtrlC) {
  Start({"--processes", "2"});
  CommandResult echo = Mproc({"submit", "echo", "[1]"});
  EXPECT_EQ(echo.exit_code, 0) << echo.err;
  EXPECT_GT(SubmittedId(echo.err), 0) << echo.err;
  CommandResult json = Mproc({"submit", "echo", "[1]", "--json"});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, absl::StrCat("{\"id\": ", SubmittedId(json.err),
                                   ", \"result\": [1], \"state\": "
                                   "\"succeeded\"}\n"));
  CommandResult failed = Mproc({"submit", "fail", "[\"no\"]", "--json"});
  EXPECT_EQ(failed.exit_code, 5) << failed.err;
  EXPECT_TRUE(absl::StrContains(failed.out, "\"state\": \"failed\"") &&
              absl::StrContains(failed.out, "TaskError: no"))
      << failed.out;

  // Ctrl-C while the task runs: the task carries on, its id collects it.
  PopenOptions options;
  options.stderr_mode = StreamMode::kPipe;
  options.env["MPROC_ADDRESS"] = up_->address();
  auto submit =
      Popen::Start({MprocBinary(), "submit", "sleep", "[1.5]"}, options);
  ASSERT_OK(submit);
  std::string err;
  char buf[256];
  while (SubmittedId(err) == 0 || err.find(" submitted") == std::string::npos) {
    const ssize_t n = read((*submit)->stderr_fd(), buf, sizeof buf);
    ASSERT_GT(n, 0) << err;
    err.append(buf, n);
  }
  const int64_t id = SubmittedId(err);
  ASSERT_OK((*submit)->SendSignal(SIGINT));
  EXPECT_NE(*(*submit)->Wait(absl::Seconds(10)), 0);
  CommandResult result = Mproc({"result", absl::StrCat(id), "--wait", "30"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "null\n");
  // Kept for the result TTL: a second lookup reads it again.
  EXPECT_EQ(Mproc({"result", absl::StrCat(id)}).out, "null\n");
  EXPECT_EQ(Mproc({"result", "999999"}).exit_code, 1);
  EXPECT_EQ(Mproc({"result", "x"}).exit_code, 2);
}

TEST_F(SidecarTest, SubmitWaitGivesUpWithTheIdOrCancels) {
  Start({"--processes", "2"});
  // A pool no worker serves: the task stays queued.
  CommandResult waited =
      Mproc({"submit", "echo", "[1]", "--pool", "idle", "--wait", "0.3"});
  EXPECT_EQ(waited.exit_code, 3) << waited.err;
  const int64_t id = SubmittedId(waited.err);
  EXPECT_GT(id, 0) << waited.err;
  EXPECT_TRUE(absl::StrContains(waited.err,
                                absl::StrCat("mproc result ", id, " collects")))
      << waited.err;
  CommandResult still =
      Mproc({"result", absl::StrCat(id), "--pool", "idle", "--wait", "0.2"});
  EXPECT_EQ(still.exit_code, 3) << still.err;

  CommandResult pending = Mproc(
      {"submit", "echo", "[3]", "--pool", "idle", "--wait", "0.2", "--json"});
  EXPECT_EQ(pending.exit_code, 3) << pending.err;
  EXPECT_EQ(pending.out, absl::StrCat("{\"id\": ", SubmittedId(pending.err),
                                      ", \"state\": \"pending\"}\n"));
  CommandResult cancelled = Mproc({"submit", "echo", "[2]", "--pool", "idle",
                                   "--wait", "0.3", "--cancel-on-timeout"});
  EXPECT_EQ(cancelled.exit_code, 3) << cancelled.err;
  EXPECT_TRUE(absl::StrContains(cancelled.err, "cancelled")) << cancelled.err;
  auto status = manager_->Pool("idle");
  ASSERT_OK(status);
  auto counts = (*status)->Status();
  ASSERT_OK(counts);
  EXPECT_EQ(counts->at(Value("queued")), Value(2)) << Value(*counts).ToJson();
}

// A task record as `mproc tasks ID` prints it (JSON).
Map TaskRecordOf(const CommandResult& r) {
  absl::StatusOr<Value> v = Value::FromJson(r.out);
  EXPECT_OK(v) << r.out << r.err;
  return v.ok() && v->is_map() ? v->map_value() : Map{};
}

double Number(const Map& m, const char* key) {
  auto it = m.find(Value(key));
  return it != m.end() && it->second.is_number() ? it->second.AsDouble() : -1;
}

TEST_F(SidecarTest, TasksCancelDeadLettersAndRequeueFromTheShell) {
  Start({"--processes", "2", "--allow-exec"});
  // A command that runs until cancelled: its id, then its record.
  CommandResult waited = Mproc({"run", "--wait", "0.3", "--", "sleep", "60"});
  EXPECT_EQ(waited.exit_code, 3) << waited.err;
  const int64_t running = SubmittedId(waited.err);
  ASSERT_GT(running, 0) << waited.err;
  const std::string running_id = absl::StrCat(running);
  Map record = TaskRecordOf(Mproc({"tasks", running_id}));
  EXPECT_EQ(record[Value("state")], Value("running"));
  EXPECT_EQ(record[Value("name")], Value("exec"));
  CommandResult cancel = Mproc({"cancel", running_id});
  EXPECT_EQ(cancel.exit_code, 0) << cancel.err;
  EXPECT_EQ(cancel.out,
            absl::StrCat("task ", running, " cancelled (it was running)\n"));
  EXPECT_EQ(Mproc({"cancel", running_id}).exit_code, 1);  // finished
  EXPECT_EQ(Mproc({"cancel", "nine"}).exit_code, 2);
  record = TaskRecordOf(Mproc({"tasks", running_id}));
  EXPECT_EQ(record[Value("state")], Value("cancelled"));

  // A failure is a dead letter, with its arguments; requeued, it runs again.
  CommandResult failed = Mproc({"submit", "fail", "[\"again\"]"});
  EXPECT_EQ(failed.exit_code, 5) << failed.err;
  const int64_t dead = SubmittedId(failed.err);
  CommandResult letters = Mproc({"dead-letters"});
  EXPECT_EQ(letters.exit_code, 0) << letters.err;
  EXPECT_TRUE(absl::StrContains(
      letters.out, absl::StrCat("task ", dead, " 'fail' [\"again\"]")))
      << letters.out;
  CommandResult requeued = Mproc({"requeue", absl::StrCat(dead)});
  EXPECT_EQ(requeued.exit_code, 0) << requeued.err;
  ASSERT_TRUE(absl::StartsWith(requeued.out, absl::StrCat(dead, " -> ")))
      << requeued.out;
  int64_t fresh = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(requeued.out.substr(
                                   requeued.out.find('>') + 1)),
                               &fresh))
      << requeued.out;
  CommandResult again = Mproc({"result", absl::StrCat(fresh), "--wait", "20"});
  EXPECT_EQ(again.exit_code, 5) << again.err;  // it failed again
  EXPECT_TRUE(absl::StrContains(again.err, "again")) << again.err;
  EXPECT_EQ(Mproc({"requeue", absl::StrCat(dead)}).exit_code, 1);
  CommandResult all = Mproc({"requeue", "--all-dead"});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_TRUE(absl::StartsWith(all.out, absl::StrCat(fresh, " -> ")))
      << all.out;

  // Listing with filters.
  CommandResult listed = Mproc({"tasks", "--state", "cancelled", "--json"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  absl::StatusOr<Value> rows = Value::FromJson(listed.out);
  ASSERT_OK(rows);
  ASSERT_EQ(rows->list_value().size(), 1u) << listed.out;
  EXPECT_EQ(rows->list_value()[0].map_value().at(Value("id")), Value(running));
  CommandResult table = Mproc({"tasks", "--name", "fail"});
  EXPECT_TRUE(absl::StrContains(table.out, "failed")) << table.out;
  EXPECT_FALSE(absl::StrContains(table.out, "exec")) << table.out;
  EXPECT_EQ(Mproc({"tasks", "--state", "bogus"}).exit_code, 2);
  EXPECT_EQ(Mproc({"tasks", "999999"}).exit_code, 1);
}

TEST_F(SidecarTest, SubmitFlagsScheduleAndRetry) {
  Start({"--processes", "2"});
  // A countdown and a priority.
  CommandResult later =
      Mproc({"submit", "echo", "[1]", "--countdown", "0.5", "--priority", "3"});
  EXPECT_EQ(later.exit_code, 0) << later.err;
  Map record =
      TaskRecordOf(Mproc({"tasks", absl::StrCat(SubmittedId(later.err))}));
  EXPECT_EQ(record[Value("priority")], Value(3));
  EXPECT_GE(Number(record, "started") - Number(record, "submitted"), 0.5)
      << Value(record).ToJson();

  // An eta, in epoch seconds.
  const double eta =
      absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()) + 0.5;
  CommandResult at =
      Mproc({"submit", "echo", "[2]", "--eta", absl::StrFormat("%.3f", eta)});
  EXPECT_EQ(at.exit_code, 0) << at.err;
  record = TaskRecordOf(Mproc({"tasks", absl::StrCat(SubmittedId(at.err))}));
  EXPECT_GE(Number(record, "started"), eta - 0.01) << Value(record).ToJson();
  EXPECT_EQ(Mproc({"submit", "echo", "[3]", "--eta", "tomorrow"}).exit_code, 2);
  EXPECT_EQ(Mproc({"submit", "echo", "[3]", "--priority", "high"}).exit_code,
            2);

  // Retries on an error type, with a backoff: three attempts in all.
  CommandResult retried =
      Mproc({"submit", "fail", "[\"flaky\"]", "--retries", "2", "--retry-on",
             "TaskError", "--retry-backoff", "0.1"});
  EXPECT_EQ(retried.exit_code, 5) << retried.err;
  record =
      TaskRecordOf(Mproc({"tasks", absl::StrCat(SubmittedId(retried.err))}));
  EXPECT_EQ(record[Value("attempts")], Value(3)) << Value(record).ToJson();
}

// With --task-records 2 the third-newest finished record is gone, and a
// lookup says so rather than "unknown".
TEST(TaskRecordsCliTest, APurgedRecordSaysItIsGone) {
  auto manager = ManagerProcess::Start("127.0.0.1:0", {"--task-records", "2"});
  ASSERT_OK(manager);
  auto workers = WorkerDaemon::Start((*manager)->address(), "default", 1);
  ASSERT_OK(workers);
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), MprocBinary());
    return RunCommand(args, {"MPROC_ADDRESS=" + (*manager)->address()});
  };
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    CommandResult r = run({"submit", "echo", absl::StrCat("[", i, "]")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ids.push_back(SubmittedId(r.err));
  }
  EXPECT_EQ(run({"tasks", absl::StrCat(ids[2])}).exit_code, 0);
  CommandResult gone = run({"tasks", absl::StrCat(ids[0])});
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(gone.err, "is gone")) << gone.err;
  CommandResult unknown = run({"tasks", "999999"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unknown.err, "no task 999999")) << unknown.err;
}

// Writes `lines` to a fresh file under TEST_TMPDIR; returns its path.
std::string WriteLines(const std::string& name,
                       const std::vector<std::string>& lines) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& line : lines) out << line << "\n";
  return path;
}

TEST_F(SidecarTest, MapRunsOneTaskPerLineAndPrintsResultsInOrder) {
  Start({"--processes", "2"});
  std::vector<std::string> lines;
  std::string expected;
  for (int i = 0; i < 10000; ++i) {
    lines.push_back(absl::StrCat("[", i, "]"));
    expected += absl::StrCat("[", i, "]\n");  // echo returns its arguments
  }
  const std::string file = WriteLines("args.jsonl", lines);
  CommandResult map = Mproc({"map", "echo", "--args-file", file});
  EXPECT_EQ(map.exit_code, 0) << map.err;
  EXPECT_TRUE(map.out == expected) << map.out.substr(0, 200);
  // Not a terminal: plain progress lines, the last at 100 %.
  EXPECT_TRUE(absl::StrContains(map.err, "mproc map: [") &&
              absl::StrContains(map.err, "] 10000/10000 100% "))
      << map.err;
  EXPECT_FALSE(absl::StrContains(map.err, "\r")) << map.err;

  const std::string bad = WriteLines("bad.jsonl", {"[1]", "", "[1,"});
  CommandResult refused = Mproc({"map", "echo", "--args-file", bad});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(refused.err, "bad.jsonl:3: not a JSON list"))
      << refused.err;
  const std::string failing =
      WriteLines("failing.jsonl", {"[\"ok\"]", "[\"no luck\"]"});
  CommandResult failed = Mproc({"map", "fail", "--args-file", failing});
  EXPECT_EQ(failed.exit_code, 5) << failed.err;
  EXPECT_TRUE(absl::StrContains(failed.err, "item 1 of")) << failed.err;
}

TEST_F(SidecarTest, MapDrawsAProgressBarInATerminal) {
  Start({"--processes", "2"});
  std::vector<std::string> lines;
  for (int i = 0; i < 10000; ++i) lines.push_back(absl::StrCat("[", i, "]"));
  const std::string file = WriteLines("tty.jsonl", lines);
  const std::string dir = std::getenv("TEST_TMPDIR");
  // A unix socket path must be short: TEST_TMPDIR is too deep.
  char socket_dir[] = "/tmp/mproc-tmux-XXXXXX";
  ASSERT_NE(mkdtemp(socket_dir), nullptr);
  const std::string socket = std::string(socket_dir) + "/s";
  const std::string out = dir + "/tty.out";
  // A real terminal: a tmux pane, which keeps its screen after the command.
  const std::string script = absl::StrCat(
      "MPROC_ADDRESS=", up_->address(), " ", MprocBinary(), " map echo ",
      "--args-file ", file, " > ", out, "; echo EXIT=$?; sleep 60");
  CommandResult tmux = RunCommand({"tmux", "-S", socket, "new-session", "-d",
                                   "-x", "160", "-y", "10", script},
                                  {"TERM=xterm"});
  ASSERT_EQ(tmux.exit_code, 0) << tmux.err;
  std::string screen;
  for (int i = 0; i < 600 && !absl::StrContains(screen, "EXIT="); ++i) {
    screen = RunCommand({"tmux", "-S", socket, "capture-pane", "-p"}).out;
    if (!absl::StrContains(screen, "EXIT="))
      absl::SleepFor(absl::Milliseconds(50));
  }
  RunCommand({"tmux", "-S", socket, "kill-server"});
  RunCommand({"rm", "-rf", socket_dir});
  EXPECT_TRUE(absl::StrContains(screen, "EXIT=0")) << screen;
  // One bar, redrawn in place, ending full.
  EXPECT_TRUE(absl::StrContains(
      screen, "map [##############################] 10000/10000 100% "))
      << screen;
  EXPECT_FALSE(absl::StrContains(screen, "mproc map: ")) << screen;
  std::ifstream results(out);
  int count = 0;
  for (std::string line; std::getline(results, line);) ++count;
  EXPECT_EQ(count, 10000);
}

// `mproc top` in a real terminal (a tmux pane): the pool, a busy worker
// with its task and the slowest running task, redrawn as tasks finish.
TEST_F(SidecarTest, TopRedrawsPoolsWorkersAndTheSlowestTasks) {
  Start({"--processes", "2"});
  // Idle: nothing but top's own requests, which it leaves out.
  CommandResult idle = Mproc({"top", "--once", "--interval", "0.5"});
  EXPECT_EQ(idle.exit_code, 0) << idle.err;
  EXPECT_TRUE(absl::StrContains(idle.out, "ops/s 0\n")) << idle.out;
  CommandResult slow = Mproc({"submit", "sleep", "[120]", "--wait", "0.1"});
  ASSERT_EQ(slow.exit_code, 3) << slow.err;
  const int64_t slow_id = SubmittedId(slow.err);
  char socket_dir[] = "/tmp/mproc-tmux-XXXXXX";
  ASSERT_NE(mkdtemp(socket_dir), nullptr);
  const std::string socket = std::string(socket_dir) + "/s";
  const std::string script =
      absl::StrCat("MPROC_ADDRESS=", up_->address(), " ", MprocBinary(),
                   " top --interval 0.2; echo EXIT=$?; sleep 60");
  CommandResult tmux = RunCommand({"tmux", "-S", socket, "new-session", "-d",
                                   "-x", "160", "-y", "30", script},
                                  {"TERM=xterm"});
  ASSERT_EQ(tmux.exit_code, 0) << tmux.err;
  auto await_screen = [&](const std::regex& wanted) {
    std::string screen;
    for (int i = 0; i < 300; ++i) {
      screen = RunCommand({"tmux", "-S", socket, "capture-pane", "-p"}).out;
      if (std::regex_search(screen, wanted)) return screen;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ADD_FAILURE() << "the screen never showed it:\n" << screen;
    return screen;
  };
  // POOL WORKERS QUEUED SCHEDULED RUNNING SUCCEEDED FAILED DEAD
  std::string screen = await_screen(std::regex(R"(default +2 +0 +0 +1 +0 )"));
  EXPECT_TRUE(absl::StrContains(screen, "ops/s")) << screen;
  EXPECT_TRUE(std::regex_search(
      screen, std::regex(absl::StrCat(R"(busy +0 +sleep \()", slow_id,
                                      R"(\) for \d)"))))
      << screen;
  EXPECT_TRUE(std::regex_search(
      screen, std::regex(absl::StrCat("\n", slow_id, R"( +default +sleep )",
                                      R"(.*\[120\])"))))
      << screen;
  // Redrawn in place as tasks finish: three more succeeded.
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Mproc({"submit", "echo", "[1]"}).exit_code, 0);
  }
  screen = await_screen(std::regex(R"(default +2 +0 +0 +1 +3 )"));
  EXPECT_EQ(screen.find("SLOWEST"), screen.rfind("SLOWEST"))  // one screen
      << screen;
  RunCommand({"tmux", "-S", socket, "kill-server"});
  RunCommand({"rm", "-rf", socket_dir});

  // --once: one screen for a script.
  CommandResult once = Mproc({"top", "--once", "--interval", "0.1"});
  EXPECT_EQ(once.exit_code, 0) << once.err;
  EXPECT_TRUE(
      std::regex_search(once.out, std::regex(R"(default +2 +0 +0 +1 +3 )")))
      << once.out;
  EXPECT_EQ(Mproc({"top", "--interval", "0"}).exit_code, 2);
  EXPECT_EQ(Mproc({"cancel", absl::StrCat(slow_id)}).exit_code, 0);
}

TEST(PoolCliHelpTest, EveryPoolCommandHasHelp) {
  for (const char* command :
       {"up", "worker", "run", "submit", "status", "result", "map", "top",
        "lock", "semaphore", "barrier"}) {
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
