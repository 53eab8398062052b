#include "server/rpc/manager_service.h"

#include "common/grpc_status.h"
#include "common/metadata.h"

namespace mproc {
namespace {

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Length is not secret enough to hide; the contents are.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0;
    unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

}  // namespace

ManagerService::ManagerService(Dispatcher* dispatcher, std::string authkey,
                               int64_t max_message_bytes,
                               absl::Duration session_lease,
                               int64_t max_unsent_bytes, Journal* journal)
    : dispatcher_(dispatcher),
      journal_(journal),
      authkey_(std::move(authkey)),
      max_message_bytes_(max_message_bytes),
      max_unsent_bytes_(max_unsent_bytes),
      sessions_(std::make_shared<SessionRegistry>(session_lease,
                                                  &DeadlineTimer::Default())) {}

absl::Status ManagerService::Authenticate(
    const grpc::ServerContextBase& context) const {
  if (authkey_.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthkeyMetadata);
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("this manager requires an authkey");
  }
  if (!ConstantTimeEquals(
          absl::string_view(it->second.data(), it->second.size()), authkey_)) {
    return absl::UnauthenticatedError("wrong authkey");
  }
  return absl::OkStatus();
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
