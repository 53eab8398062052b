// TLS and mutual TLS through real managers, with certificates made at test
// time by `mproc certs create`.
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "common/local_wire.h"
#include "tests/support/manager_fixture.h"
#include "tests/support/os_probes.h"
#include "tests/support/tcp_relay.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;
using testing::TcpRelay;
using testing::ThreadCpuSeconds;

// A set of certificates in TEST_TMPDIR/`name` (made once per name).
std::string Certificates(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  if (!std::filesystem::exists(dir + "/ca.crt")) {
    CommandResult made =
        RunCommand({MprocBinary(), "certs", "create", dir, "--host",
                    "localhost", "--host", "127.0.0.1"});
    EXPECT_EQ(made.exit_code, 0) << made.err;
  }
  return dir;
}

ConnectOptions TlsClient(const std::string& certs, bool with_cert = false) {
  ConnectOptions options;
  options.tls_ca = certs + "/ca.crt";
  if (with_cert) {
    options.tls_cert = certs + "/client.crt";
    options.tls_key = certs + "/client.key";
  }
  options.connect_timeout = absl::Seconds(2);
  return options;
}

// Connects with MPROC_WIRE set to `wire` ("" leaves it unset, whatever
// the suite set).
absl::StatusOr<std::unique_ptr<Manager>> ConnectWith(const std::string& address,
                                                     const std::string& wire,
                                                     ConnectOptions options) {
  const char* suite = std::getenv("MPROC_WIRE");
  const std::string saved = suite == nullptr ? "" : suite;
  if (wire.empty()) {
    unsetenv("MPROC_WIRE");
  } else {
    setenv("MPROC_WIRE", wire.c_str(), 1);
  }
  auto manager = Manager::Connect(address, std::move(options));
  if (saved.empty()) {
    unsetenv("MPROC_WIRE");
  } else {
    setenv("MPROC_WIRE", saved.c_str(), 1);
  }
  return manager;
}

std::vector<std::string> ServerFlags(const std::string& certs) {
  return {"--tls-cert", certs + "/server.crt", "--tls-key",
          certs + "/server.key"};
}

TEST(CertsTest, CreateMakesPrivateKeysAndRefusesToOverwrite) {
  const std::string dir = Certificates("certs-modes");
  for (const char* key : {"/ca.key", "/server.key", "/client.key"}) {
    struct stat st;
    ASSERT_EQ(stat((dir + key).c_str(), &st), 0) << key;
    EXPECT_EQ(st.st_mode & 0777, 0600) << key;
  }
  CommandResult again = RunCommand({MprocBinary(), "certs", "create", dir});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(again.err, "never overwrites")) << again.err;
}

