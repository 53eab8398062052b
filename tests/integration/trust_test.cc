// Safe by default: what another local user, a network observer or an
// impostor manager can do to a manager and its workers (issue: trust).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/auth_proof.h"
#include "common/authkey_file.h"
#include "common/task_wire.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"
#include "tests/support/tcp_relay.h"
#include "tests/support/worker_daemon.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ConnectLoopback;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;
using testing::TcpRelay;

std::string TestTmp() { return std::getenv("TEST_TMPDIR"); }

// Writes `key` to a fresh file of mode `mode` and returns its path.
std::string KeyFile(const std::string& name, const std::string& key,
                    mode_t mode = 0600) {
  const std::string path = TestTmp() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << key;
  chmod(path.c_str(), mode);
  return path;
}

// A key no test could match by accident.
std::string DistinctKey() {
  return "key-" + absl::BytesToHexString(RandomBytes(12));
}

TEST(WireTest, KeyNeverCrossesTheWire) {
  const std::string key = DistinctKey();
  auto server =
      ManagerProcess::Start("127.0.0.1:0", {}, {"MPROC_AUTHKEY=" + key});
  ASSERT_OK(server);
  TcpRelay relay((*server)->address());
  {
    ConnectOptions options;
    options.authkey = key;
    auto m = Manager::Connect(relay.address(), options);
    ASSERT_OK(m);
    auto d = (*m)->Dict("seen-on-the-wire");
    ASSERT_OK(d);
    ASSERT_OK(d->Set("field", std::string("plain-value")));
  }
  // The CLI too.
  CommandResult cli = RunCommand({MprocBinary(), "--manager", relay.address(),
                                  "dict", "get", "seen-on-the-wire", "field"},
                                 {"MPROC_AUTHKEY=" + key});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  const std::string wire = relay.Sent() + relay.Answered();
  // Plaintext: the traffic itself is readable (what TLS is for) ...
  EXPECT_TRUE(absl::StrContains(wire, "seen-on-the-wire"));
  EXPECT_TRUE(absl::StrContains(wire, "plain-value"));
  // ... the key, in any usual encoding, is not.
  EXPECT_FALSE(absl::StrContains(wire, key));
  EXPECT_FALSE(absl::StrContains(wire, absl::Base64Escape(key)));
  EXPECT_FALSE(absl::StrContains(wire, absl::BytesToHexString(key)));
}

TEST(WireTest, RecordedConnectionPlayedAgainDoesNothing) {
  const std::string key = DistinctKey();
  auto server =
      ManagerProcess::Start("127.0.0.1:0", {}, {"MPROC_AUTHKEY=" + key});
  ASSERT_OK(server);
  ConnectOptions options;
  options.authkey = key;
  {
    TcpRelay relay((*server)->address());
    auto m = Manager::Connect(relay.address(), options);
    ASSERT_OK(m);
    auto d = (*m)->Dict("replay-target");
    ASSERT_OK(d);
    ASSERT_OK(d->Add("n", 1));
    m->reset();
    // The recording, played to the manager on a connection of its own.
    const std::string recorded = relay.FirstConnectionSent();
    ASSERT_FALSE(recorded.empty());
    const int port = std::stoi(
        (*server)->address().substr((*server)->address().rfind(':') + 1));
    const int fd = ConnectLoopback(port);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(write(fd, recorded.data(), recorded.size()),
              static_cast<ssize_t>(recorded.size()));
    // The manager refuses the played-back session and says why.
    EXPECT_TRUE((*server)->AwaitOutput("already used")) << (*server)->output();
    close(fd);
  }
  auto m = Manager::Connect((*server)->address(), options);
  ASSERT_OK(m);
  auto d = (*m)->Dict("replay-target");
  ASSERT_OK(d);
  EXPECT_EQ(*d->Get("n"), Value(1));
}

