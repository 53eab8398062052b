// The manager's polling threads spin a little after each request
// (server/rpc/rpc_threads.h), and no longer: an idle manager sleeps. And
// they are the ones that read gRPC's requests (a client on this machine
// speaks the local wire, read by the wire's thread: local_wire_test.cc).
#include <signal.h>

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "client/health.h"
#include "client/manager.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::CpuSeconds;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;
using testing::ThreadCpuSeconds;

// A burst of requests, then the CPU the manager uses in the next two
// seconds: a poller that kept spinning would use all of it.
void ExpectIdleAfterABurst(const std::vector<std::string>& flags) {
  // On gRPC's default poller, epoll1, though this process's client set
  // GRPC_POLL_STRATEGY=poll for itself (ManagerStartedByAClient... below).
  auto server = ManagerProcess::Start("127.0.0.1:0", flags);
  ASSERT_OK(server);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  auto dict = (*manager)->Dict("burst");
  ASSERT_OK(dict);
  for (int i = 0; i < 2000; ++i) ASSERT_OK(dict->Set(i % 10, i));
  const pid_t pid = (*server)->pid();
  const double before = CpuSeconds(pid);
  ASSERT_GE(before, 0);
  // The window measured (nothing to await: the claim is about the time).
  absl::SleepFor(absl::Seconds(2));
  const double after = CpuSeconds(pid);
  ASSERT_GE(after, 0);
  const double used = after - before;
  EXPECT_LT(used, 0.2) << "an idle manager used " << used << " s of CPU in 2 s";
  // And it still answers at once.
  EXPECT_OK(dict->Set("after", 1));
  (*server)->KillAndWait(SIGTERM);
}

TEST(PollSpinTest, IdleManagerSleepsAfterABurstOfRequests) {
  ExpectIdleAfterABurst({});
}

TEST(PollSpinTest, LongerSpinStillEndsAndZeroServesWithout) {
  ExpectIdleAfterABurst({"--poll-spin-us", "10000"});
  ExpectIdleAfterABurst({"--poll-spin-us", "0"});
}

// Sets MPROC_WIRE for the connections made while it lives ("" unsets it).
class WireChoice {
 public:
  explicit WireChoice(const std::string& wire) {
    if (wire.empty()) {
      unsetenv("MPROC_WIRE");
    } else {
      setenv("MPROC_WIRE", wire.c_str(), 1);
    }
  }
  ~WireChoice() { unsetenv("MPROC_WIRE"); }
};

// 20,000 sets from a client on `wire`; the thread named `thread` must do
// the manager's work, the others next to none of it.
void ExpectRequestsReadBy(const std::string& wire, const std::string& thread) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  WireChoice choice(wire);
  auto manager = Manager::Connect((*server)->address());
  ASSERT_OK(manager);
  auto health = CheckHealth((*server)->address(), ConnectOptions(), "",
                            absl::Seconds(10));
  ASSERT_OK(health);
  EXPECT_EQ(*health, "SERVING");
  auto dict = (*manager)->Dict("polled");
  ASSERT_OK(dict);
  const pid_t pid = (*server)->pid();
  // The thread's CPU by name; the others' as the rest of the process's,
  // which counts threads that ended.
  auto thread_seconds = [pid, thread] { return ThreadCpuSeconds(pid, thread); };
  const double process_before = CpuSeconds(pid);
  const double polling_before = thread_seconds();
  for (int i = 0; i < 20000; ++i) ASSERT_OK(dict->Set(i % 10, i));
  const double polling = thread_seconds() - polling_before;
  const double others = CpuSeconds(pid) - process_before - polling;
  ASSERT_GT(polling, 0) << "no thread named " << thread << " did the work";
  EXPECT_LT(others, 0.1 * polling + 0.02)
      << "other threads used " << others << " s of CPU while " << thread
      << " used " << polling << " s";
  (*server)->KillAndWait(SIGTERM);
}

// With gRPC's own health service, gRPC's callback threads waited on the
// sockets too and took about a fifth of the manager's CPU reading requests
// they then handed to the polling thread (a wake-up per request).
TEST(PollSpinTest, RequestsAreReadByTheManagersOwnPollingThread) {
  ExpectRequestsReadBy("grpc", "mproc-poll");
}

// A client sets GRPC_POLL_STRATEGY=poll in its own environment (fork
// safety, common/client_grpc_env.h); a manager it starts sheds that and
// runs on gRPC's default engine, unless the variable is the user's own.
// Makes this test process a client that has talked to a manager; its
// environment keeps the client's gRPC settings afterwards. True once it
// holds the client's GRPC_POLL_STRATEGY=poll.
bool BecomeAClient() {
  auto first = ManagerProcess::Start();
  if (!first.ok()) return false;
  auto manager = Manager::Connect((*first)->address());
  if (!manager.ok() || !(*manager)->Dict("d").ok()) return false;
  const char* inherited = std::getenv("GRPC_POLL_STRATEGY");
  return inherited != nullptr && std::string(inherited) == "poll";
}

TEST(PollSpinTest, ManagerStartedByAClientRunsOnGrpcsDefaultPoller) {
  ASSERT_TRUE(BecomeAClient());
  auto started =
      ManagerProcess::Start("127.0.0.1:0", {}, {"GRPC_VERBOSITY=DEBUG"});
  ASSERT_OK(started);
  EXPECT_TRUE(absl::StrContains((*started)->start_output(),
                                "Using polling engine: epoll1"))
      << (*started)->start_output();
  // A value other than the client's is the user's own, and stays.
  auto chosen = ManagerProcess::Start(
      "127.0.0.1:0", {},
      {"GRPC_VERBOSITY=DEBUG", "GRPC_POLL_STRATEGY=poll,epoll1"});
  ASSERT_OK(chosen);
  EXPECT_TRUE(absl::StrContains((*chosen)->start_output(),
                                "Using polling engine: poll"))
      << (*chosen)->start_output();
}

// `mproc up` too; its workers, being clients, set poll again for
// themselves.
TEST(PollSpinTest, SidecarStartedByAClientRunsItsManagerOnTheDefaultPoller) {
  ASSERT_TRUE(BecomeAClient());
  auto up = ManagerProcess::StartSidecar("127.0.0.1:0", {"--processes", "1"},
                                         {"GRPC_VERBOSITY=DEBUG"});
  ASSERT_OK(up);
  EXPECT_TRUE(
      absl::StrContains((*up)->start_output(), "Using polling engine: epoll1"))
      << (*up)->start_output();
  EXPECT_TRUE((*up)->AwaitOutput("Using polling engine: poll"))
      << (*up)->output();
}

TEST(PollSpinTest, BadValuesAreUsageErrorsNamingTheFlag) {
  for (const char* bad : {"-1", "10001", "fast"}) {
    CommandResult r = RunCommand({MprocBinary(), "manager", "--listen",
                                  "127.0.0.1:0", "--poll-spin-us", bad});
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_TRUE(absl::StrContains(r.err, "--poll-spin-us")) << r.err;
  }
}

}  // namespace
}  // namespace mproc
