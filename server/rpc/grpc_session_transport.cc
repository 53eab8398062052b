#include "server/rpc/grpc_session_transport.h"

#include "common/grpc_status.h"

namespace mproc {

std::optional<std::string> GrpcSessionTransport::ClientMetadata(
    absl::string_view key) const {
  const auto& metadata = context_.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return std::string(it->second.data(), it->second.size());
}

std::string GrpcSessionTransport::CertificateName() const {
  return VerifiedCertificateName(context_);
}

void GrpcSessionTransport::Finish(const absl::Status& status, CallTag* tag) {
  stream_.Finish(ToGrpcStatus(status), tag);
}

}  // namespace mproc