TEST(DefaultKeyTest, ManagerMakesAPrivateKeyItsUsersClientsFind) {
  const std::string config = TestTmp() + "/xdg-default-key";
  std::filesystem::remove_all(config);
  auto server =
      ManagerProcess::Start("127.0.0.1:0", {}, {"XDG_CONFIG_HOME=" + config});
  ASSERT_OK(server);
  const std::string path = config + "/mproc/authkey";
  EXPECT_TRUE(absl::StrContains((*server)->start_output(), path))
      << (*server)->start_output();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(stat((config + "/mproc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0);
  absl::StatusOr<std::string> key = ReadAuthkeyFile(path);
  ASSERT_OK(key);
  EXPECT_EQ(key->size(), 64u);  // 32 random bytes, hex
  // Same user, same config dir: the CLI finds the key by itself.
  const std::vector<std::string> info = {MprocBinary(), "--manager",
                                         (*server)->address(), "info"};
  CommandResult found = RunCommand(info, {"XDG_CONFIG_HOME=" + config});
  EXPECT_EQ(found.exit_code, 0) << found.err;
  // Without it there is no way in.
  CommandResult elsewhere =
      RunCommand(info, {"XDG_CONFIG_HOME=" + TestTmp() + "/xdg-empty"});
  EXPECT_NE(elsewhere.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(elsewhere.err, "UNAUTHENTICATED"))
      << elsewhere.err;
  std::vector<std::string> no_key = info;
  no_key.insert(no_key.begin() + 1, "--no-auth");
  CommandResult refused = RunCommand(no_key, {"XDG_CONFIG_HOME=" + config});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.err, "UNAUTHENTICATED")) << refused.err;
  // A restart keeps the key.
  server->reset();
  auto again =
      ManagerProcess::Start("127.0.0.1:0", {}, {"XDG_CONFIG_HOME=" + config});
  ASSERT_OK(again);
  EXPECT_EQ(*ReadAuthkeyFile(path), *key);
}

TEST(KeyFileTest, KeyFileOthersMayReadIsRefused) {
  const std::string loose = KeyFile("loose-key", DistinctKey(), 0644);
  CommandResult manager = RunCommand({MprocBinary(), "manager", "--listen",
                                      "127.0.0.1:0", "--authkey-file", loose},
                                     {}, absl::Seconds(20));
  EXPECT_NE(manager.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(manager.err, "chmod 600")) << manager.err;
  EXPECT_TRUE(absl::StrContains(manager.err, loose)) << manager.err;
  CommandResult client = RunCommand(
      {MprocBinary(), "--authkey-file", loose, "dict", "get", "d", "k"});
  EXPECT_NE(client.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(client.err, "chmod 600")) << client.err;
}

TEST(KeyFileTest, BinaryKeyWorksEndToEnd) {
  std::string key;
  for (int i = 0; i < 256; ++i) key.push_back(static_cast<char>(255 - i));
  const std::string path = KeyFile("binary-key", key);
  auto sidecar = ManagerProcess::StartSidecar(
      "127.0.0.1:0",
      {"--authkey-file", path, "--processes", "1", "--allow-exec"});
  ASSERT_OK(sidecar);
  ConnectOptions options;
  options.authkey = key;
  auto m = Manager::Connect((*sidecar)->address(), options);
  ASSERT_OK(m);
  auto d = (*m)->Dict("binary-key-dict");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("k", 1));
  // The CLI and the sidecar's workers carry it too: a command runs.
  CommandResult run =
      RunCommand({MprocBinary(), "--manager", (*sidecar)->address(),
                  "--authkey-file", path, "run", "--", "echo", "binary-ok"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_TRUE(absl::StrContains(run.out, "binary-ok")) << run.out;
}

TEST(NoAuthTest, OnlyLoopbackAndAClientWithAKeyRefusesIt) {
  CommandResult wide = RunCommand(
      {MprocBinary(), "manager", "--no-auth", "--listen", "0.0.0.0:0"}, {},
      absl::Seconds(20));
  EXPECT_NE(wide.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(wide.err, "without an authkey")) << wide.err;
  auto open_door = ManagerProcess::Start("127.0.0.1:0", {"--no-auth"});
  ASSERT_OK(open_door);
  EXPECT_TRUE(absl::StrContains((*open_door)->start_output(), "WARNING"))
      << (*open_door)->start_output();
  ConnectOptions with_key;
  with_key.authkey = DistinctKey();
  absl::StatusOr<std::unique_ptr<Manager>> refused =
      Manager::Connect((*open_door)->address(), with_key);
  EXPECT_CODE(refused, absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(
      absl::StrContains(refused.status().message(), "without authentication"))
      << refused.status();
  ConnectOptions no_key;
  no_key.no_auth = true;
  EXPECT_OK(Manager::Connect((*open_door)->address(), no_key));
}

// Whoever starts a manager on the port after the real one is gone gets no
// worker: a worker holding a key needs the manager to prove it.
TEST(ImpostorTest, WorkerRefusesAManagerWithoutItsKey) {
  auto impostor = ManagerProcess::Start("127.0.0.1:0", {"--no-auth"});
  ASSERT_OK(impostor);
  const std::string path = KeyFile("worker-key", DistinctKey());
  PopenOptions popen;
  popen.stdout_mode = StreamMode::kPipe;
  popen.stderr_mode = StreamMode::kStdout;
  auto worker = Popen::Start(
      {MprocBinary(), "worker", "--manager", (*impostor)->address(),
       "--processes", "1", "--allow-exec", "--authkey-file", path},
      popen);
  ASSERT_OK(worker);
  std::string said;
  EXPECT_TRUE(testing::ReadUntil((*worker)->stdout_fd(),
                                 "without authentication", absl::Seconds(20),
                                 &said))
      << said;
  ConnectOptions no_key;
  no_key.no_auth = true;
  auto m = Manager::Connect((*impostor)->address(), no_key);
  ASSERT_OK(m);
  auto pool = (*m)->Pool();
  ASSERT_OK(pool);
  absl::StatusOr<Map> status = (*pool)->Status();
  ASSERT_OK(status);
  EXPECT_TRUE(testing::WorkerRows(*status).empty())
      << Value(*status).ToString();
  (void)(*worker)->Kill();
  (void)(*worker)->Wait();
}

// A worker with no key at all does not quietly connect without one.
TEST(ImpostorTest, WorkerWithoutAnyKeyRefusesToStart) {
  CommandResult r = RunCommand(
      {MprocBinary(), "worker", "--manager", "127.0.0.1:1", "--processes", "1",
       "--allow-exec"},
      {"XDG_CONFIG_HOME=" + TestTmp() + "/xdg-no-key"}, absl::Seconds(20));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "no authkey")) << r.err;
}

bool Alive(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         line[close + 2] != 'Z';
}

// Every process descended from `root`.
std::vector<pid_t> Descendants(pid_t root) {
  std::vector<pid_t> out;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    const pid_t parent = frontier.back();
    frontier.pop_back();
    std::ifstream children(
        absl::StrCat("/proc/", parent, "/task/", parent, "/children"));
    pid_t child;
    while (children >> child) {
      out.push_back(child);
      frontier.push_back(child);
    }
  }
  return out;
}

