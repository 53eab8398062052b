#include "server/rpc/manager_service.h"

#include "common/grpc_status.h"
#include "common/metadata.h"

namespace mproc {

ManagerService::ManagerService(Dispatcher* dispatcher, AuthConfig auth,
                               int64_t max_message_bytes,
                               absl::Duration session_lease,
                               int64_t max_unsent_bytes, Journal* journal)
    : dispatcher_(dispatcher),
      journal_(journal),
      authenticator_(std::move(auth)),
      max_message_bytes_(max_message_bytes),
      max_unsent_bytes_(max_unsent_bytes),
      sessions_(std::make_shared<SessionRegistry>(session_lease,
                                                  &DeadlineTimer::Default())) {}

std::string VerifiedCertificateName(const grpc::ServerContextBase& context) {
  std::string name;
  if (std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
      auth != nullptr && auth->IsPeerAuthenticated()) {
    for (const grpc::string_ref& value :
         auth->FindPropertyValues("x509_common_name")) {
      name.assign(value.data(), value.size());
    }
  }
  return name;
}

absl::StatusOr<Access> ManagerService::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (!authenticator_.required()) return Access::Everything();
  const auto& metadata = context.client_metadata();
  CallCredentials call;
  std::string proof;
  if (auto it = metadata.find(kAuthProofMetadata); it != metadata.end()) {
    proof.assign(it->second.data(), it->second.size());
    call.proof = &proof;
  }
  if (auto it = metadata.find(kUserMetadata); it != metadata.end()) {
    call.user.assign(it->second.data(), it->second.size());
  }
  call.certificate_name = VerifiedCertificateName(context);
  call.peer = context.peer();
  return authenticator_.Check(call);
}

grpc::Status ManagerService::RunHello(grpc::ServerContext* context,
                                      const pb::HelloRequest& request,
                                      pb::HelloResponse* response) const {
  return ToGrpcStatus(authenticator_.Hello(request, context->peer(), response));
}

grpc::Status ManagerService::RunCall(grpc::ServerContext* context,
                                     const pb::Request& request,
                                     pb::Response* response) const {
  absl::StatusOr<Access> access = Authenticate(*context);
  if (!access.ok()) return ToGrpcStatus(access.status());
  dispatcher_->Execute(request, response, *access);
  return grpc::Status::OK;
}

grpc::Status ManagerService::RunBatch(grpc::ServerContext* context,
                                      const pb::RequestFrame& frame,
                                      pb::ResponseFrame* responses) const {
  absl::StatusOr<Access> access = Authenticate(*context);
  if (!access.ok()) return ToGrpcStatus(access.status());
  dispatcher_->ExecuteFrame(frame, responses, *access);
  return grpc::Status::OK;
}

absl::StatusOr<Access> ManagerService::Authenticate(
    const SessionTransport& call) const {
  if (!authenticator_.required()) return Access::Everything();
  CallCredentials credentials;
  std::optional<std::string> proof = call.ClientMetadata(kAuthProofMetadata);
  if (proof.has_value()) credentials.proof = &*proof;
  credentials.user = call.ClientMetadata(kUserMetadata).value_or("");
  credentials.certificate_name = call.CertificateName();
  credentials.peer = call.Peer();
  return authenticator_.Check(credentials);
}

absl::StatusOr<Access> ManagerService::AdmitSession(
    SessionTransport* transport) const {
  absl::StatusOr<Access> access = Authenticate(*transport);
  if (access.ok()) {
    transport->AddInitialMetadata(kInstanceMetadata,
                                  dispatcher_->instance_id());
    transport->AddInitialMetadata(kMaxMessageMetadata,
                                  std::to_string(max_message_bytes_));
  }
  return access;
}

}  // namespace mproc
