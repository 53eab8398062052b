// gRPC health checking and server reflection, as standard tools and
// container probes use them, through real managers.
#include "client/health.h"

#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <chrono>
#include <set>

#include "absl/strings/match.h"
#include "proto/health.grpc.pb.h"
#include "proto/reflection.grpc.pb.h"
#include "tests/support/manager_fixture.h"

namespace mproc {
namespace {

using testing::CommandResult;
using testing::ManagerProcess;
using testing::MprocBinary;
using testing::RunCommand;

TEST(HealthTest, MprocHealthExitsZeroOnlyWhileServing) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  const std::string address = (*server)->address();
  CommandResult ok =
      RunCommand({MprocBinary(), "--manager", address, "health"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "SERVING\n");
  CommandResult service =
      RunCommand({MprocBinary(), "--manager", address, "health", "--service",
                  "mproc.pb.Manager"});
  EXPECT_EQ(service.exit_code, 0) << service.err;
  CommandResult unknown = RunCommand(
      {MprocBinary(), "--manager", address, "health", "--service", "nope"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(unknown.err, "NOT_FOUND")) << unknown.err;
  (*server)->KillAndWait(SIGTERM);
  CommandResult gone = RunCommand(
      {MprocBinary(), "--manager", address, "health", "--timeout", "1"});
  EXPECT_EQ(gone.exit_code, 3);  // unavailable
}

TEST(HealthTest, NeedsNoKeyAndSaysNotServingWhenStopping) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateChannel(
      (*server)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest request;
  auto watch = stub->Watch(&context, request);
  grpc::health::v1::HealthCheckResponse status;
  ASSERT_TRUE(watch->Read(&status));  // no key, no proof: still answered
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  ASSERT_EQ(kill((*server)->pid(), SIGTERM), 0);
  bool stopping = false;
  while (watch->Read(&status)) {
    if (status.status() == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
      stopping = true;
      break;
    }
  }
  EXPECT_TRUE(stopping);
  context.TryCancel();
}

TEST(HealthTest, HealthOverTls) {
  const std::string certs = std::string(std::getenv("TEST_TMPDIR")) + "/hc";
  CommandResult made = RunCommand({MprocBinary(), "certs", "create", certs});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  auto server = ManagerProcess::Start(
      "127.0.0.1:0", {"--tls-cert", certs + "/server.crt", "--tls-key",
                      certs + "/server.key"});
  ASSERT_OK(server);
  ConnectOptions options;
  options.tls_ca = certs + "/ca.crt";
  absl::StatusOr<std::string> status =
      CheckHealth((*server)->address(), options, "", absl::Seconds(5));
  ASSERT_OK(status);
  EXPECT_EQ(*status, "SERVING");
}

TEST(ReflectionTest, StandardToolsCanListTheServices) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto stub =
      grpc::reflection::v1alpha::ServerReflection::NewStub(grpc::CreateChannel(
          (*server)->address(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  auto stream = stub->ServerReflectionInfo(&context);
  grpc::reflection::v1alpha::ServerReflectionRequest request;
  request.set_list_services("*");
  ASSERT_TRUE(stream->Write(request));
  grpc::reflection::v1alpha::ServerReflectionResponse response;
  ASSERT_TRUE(stream->Read(&response));
  std::set<std::string> names;
  for (const auto& s : response.list_services_response().service()) {
    names.insert(s.name());
  }
  EXPECT_EQ(names.count("mproc.pb.Manager"), 1u);
  EXPECT_EQ(names.count("grpc.health.v1.Health"), 1u);
  stream->WritesDone();
  context.TryCancel();
}

}  // namespace
}  // namespace mproc