TEST(SidecarTest, KillNineOfUpLeavesNoWorker) {
  auto sidecar = ManagerProcess::StartSidecar(
      "127.0.0.1:0", {"--processes", "2", "--allow-exec"});
  ASSERT_OK(sidecar);
  auto m = Manager::Connect((*sidecar)->address());
  ASSERT_OK(m);
  ASSERT_OK(testing::AwaitPoolStatus(**m, "default", [](const Map& s) {
    return testing::WorkerPids(s).size() == 2;
  }));
  const std::vector<pid_t> workers = Descendants((*sidecar)->pid());
  ASSERT_GE(workers.size(), 3u);  // the daemon and its two processes
  EXPECT_EQ((*sidecar)->KillAndWait(SIGKILL), -SIGKILL);
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  std::vector<pid_t> alive = workers;
  while (!alive.empty() && absl::Now() < deadline) {
    alive.erase(std::remove_if(alive.begin(), alive.end(),
                               [](pid_t p) { return !Alive(p); }),
                alive.end());
    if (!alive.empty()) absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_TRUE(alive.empty()) << alive.size() << " worker processes survived";
  for (pid_t p : alive) kill(p, SIGKILL);
}

// A directory with a copy of the binary that user nobody may run (the
// runfiles are root's), removed at the end of the test.
class NobodyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to act as user nobody";
    if (access("/usr/bin/setpriv", X_OK) != 0) GTEST_SKIP() << "no setpriv";
    char dir_template[] = "/tmp/mproc-nobody-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    dir_ = dir_template;
    chmod(dir_.c_str(), 0755);
    binary_ = dir_ + "/mproc";
    std::filesystem::copy_file(MprocBinary(), binary_);
    chmod(binary_.c_str(), 0755);
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // Runs the copy as nobody against `address` with `args`.
  CommandResult AsNobody(const std::string& address,
                         std::vector<std::string> args) {
    std::vector<std::string> argv = {"/usr/bin/setpriv",
                                     "--reuid=65534",
                                     "--regid=65534",
                                     "--clear-groups",
                                     "--",
                                     binary_,
                                     "--manager",
                                     address};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {"HOME=/nonexistent"});
  }
  std::string dir_;
  std::string binary_;
};

