// Authkey and transport security through real managers.
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::ManagerProcess;
using testing::RunCommand;

std::string WriteKeyFile(const std::string& key) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/authkey";
  std::ofstream(path) << key << "\n";
  chmod(path.c_str(), 0600);  // a key file others may read is refused
  return path;
}

class AuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ManagerProcess::Start(
        "127.0.0.1:0", {"--authkey-file", WriteKeyFile("s3cret-key")});
    ASSERT_OK(server);
    server_ = server->release();
  }
  static void TearDownTestSuite() { delete server_; }
  static inline ManagerProcess* server_ = nullptr;
};

TEST_F(AuthTest, NoKeyIsUnauthenticated) {
  ConnectOptions options;
  options.no_auth = true;
  EXPECT_CODE(Manager::Connect(server_->address(), options),
              absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, WrongKeyIsUnauthenticated) {
  ConnectOptions options;
  options.authkey = "s3cret-kez";
  EXPECT_CODE(Manager::Connect(server_->address(), options),
              absl::StatusCode::kUnauthenticated);
  options.authkey = "s3cret-key-longer";
  EXPECT_CODE(Manager::Connect(server_->address(), options),
              absl::StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, RightKeyWorks) {
  ConnectOptions options;
  options.authkey = "s3cret-key";
  auto m = Manager::Connect(server_->address(), options);
  ASSERT_OK(m);
  auto d = (*m)->Dict("secured");
  ASSERT_OK(d);
  ASSERT_OK(d->Set("a", 1));
}

TEST_F(AuthTest, KeyFromEnvironmentWorksForTheCli) {
  testing::CommandResult r = RunCommand(
      {testing::MprocBinary(), "--manager", server_->address(), "info"},
      {"MPROC_AUTHKEY=s3cret-key"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  testing::CommandResult denied = RunCommand(
      {testing::MprocBinary(), "--manager", server_->address(), "info"});
  EXPECT_EQ(denied.exit_code, 4);  // authentication
  EXPECT_NE(denied.err.find("UNAUTHENTICATED"), std::string::npos)
      << denied.err;
  EXPECT_EQ(denied.err.find("s3cret"), std::string::npos);
}

TEST(ListenTest, NonLoopbackAddressWithoutKeyIsRefused) {
  testing::CommandResult r =
      RunCommand({testing::MprocBinary(), "manager", "--no-auth", "--listen",
                  "0.0.0.0:0", "--insecure-plaintext"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("without an authkey"), std::string::npos) << r.err;
}

TEST(ListenTest, AddressInUseIsAClearError) {
  auto first = ManagerProcess::Start();
  ASSERT_OK(first);
  testing::CommandResult r = RunCommand(
      {testing::MprocBinary(), "manager", "--listen", (*first)->address()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot listen on"), std::string::npos) << r.err;
}

TEST(ListenTest, NonLoopbackAddressWithKeyStarts) {
  auto server = ManagerProcess::Start("0.0.0.0:0", {"--insecure-plaintext"},
                                      {"MPROC_AUTHKEY=k"});
  ASSERT_OK(server);
}

TEST(ListenTest, ManagerNeverPrintsTheKey) {
  auto server = ManagerProcess::Start("127.0.0.1:0", {},
                                      {"MPROC_AUTHKEY=do-not-print-me"});
  ASSERT_OK(server);
  testing::CommandResult r = RunCommand(
      {testing::MprocBinary(), "--manager", (*server)->address(), "info"},
      {"MPROC_AUTHKEY=do-not-print-me"});
  EXPECT_EQ(r.out.find("do-not-print-me"), std::string::npos);
}

TEST(UnixSocketTest, ServesOverAPrivateSocketFile) {
  // Socket paths are limited to 107 bytes; TEST_TMPDIR can be longer.
  std::string path =
      "/tmp/mproc-auth-test-" + std::to_string(getpid()) + ".sock";
  auto server = ManagerProcess::Start("unix:" + path);
  ASSERT_OK(server);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto m = Manager::Connect("unix:" + path);
  ASSERT_OK(m);
  auto l = (*m)->List("over-unix");
  ASSERT_OK(l);
  EXPECT_EQ(*l->Append(1), 1);
  unlink(path.c_str());
}

TEST(UnixSocketTest, SecondManagerOnTheSameSocketIsRefused) {
  std::string path =
      "/tmp/mproc-auth-test-" + std::to_string(getpid()) + "-twice.sock";
  auto first = ManagerProcess::Start("unix:" + path);
  ASSERT_OK(first);
  testing::CommandResult r = RunCommand(
      {testing::MprocBinary(), "manager", "--listen", "unix:" + path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("another process"), std::string::npos) << r.err;
  auto m = Manager::Connect("unix:" + path);  // the first one still serves
  ASSERT_OK(m);
  first->reset();  // stop it; its socket file stays behind
  auto again = ManagerProcess::Start("unix:" + path);  // a stale file is fine
  EXPECT_OK(again);
  unlink(path.c_str());
}

TEST(UnixSocketTest, OverlongSocketPathIsRefusedClearly) {
  testing::CommandResult r =
      RunCommand({testing::MprocBinary(), "manager", "--listen",
                  "unix:/tmp/" + std::string(120, 'p')});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("107"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mproc
