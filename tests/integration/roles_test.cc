// Roles (--acl-file): each named key or certificate name may do what its
// roles allow, on the objects its pattern names, and nothing else.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;

std::string Tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

class RolesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    acl_ = Tmp("acl");
    std::filesystem::remove(acl_);
    AddUser("boss", "admin", "");
    AddUser("app", "client", "jobs-*");
    AddUser("runner", "client,exec", "jobs-*");
    AddUser("crew", "worker", "jobs-*");
    auto server = ManagerProcess::Start("127.0.0.1:0", {"--acl-file", acl_});
    ASSERT_OK(server);
    server_ = server->release();
  }
  static void TearDownTestSuite() { delete server_; }

  static void AddUser(const std::string& name, const std::string& roles,
                      const std::string& pattern) {
    const std::string key = Tmp("key-" + name);
    std::filesystem::remove(key);
    std::vector<std::string> argv = {MprocBinary(), "acl",        "add",
                                     acl_,          name,         "--roles",
                                     roles,         "--key-file", key};
    if (!pattern.empty()) argv.insert(argv.end(), {"--pattern", pattern});
    CommandResult r = RunCommand(argv);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  static absl::StatusOr<std::unique_ptr<Manager>> As(const std::string& user) {
    ConnectOptions options;
    options.user = user;
    absl::StatusOr<std::string> key = LoadAuthkey(Tmp("key-" + user));
    if (!key.ok()) return key.status();
    options.authkey = *key;
    return Manager::Connect(server_->address(), options);
  }

  static inline std::string acl_;
  static inline ManagerProcess* server_ = nullptr;
};

TEST_F(RolesTest, AclHoldsHashesNotKeys) {
  struct stat st;
  ASSERT_EQ(stat(acl_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(acl_);
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  for (const char* user : {"boss", "app", "runner", "crew"}) {
    absl::StatusOr<std::string> key =
        LoadAuthkey(Tmp(std::string("key-") + user));
    ASSERT_OK(key);
    EXPECT_FALSE(absl::StrContains(text, *key)) << user;
  }
}

TEST_F(RolesTest, ClientReachesOnlyItsPatternAndCannotDelete) {
  auto app = As("app");
  ASSERT_OK(app);
  auto mine = (*app)->Dict("jobs-config");
  ASSERT_OK(mine);
  ASSERT_OK(mine->Set("k", 1));
  absl::StatusOr<DictProxy> other = (*app)->Dict("payroll");
  absl::Status denied = other.ok() ? other->Set("k", 1) : other.status();
  EXPECT_CODE(denied, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(denied.message(), "payroll")) << denied;
  EXPECT_TRUE(absl::StrContains(denied.message(), "'app'")) << denied;
  EXPECT_TRUE(absl::StrContains(denied.message(), "jobs-*")) << denied;
  absl::Status deleted = (*app)->DeleteObject("jobs-config");
  EXPECT_CODE(deleted, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(deleted.message(), "admin")) << deleted;
  // The admin may.
  auto boss = As("boss");
  ASSERT_OK(boss);
  EXPECT_OK((*boss)->DeleteObject("jobs-config"));
}

// Regression (review of the roles change): a condition named within the
// pattern must not reach a lock outside it.
TEST_F(RolesTest, AConditionCannotReachALockOutsideThePattern) {
  auto app = As("app");
  ASSERT_OK(app);
  absl::StatusOr<ConditionProxy> cond =
      (*app)->Condition("jobs-cond", "payroll-lock");
  absl::Status denied = cond.status();
  EXPECT_CODE(denied, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(denied.message(), "payroll-lock")) << denied;
  EXPECT_OK((*app)->Condition("jobs-cond", "jobs-lock"));
  // The refused one created nothing.
  auto boss = As("boss");
  ASSERT_OK(boss);
  absl::StatusOr<std::vector<ObjectInfo>> objects = (*boss)->Objects();
  ASSERT_OK(objects);
  for (const ObjectInfo& o : *objects) EXPECT_NE(o.name, "payroll-lock");
}

TEST_F(RolesTest, TheListingShowsDetailsOnlyWithinThePattern) {
  auto boss = As("boss");
  ASSERT_OK(boss);
  auto secret = (*boss)->Dict("payroll-listed");
  ASSERT_OK(secret);
  ASSERT_OK(secret->Set("salary", 1));
  auto app = As("app");
  ASSERT_OK(app);
  auto mine = (*app)->Dict("jobs-listed");
  ASSERT_OK(mine);
  ASSERT_OK(mine->Set("a", 1));
  absl::StatusOr<std::vector<ObjectInfo>> objects = (*app)->Objects();
  ASSERT_OK(objects);
  bool saw_mine = false, saw_other = false;
  for (const ObjectInfo& o : *objects) {
    if (o.name == "jobs-listed") {
      saw_mine = true;
      EXPECT_EQ(o.size, 1);
    }
    if (o.name == "payroll-listed") {
      saw_other = true;
      EXPECT_EQ(o.size, 0);
      EXPECT_TRUE(o.details.empty());
    }
  }
  EXPECT_TRUE(saw_mine);
  EXPECT_TRUE(saw_other);
}

TEST_F(RolesTest, AclAddRefusesAnAclFileOthersMayRead) {
  const std::string loose = Tmp("loose-acl");
  std::ofstream(loose) << "# shared by mistake\n";
  chmod(loose.c_str(), 0644);
  const std::string key = Tmp("key-loose");
  std::filesystem::remove(key);
  CommandResult r = RunCommand({MprocBinary(), "acl", "add", loose, "someone",
                                "--roles", "client", "--key-file", key});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "chmod 600")) << r.err;
  EXPECT_FALSE(std::filesystem::exists(key));  // no key without its line
}