// Run as root, as the quick start is: user nobody must get nowhere.
TEST_F(NobodyTest, AnotherUserCannotUseARootSidecar) {
  const std::string& dir = dir_;
  auto sidecar = ManagerProcess::StartSidecar(
      "127.0.0.1:0", {"--processes", "1", "--allow-exec"});
  ASSERT_OK(sidecar);
  const std::string& address = (*sidecar)->address();
  auto as_nobody = [&](std::vector<std::string> args) {
    return AsNobody(address, std::move(args));
  };
  CommandResult run = as_nobody({"run", "--", "id"});
  EXPECT_NE(run.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(run.err, "UNAUTHENTICATED")) << run.err;
  EXPECT_FALSE(absl::StrContains(run.out, "uid=0")) << run.out;
  // Root's key file is out of reach.
  CommandResult stolen =
      as_nobody({"--authkey-file", DefaultAuthkeyPath(), "info"});
  EXPECT_NE(stolen.exit_code, 0);
  // The control: the same binary as nobody, given the key, gets in — so
  // the key, and nothing else, kept nobody out.
  absl::StatusOr<std::string> key = ReadAuthkeyFile(DefaultAuthkeyPath());
  ASSERT_OK(key);
  const std::string copy = dir + "/key";
  std::ofstream(copy) << *key;
  chmod(copy.c_str(), 0600);
  ASSERT_EQ(chown(copy.c_str(), 65534, 65534), 0);
  CommandResult given = as_nobody({"--authkey-file", copy, "info"});
  EXPECT_EQ(given.exit_code, 0) << given.err;
}