TEST(TlsTest, ObjectsQueuesLocksAndThePoolWorkOverTls) {
  const std::string certs = Certificates("certs-main");
  std::vector<std::string> flags = ServerFlags(certs);
  flags.insert(flags.end(),
               {"--tls-ca", certs + "/ca.crt", "--processes", "1"});
  auto sidecar = ManagerProcess::StartSidecar("127.0.0.1:0", flags);
  ASSERT_OK(sidecar);
  EXPECT_TRUE(absl::StrContains((*sidecar)->start_output(), "TLS"));
  auto m = Manager::Connect((*sidecar)->address(), TlsClient(certs));
  ASSERT_OK(m);
  auto d = (*m)->Dict("tls-dict");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("k", 5));
  EXPECT_EQ(*d->Get("k"), Value(5));
  auto q = (*m)->Queue("tls-queue");
  ASSERT_OK(q);
  ASSERT_OK(q->Put(Value("item")));
  EXPECT_EQ(*q->Get(), Value("item"));
  auto lock = (*m)->Lock("tls-lock");
  ASSERT_OK(lock);
  ASSERT_TRUE(*lock->Acquire());
  ASSERT_OK(lock->Release());
  auto pool = (*m)->Pool();
  ASSERT_OK(pool);
  EXPECT_EQ(*(*pool)->Apply("echo", {Value("through tls")}),
            Value(List{Value("through tls")}));
  // The CLI, with its flags.
  CommandResult cli =
      RunCommand({MprocBinary(), "--manager", (*sidecar)->address(), "--tls-ca",
                  certs + "/ca.crt", "dict", "get", "tls-dict", "k"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_EQ(cli.out, "5\n");
}

TEST(TlsTest, PlaintextAndForeignCasAreRefused) {
  const std::string certs = Certificates("certs-main");
  auto server = ManagerProcess::Start("127.0.0.1:0", ServerFlags(certs));
  ASSERT_OK(server);
  ConnectOptions plaintext;
  plaintext.connect_timeout = absl::Seconds(2);
  absl::StatusOr<std::unique_ptr<Manager>> refused =
      Manager::Connect((*server)->address(), plaintext);
  EXPECT_CODE(refused, absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "handshake"))
      << refused.status();
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "--tls-ca"))
      << refused.status();
  EXPECT_CODE(Manager::Connect((*server)->address(),
                               TlsClient(Certificates("certs-foreign"))),
              absl::StatusCode::kUnavailable);
  // The certificate names localhost and 127.0.0.1, not this.
  ConnectOptions wrong_name = TlsClient(certs);
  wrong_name.tls_server_name = "elsewhere.example";
  EXPECT_CODE(Manager::Connect((*server)->address(), wrong_name),
              absl::StatusCode::kUnavailable);
  EXPECT_OK(Manager::Connect((*server)->address(), TlsClient(certs)));
}

// A TLS client on this machine is served by the manager's wire thread
// over TLS; one that asks for gRPC (MPROC_WIRE=grpc) by gRPC's own TLS, on
// the same port.
TEST(TlsTest, LocalTlsClientsUseTheWireAndGrpcTlsStillWorks) {
  const std::string certs = Certificates("certs-main");
  auto server = ManagerProcess::Start("127.0.0.1:0", ServerFlags(certs));
  ASSERT_OK(server);
  const pid_t pid = (*server)->pid();
  for (const std::string wire : {"", "grpc"}) {
    auto m = ConnectWith((*server)->address(), wire, TlsClient(certs));
    ASSERT_OK(m) << wire;
    auto d = (*m)->Dict("tls-counted");
    ASSERT_OK(d);
    ASSERT_OK(d->Set(0, 0));  // the stream is open before the count
    const double wire_before = ThreadCpuSeconds(pid, "mproc-wire");
    const double grpc_before = ThreadCpuSeconds(pid, "mproc-poll");
    for (int i = 0; i < 3000; ++i) ASSERT_OK(d->Set(i % 10, i));
    EXPECT_EQ(*d->Get(9), Value(2999));
    const double by_wire = ThreadCpuSeconds(pid, "mproc-wire") - wire_before;
    const double by_grpc = ThreadCpuSeconds(pid, "mproc-poll") - grpc_before;
    const double mine = wire.empty() ? by_wire : by_grpc;
    const double other = wire.empty() ? by_grpc : by_wire;
    EXPECT_GT(mine, 0) << "client '" << wire << "' not served as asked";
    EXPECT_LT(other, 0.2 * mine + 0.02)
        << "client '" << wire << "': the other side used " << other
        << " s, the expected one " << mine;
  }
}