TEST_F(RolesTest, WorkerMayOnlyTakeTasksOfItsPools) {
  auto crew = As("crew");
  ASSERT_OK(crew);
  const Map me{{"host", "test"}, {"pid", int64_t{1}}, {"prefetch", 1}};
  auto pool = (*crew)->PoolCalls("jobs-pool");
  ASSERT_OK(pool);
  EXPECT_OK(pool->WorkerNext(me, {}, {}, 0, absl::ZeroDuration()));
  auto elsewhere = (*crew)->PoolCalls("payroll-pool");
  absl::Status taken =
      elsewhere.ok()
          ? elsewhere->WorkerNext(me, {}, {}, 0, absl::ZeroDuration()).status()
          : elsewhere.status();
  EXPECT_CODE(taken, absl::StatusCode::kPermissionDenied);
  // A worker is not a client: no objects, no submitting.
  auto dict = (*crew)->Dict("jobs-config");
  absl::Status set = dict.ok() ? dict->Set("k", 1) : dict.status();
  EXPECT_CODE(set, absl::StatusCode::kPermissionDenied);
  // And a client is not a worker.
  auto app = As("app");
  ASSERT_OK(app);
  auto as_worker = (*app)->PoolCalls("jobs-pool");
  ASSERT_OK(as_worker);
  EXPECT_CODE(as_worker->WorkerNext(me, {}, {}, 0, absl::ZeroDuration()),
              absl::StatusCode::kPermissionDenied);
}

TEST_F(RolesTest, OnlyTheExecRoleRunsCommands) {
  PopenOptions quiet;
  quiet.env["MPROC_AUTHKEY"] = *LoadAuthkey(Tmp("key-crew"));
  auto worker = Popen::Start(
      {MprocBinary(), "worker", "--manager", server_->address(), "--pool",
       "jobs-exec", "--processes", "1", "--allow-exec", "--user", "crew"},
      quiet);
  ASSERT_OK(worker);
  auto runner = As("runner");
  ASSERT_OK(runner);
  auto pool = (*runner)->Pool("jobs-exec");
  ASSERT_OK(pool);
  AsyncResult run =
      (*pool)->ApplyAsync("exec", {Value("echo"), Value("allowed")});
  absl::StatusOr<Value> ran = run.Get(absl::Seconds(30));
  ASSERT_OK(ran);
  EXPECT_TRUE(absl::StrContains(ran->ToString(), "allowed")) << ran->ToString();
  auto app = As("app");
  ASSERT_OK(app);
  auto app_pool = (*app)->Pool("jobs-exec");
  ASSERT_OK(app_pool);
  // A command line may carry secrets: shown to those who may run commands.
  auto shown = (*pool)->Task(run.task_id());
  ASSERT_OK(shown);
  EXPECT_TRUE(absl::StrContains(shown->at(Value("args")).ToString(), "allowed"))
      << Value(*shown).ToString();
  auto hidden = (*app_pool)->Task(run.task_id());
  ASSERT_OK(hidden);
  EXPECT_FALSE(
      absl::StrContains(hidden->at(Value("args")).ToString(), "allowed"))
      << Value(*hidden).ToString();
  auto listed = (*app_pool)->Tasks();
  ASSERT_OK(listed);
  EXPECT_FALSE(absl::StrContains(Value(*listed).ToString(), "allowed"));
  absl::StatusOr<Value> refused =
      (*app_pool)->Apply("exec", {Value("echo"), Value("refused")});
  EXPECT_CODE(refused, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "exec"))
      << refused.status();
  (void)(*worker)->Kill();
  (void)(*worker)->Wait();
}