// Even a manager without a key on a socket file anyone may open serves
// only its own user: the peer's uid is checked (SO_PEERCRED).
TEST_F(NobodyTest, UnixSocketAdmitsOnlyItsOwnUser) {
  const std::string path = dir_ + "/m.sock";
  auto server = ManagerProcess::Start("unix:" + path, {"--no-auth"});
  ASSERT_OK(server);
  chmod(path.c_str(), 0666);  // as if someone loosened it
  CommandResult refused = AsNobody("unix:" + path, {"--no-auth", "info"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE((*server)->AwaitOutput("uid 65534")) << (*server)->output();
  CommandResult own = RunCommand(
      {MprocBinary(), "--manager", "unix:" + path, "--no-auth", "info"});
  EXPECT_EQ(own.exit_code, 0) << own.err;
}

// A client posing as a worker cannot complete someone else's task: the
// completion counts only from the stream the task was handed to.
TEST(ForgedWorkTest, ACompletionFromAnotherStreamIsRefusedAndCounted) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto victim = Manager::Connect((*server)->address());
  ASSERT_OK(victim);
  auto pool = (*victim)->Pool("forge");
  ASSERT_OK(pool);
  AsyncResult result = (*pool)->ApplyAsync("echo", {Value("real")});
  const int64_t id = result.task_id();
  ASSERT_GT(id, 0);
  auto forger = Manager::Connect((*server)->address());
  ASSERT_OK(forger);
  auto calls = (*forger)->PoolCalls("forge");
  ASSERT_OK(calls);
  TaskResult forged;
  forged.task_id = id;
  forged.outcome.value = Value("forged");
  forged.run_us = 1;
  const Map me{{"host", "forger"}, {"pid", int64_t{1}}, {"prefetch", 1}};
  ASSERT_OK(calls->WorkerNext(me, {EncodeResult(forged)}, {}, 0,
                              absl::ZeroDuration()));
  absl::StatusOr<Map> status = (*pool)->Status();
  ASSERT_OK(status);
  EXPECT_EQ(status->at(Value("fenced_completions")), Value(1));
  EXPECT_EQ(status->at(Value("succeeded")), Value(0));
  // The real worker's result is the one the victim gets.
  auto worker = testing::WorkerDaemon::Start((*server)->address(), "forge", 1,
                                             {}, MprocBinary());
  ASSERT_OK(worker);
  absl::StatusOr<Value> got = result.Get(absl::Seconds(20));
  ASSERT_OK(got);
  EXPECT_EQ(*got, Value(List{Value("real")}));
}

// A worker that keeps asking gets no more than its prefetch in hand: the
// rest of the queue stays for the others.
TEST(ForgedWorkTest, AWorkerHoldsAtMostItsPrefetch) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto client = Manager::Connect((*server)->address());
  ASSERT_OK(client);
  auto pool = (*client)->Pool("hoard");
  ASSERT_OK(pool);
  std::vector<AsyncResult> results;
  for (int i = 0; i < 10; ++i) {
    results.push_back((*pool)->ApplyAsync("echo", {Value(i)}));
  }
  // Submissions travel on their own: all ten are queued before anyone asks.
  ASSERT_OK(testing::AwaitPoolStatus(**client, "hoard", [](const Map& st) {
    return st.at(Value("queued")) == Value(10);
  }));
  auto hoarder = Manager::Connect((*server)->address());
  ASSERT_OK(hoarder);
  auto calls = (*hoarder)->PoolCalls("hoard");
  ASSERT_OK(calls);
  const Map me{{"host", "hoarder"}, {"pid", int64_t{2}}, {"prefetch", 2}};
  absl::StatusOr<List> first =
      calls->WorkerNext(me, {}, {}, 10, absl::ZeroDuration());
  ASSERT_OK(first);
  EXPECT_EQ(first->size(), 2u);
  absl::StatusOr<List> again =
      calls->WorkerNext(me, {}, {}, 10, absl::ZeroDuration());
  ASSERT_OK(again);
  EXPECT_TRUE(again->empty()) << again->size();
  // One finished: room for one more.
  absl::StatusOr<WorkItem> item = DecodeWorkItem((*first)[0]);
  ASSERT_OK(item);
  TaskResult done;
  done.task_id = item->task_id;
  done.outcome.value = Value("done");
  absl::StatusOr<List> next =
      calls->WorkerNext(me, {EncodeResult(done)}, {}, 10, absl::ZeroDuration());
  ASSERT_OK(next);
  EXPECT_EQ(next->size(), 1u);
  absl::StatusOr<Map> status = (*pool)->Status();
  ASSERT_OK(status);
  EXPECT_EQ(status->at(Value("queued")), Value(7));
}

TEST(ListenPolicyTest, NamesAreJudgedByWhatTheyResolveTo) {
  CommandResult fake =
      RunCommand({MprocBinary(), "manager", "--listen", "127.evil.example:0"},
                 {}, absl::Seconds(20));
  EXPECT_NE(fake.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(fake.err, "127.evil.example")) << fake.err;
  EXPECT_OK(ManagerProcess::Start("localhost:0"));
}

TEST(ListenPolicyTest, PlaintextBeyondLoopbackNeedsToBeChosen) {
  CommandResult refused =
      RunCommand({MprocBinary(), "manager", "--listen", "0.0.0.0:0"}, {},
                 absl::Seconds(20));
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(refused.err, "--insecure-plaintext"))
      << refused.err;
  EXPECT_OK(ManagerProcess::Start("0.0.0.0:0", {"--insecure-plaintext"}));
}

}  // namespace
}  // namespace mproc
