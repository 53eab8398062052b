// The manager's log (--log-format json, --log-level): a real manager and
// worker processes; every line is one JSON object; connections, refused
// keys, workers joining and leaving, dead letters, slow operations and the
// shutdown are there; no key, token or task argument ever is.
#include <signal.h>

#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "client/manager.h"
#include "common/authkey_file.h"
#include "gtest/gtest.h"
#include "tests/support/child_process.h"
#include "tests/support/status_matchers.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;
using testing::WorkerDaemon;

std::string Event(const char* name) {
  return absl::StrCat("\"event\": \"", name, "\"");
}

TEST(LogsTest, JsonLinesTellWhatHappenedAndNoSecret) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--log-format", "json", "--slow-op-ms", "0",
                      "--metrics-listen", "127.0.0.1:0"});
  ASSERT_OK(server);
  ManagerProcess& m = **server;
  ASSERT_TRUE(m.AwaitOutput(Event("started"))) << m.output();
  absl::StatusOr<std::string> key = LoadAuthkey("");
  ASSERT_OK(key);
  ASSERT_FALSE(key->empty());
  {
    auto workers =
        WorkerDaemon::Start(m.address(), "logged", 1, {"--log-format", "json"});
    ASSERT_OK(workers);
    auto client = Manager::Connect(m.address());
    ASSERT_OK(client);
    auto pool = (*client)->Pool("logged");
    ASSERT_OK(pool);
    const std::string marker = "payload-marker-7f3a";
    const std::string calls =
        absl::StrCat(std::getenv("TEST_TMPDIR"), "/", marker);
    EXPECT_FALSE(
        (*pool)->ApplyAsync("flaky", {calls, 1}).Get(absl::Seconds(20)).ok());
    ASSERT_TRUE(m.AwaitOutput(Event("task_dead_lettered"))) << m.output();
    // A caller without the key (one with a wrong key learns it is wrong
    // before it sends anything: the manager proves it holds the key first).
    ConnectOptions keyless;
    keyless.no_auth = true;
    EXPECT_FALSE(Manager::Connect(m.address(), keyless).ok());
    ASSERT_TRUE(m.AwaitOutput(Event("auth_refused"))) << m.output();
    // The worker daemon stops: its process leaves the pool.
    ASSERT_OK(workers->get()->SignalAndWait(SIGTERM));
    ASSERT_TRUE(m.AwaitOutput(Event("worker_left"))) << m.output();
  }
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  ASSERT_TRUE(m.AwaitOutput(Event("stopped"))) << m.output();

  CommandResult token = RunCommand({MprocBinary(), "metrics-token"});
  ASSERT_EQ(token.exit_code, 0);
  const std::string metrics_token(absl::StripAsciiWhitespace(token.out));
  std::set<std::string> events;
  for (absl::string_view line : absl::StrSplit(m.output(), '\n')) {
    if (!absl::StartsWith(line, "{")) continue;  // the start banner
    absl::StatusOr<Value> parsed = Value::FromJson(line);
    ASSERT_OK(parsed) << line;
    ASSERT_TRUE(parsed->is_map()) << line;
    const Map& fields = parsed->map_value();
    for (const char* key :
         {"time", "level", "component", "pid", "event", "message"}) {
      EXPECT_EQ(fields.count(Value(key)), 1u) << key << " in " << line;
    }
    events.insert(fields.at(Value("event")).string_value());
    EXPECT_FALSE(absl::StrContains(line, *key)) << line;
    EXPECT_FALSE(absl::StrContains(line, metrics_token)) << line;
    EXPECT_FALSE(absl::StrContains(line, "payload-marker")) << line;
  }
  for (const char* wanted :
       {"started", "storage", "connection_opened", "connection_closed",
        "worker_joined", "task_dead_lettered", "auth_refused", "worker_left",
        "slow_op", "shutting_down", "stopped"}) {
    EXPECT_EQ(events.count(wanted), 1u) << wanted << " not logged";
  }
}

TEST(LogsTest, LevelLeavesOutWhatIsBelowIt) {
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--log-level", "warning", "--slow-op-ms", "0"});
  ASSERT_OK(server);
  ManagerProcess& m = **server;
  {
    auto client = Manager::Connect(m.address());
    ASSERT_OK(client);
    auto d = (*client)->Dict("leveled");
    ASSERT_OK(d);
    ASSERT_OK(d->Set("k", 1));
  }
  // A warning is there (as text: time, level, component, event) ...
  ASSERT_TRUE(m.AwaitOutput(" WARNING manager[")) << m.output();
  EXPECT_TRUE(absl::StrContains(m.output(), "] slow_op: ")) << m.output();
  // ... the info lines are not.
  ASSERT_EQ(kill(m.pid(), SIGTERM), 0);
  m.AwaitOutput("never printed", absl::Seconds(5));
  EXPECT_FALSE(absl::StrContains(m.output(), "connection_opened"))
      << m.output();
  EXPECT_FALSE(absl::StrContains(m.output(), " INFO ")) << m.output();
  EXPECT_EQ(
      RunCommand({MprocBinary(), "manager", "--log-level", "loud"}).exit_code,
      2);
}

}  // namespace
}  // namespace mproc
