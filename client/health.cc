#include "client/health.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "client/internal/tls_material.h"
#include "common/grpc_status.h"
#include "proto/health.grpc.pb.h"

namespace mproc {

absl::StatusOr<std::string> CheckHealth(const std::string& address,
                                        const ConnectOptions& options,
                                        const std::string& service,
                                        absl::Duration timeout) {
  absl::StatusOr<internal::TlsMaterial> tls =
      internal::LoadTlsMaterial(options.tls_ca, options.tls_cert,
                                options.tls_key, options.tls_server_name);
  if (!tls.ok()) return tls.status();
  grpc::ChannelArguments args;
  auto stub = grpc::health::v1::Health::NewStub(grpc::CreateCustomChannel(
      address, internal::ChannelCredentials(*tls, &args), args));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  context.set_wait_for_ready(true);  // a manager still starting counts
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError(absl::StrCat("no health answer from ",
                                               address, " within ",
                                               absl::FormatDuration(timeout)));
  }
  if (!status.ok()) return FromGrpcStatus(status);
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
      response.status());
}

}  // namespace mproc