// A client cancels its own tasks by id; another client's only an admin.
TEST_F(RolesTest, AClientCancelsOnlyItsOwnTasks) {
  auto app = As("app");
  ASSERT_OK(app);
  auto runner = As("runner");
  ASSERT_OK(runner);
  auto boss = As("boss");
  ASSERT_OK(boss);
  auto app_pool = (*app)->Pool("jobs-cancel");  // no worker: tasks wait
  ASSERT_OK(app_pool);
  AsyncResult mine = (*app_pool)->ApplyAsync("echo", {Value(1)});
  AsyncResult other = (*app_pool)->ApplyAsync("echo", {Value(2)});
  ASSERT_NE(other.task_id(), 0);
  auto runner_pool = (*runner)->Pool("jobs-cancel");
  ASSERT_OK(runner_pool);
  EXPECT_CODE((*runner_pool)->Cancel(mine.task_id()),
              absl::StatusCode::kPermissionDenied);
  auto runner_calls = (*runner)->PoolCalls("jobs-cancel");
  ASSERT_OK(runner_calls);
  EXPECT_CODE(runner_calls->CancelTask(mine.task_id(), -1),
              absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*(*app_pool)->Cancel(mine.task_id()), "queued");
  EXPECT_CODE(mine.Get(absl::Seconds(5)), absl::StatusCode::kCancelled);
  auto boss_pool = (*boss)->Pool("jobs-cancel");
  ASSERT_OK(boss_pool);
  EXPECT_EQ(*(*boss_pool)->Cancel(other.task_id()), "queued");
}

TEST_F(RolesTest, UnknownUsersAndWrongKeysAreUnauthenticated) {
  ConnectOptions stranger;
  stranger.user = "stranger";
  stranger.authkey = "whatever";
  EXPECT_CODE(Manager::Connect(server_->address(), stranger),
              absl::StatusCode::kUnauthenticated);
  ConnectOptions wrong;
  wrong.user = "app";
  wrong.authkey = *LoadAuthkey(Tmp("key-boss"));
  EXPECT_CODE(Manager::Connect(server_->address(), wrong),
              absl::StatusCode::kUnauthenticated);
  // The CLI names the user with --user.
  CommandResult cli = RunCommand(
      {MprocBinary(), "--manager", server_->address(), "--user", "app",
       "--authkey-file", Tmp("key-app"), "dict", "set", "jobs-cli", "k", "1"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
}

TEST(AclFileTest, BadAclFilesAreRefusedNamingTheLine) {
  const std::string bad = Tmp("bad-acl");
  std::ofstream(bad) << "# comment\nuser x nothex client\n";
  chmod(bad.c_str(), 0600);
  CommandResult r = RunCommand(
      {MprocBinary(), "manager", "--listen", "127.0.0.1:0", "--acl-file", bad},
      {}, absl::Seconds(20));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "line 2")) << r.err;
  chmod(bad.c_str(), 0644);
  r = RunCommand(
      {MprocBinary(), "manager", "--listen", "127.0.0.1:0", "--acl-file", bad},
      {}, absl::Seconds(20));
  EXPECT_TRUE(absl::StrContains(r.err, "chmod 600")) << r.err;
}

TEST(AclFileTest, CertificateNamesGetTheirRolesOverMutualTls) {
  const std::string certs = Tmp("acl-certs");
  CommandResult made = RunCommand(
      {MprocBinary(), "certs", "create", certs, "--client-name", "builder"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string acl = Tmp("cert-acl");
  std::ofstream(acl) << "cert builder client build-*\n";
  chmod(acl.c_str(), 0600);
  auto server = ManagerProcess::Start(
      "127.0.0.1:0",
      {"--acl-file", acl, "--tls-cert", certs + "/server.crt", "--tls-key",
       certs + "/server.key", "--tls-client-ca", certs + "/ca.crt"});
  ASSERT_OK(server);
  ConnectOptions options;
  options.no_auth = true;  // the certificate is the credential
  options.tls_ca = certs + "/ca.crt";
  options.tls_cert = certs + "/client.crt";
  options.tls_key = certs + "/client.key";
  auto m = Manager::Connect((*server)->address(), options);
  ASSERT_OK(m);
  auto mine = (*m)->List("build-log");
  ASSERT_OK(mine);
  EXPECT_EQ(*mine->Append(1), 1);
  auto other = (*m)->List("deploy-log");
  absl::Status denied = other.ok() ? other->Append(1).status() : other.status();
  EXPECT_CODE(denied, absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(absl::StrContains(denied.message(), "builder")) << denied;
}

}  // namespace
}  // namespace mproc