// What a network observer sees of a TLS session, on the wire and on gRPC:
// the wire's TLS magic at most, nothing of the objects, their names or
// the wire's own messages.
TEST(TlsTest, AnObserverSeesNothingOfWhatTlsCarries) {
  const std::string certs = Certificates("certs-main");
  auto server = ManagerProcess::Start("127.0.0.1:0", ServerFlags(certs));
  ASSERT_OK(server);
  for (const std::string wire : {"", "grpc"}) {
    TcpRelay relay((*server)->address());
    {
      auto m = ConnectWith(relay.address(), wire, TlsClient(certs));
      ASSERT_OK(m) << wire;
      auto d = (*m)->Dict("observed-dict");
      ASSERT_OK(d);
      ASSERT_OK(d->Set("field", std::string("carried-in-tls")));
      EXPECT_EQ(*d->Get("field"), Value("carried-in-tls"));
      // Many records each way, and frames larger than the reads.
      const std::string big(300 * 1024, 'b');
      for (int i = 0; i < 4; ++i) ASSERT_OK(d->Set(i, big));
      auto many = d->Items();
      ASSERT_OK(many);
      EXPECT_EQ(many->size(), 5u);
      EXPECT_EQ(*d->Get(3), Value(big));
    }
    const std::string sent = relay.Sent();
    const std::string seen = sent + relay.Answered();
    // Through the relay, as TLS: the wire's magic, or gRPC's ClientHello.
    ASSERT_FALSE(sent.empty()) << "client '" << wire << "'";
    if (wire.empty()) {
      EXPECT_TRUE(absl::StartsWith(sent, kTlsWireMagic));
    } else {
      EXPECT_EQ(sent[0], '\x16') << "not a TLS handshake record";
    }
    for (const char* secret : {"observed-dict", "carried-in-tls", "MPROC-W1"}) {
      EXPECT_FALSE(absl::StrContains(seen, secret))
          << "'" << secret << "' in the clear, client '" << wire << "'";
    }
  }
}

TEST(TlsTest, MutualTlsRefusesMissingAndForeignClientCertificates) {
  const std::string certs = Certificates("certs-main");
  std::vector<std::string> flags = ServerFlags(certs);
  flags.insert(flags.end(), {"--tls-client-ca", certs + "/ca.crt"});
  auto server = ManagerProcess::Start("127.0.0.1:0", flags);
  ASSERT_OK(server);
  EXPECT_TRUE(absl::StrContains((*server)->start_output(), "mutual TLS"));
  EXPECT_CODE(Manager::Connect((*server)->address(), TlsClient(certs)),
              absl::StatusCode::kUnavailable);
  ConnectOptions foreign = TlsClient(certs);
  const std::string other = Certificates("certs-foreign");
  foreign.tls_cert = other + "/client.crt";
  foreign.tls_key = other + "/client.key";
  EXPECT_CODE(Manager::Connect((*server)->address(), foreign),
              absl::StatusCode::kUnavailable);
  auto m = Manager::Connect((*server)->address(), TlsClient(certs, true));
  ASSERT_OK(m);
  auto l = (*m)->List("mtls-list");
  ASSERT_OK(l);
  EXPECT_EQ(*l->Append(1), 1);
}

TEST(TlsTest, NonLoopbackAddressIsAllowedWithTls) {
  const std::string certs = Certificates("certs-main");
  EXPECT_OK(ManagerProcess::Start("0.0.0.0:0", ServerFlags(certs)));
  // With client certificates, even without a key.
  std::vector<std::string> flags = ServerFlags(certs);
  flags.insert(flags.end(),
               {"--tls-client-ca", certs + "/ca.crt", "--no-auth"});
  EXPECT_OK(ManagerProcess::Start("0.0.0.0:0", flags));
}

TEST(TlsTest, BadTlsFilesAreRefusedAtStart) {
  const std::string certs = Certificates("certs-bad");
  chmod((certs + "/server.key").c_str(), 0644);
  CommandResult loose = RunCommand(
      {MprocBinary(), "manager", "--listen", "127.0.0.1:0", "--tls-cert",
       certs + "/server.crt", "--tls-key", certs + "/server.key"},
      {}, absl::Seconds(20));
  EXPECT_NE(loose.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(loose.err, "chmod 600")) << loose.err;
  CommandResult missing = RunCommand(
      {MprocBinary(), "manager", "--listen", "127.0.0.1:0", "--tls-cert",
       certs + "/nothing.crt", "--tls-key", certs + "/server.key"},
      {}, absl::Seconds(20));
  EXPECT_NE(missing.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(missing.err, "nothing.crt")) << missing.err;
}

}  // namespace
}  // namespace mproc
