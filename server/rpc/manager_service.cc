#include "server/rpc/manager_service.h"

#include "common/grpc_status.h"
#include "common/metadata.h"

namespace mproc {

ManagerService::ManagerService(Dispatcher* dispatcher, std::string authkey,
                               int64_t max_message_bytes,
                               absl::Duration session_lease,
                               int64_t max_unsent_bytes, Journal* journal)
    : dispatcher_(dispatcher),
      journal_(journal),
      authenticator_(std::move(authkey)),
      max_message_bytes_(max_message_bytes),
      max_unsent_bytes_(max_unsent_bytes),
      sessions_(std::make_shared<SessionRegistry>(session_lease,
                                                  &DeadlineTimer::Default())) {}

absl::Status ManagerService::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (!authenticator_.required()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthProofMetadata);
  std::string proof;
  if (it != metadata.end()) proof.assign(it->second.data(), it->second.size());
  return authenticator_.Check(it == metadata.end() ? nullptr : &proof,
                              context.peer());
}

grpc::Status ManagerService::RunHello(grpc::ServerContext* /*context*/,
                                      const pb::HelloRequest& request,
                                      pb::HelloResponse* response) const {
  return ToGrpcStatus(authenticator_.Hello(request, response));
}

grpc::Status ManagerService::RunCall(grpc::ServerContext* context,
                                     const pb::Request& request,
                                     pb::Response* response) const {
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) dispatcher_->Execute(request, response);
  return auth;
}

grpc::Status ManagerService::RunBatch(grpc::ServerContext* context,
                                      const pb::RequestFrame& frame,
                                      pb::ResponseFrame* responses) const {
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) dispatcher_->ExecuteFrame(frame, responses);
  return auth;
}

grpc::Status ManagerService::AdmitSession(grpc::ServerContext* context) const {
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) {
    context->AddInitialMetadata(kInstanceMetadata, dispatcher_->instance_id());
    context->AddInitialMetadata(kMaxMessageMetadata,
                                std::to_string(max_message_bytes_));
  }
  return auth;
}

}  // namespace mproc
