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

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

std::unique_ptr<grpc::health::v1::Health::Stub> HealthStub(
    const std::string& address) {
  return grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
}

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() +
                        std::chrono::seconds(30));
}

// A watch of a service the manager never set says SERVICE_UNKNOWN, then
// NOT_SERVING when the manager stops; a cancelled watch leaves the manager
// serving; and the manager exits with a watch still open.
TEST(HealthTest, WatchOfAnUnknownServiceAndCancelledWatches) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto stub = HealthStub((*server)->address());
  HealthCheckRequest request;
  request.set_service("nope");
  HealthCheckResponse status;
  {
    grpc::ClientContext cancelled;
    SetDeadline(&cancelled);
    auto watch = stub->Watch(&cancelled, request);
    ASSERT_TRUE(watch->Read(&status));
    EXPECT_EQ(status.status(), HealthCheckResponse::SERVICE_UNKNOWN);
    cancelled.TryCancel();
    EXPECT_FALSE(watch->Read(&status));
    EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::CANCELLED);
  }
  grpc::ClientContext check;
  SetDeadline(&check);
  HealthCheckRequest whole;
  ASSERT_TRUE(stub->Check(&check, whole, &status).ok());
  EXPECT_EQ(status.status(), HealthCheckResponse::SERVING);

  grpc::ClientContext context;
  SetDeadline(&context);
  auto watch = stub->Watch(&context, request);
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), HealthCheckResponse::SERVICE_UNKNOWN);
  ASSERT_EQ(kill((*server)->pid(), SIGTERM), 0);
  ASSERT_TRUE(watch->Read(&status));
  EXPECT_EQ(status.status(), HealthCheckResponse::NOT_SERVING);
  // The open watch does not hold the manager up: it exits cleanly.
  EXPECT_EQ((*server)->KillAndWait(SIGTERM), 0);
}

TEST(HealthTest, OverlongServiceNamesAreInvalidArguments) {
  auto server = ManagerProcess::Start();
  ASSERT_OK(server);
  auto stub = HealthStub((*server)->address());
  HealthCheckRequest request;
  HealthCheckResponse status;
  request.set_service(std::string(200, 'x'));
  grpc::ClientContext longest;
  SetDeadline(&longest);
  EXPECT_EQ(stub->Check(&longest, request, &status).error_code(),
            grpc::StatusCode::NOT_FOUND);
  request.set_service(std::string(201, 'x'));
  grpc::ClientContext over;
  SetDeadline(&over);
  grpc::Status checked = stub->Check(&over, request, &status);
  EXPECT_EQ(checked.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(checked.error_message(), "over 200 bytes"))
      << checked.error_message();
  grpc::ClientContext watched;
  SetDeadline(&watched);
  auto watch = stub->Watch(&watched, request);
  EXPECT_FALSE(watch->Read(&status));
  EXPECT_EQ(watch->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
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
