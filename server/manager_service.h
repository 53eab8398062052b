// The gRPC face of the manager (callback API: no thread per call). Each
// RPC checks the authkey, then hands its requests to the Dispatcher.
#ifndef MPROC_SERVER_MANAGER_SERVICE_H_
#define MPROC_SERVER_MANAGER_SERVICE_H_

#include <string>

#include "absl/status/status.h"

#include "proto/mproc.grpc.pb.h"
#include "server/dispatcher.h"

namespace mproc {

class ManagerService final : public pb::Manager::CallbackService {
 public:
  // `dispatcher` must outlive the service. An empty `authkey` admits every
  // client; otherwise clients must send it as "mproc-authkey" metadata.
  // `max_message_bytes` is announced to clients in the session metadata
  // ("mproc-max-message-bytes") so they can refuse oversized requests
  // without breaking their session.
  ManagerService(Dispatcher* dispatcher, std::string authkey,
                 int64_t max_message_bytes);

  grpc::ServerUnaryReactor* Call(grpc::CallbackServerContext* context,
                                 const pb::Request* request,
                                 pb::Response* response) override;

  grpc::ServerUnaryReactor* Batch(grpc::CallbackServerContext* context,
                                  const pb::RequestFrame* frame,
                                  pb::ResponseFrame* responses) override;

  grpc::ServerBidiReactor<pb::RequestFrame, pb::ResponseFrame>* Session(
      grpc::CallbackServerContext* context) override;

 private:
  // OK, or UNAUTHENTICATED when the key is missing or wrong (compared in
  // constant time; the key is never logged).
  absl::Status Authenticate(const grpc::CallbackServerContext& context) const;

  Dispatcher* const dispatcher_;
  const std::string authkey_;
  const int64_t max_message_bytes_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_MANAGER_SERVICE_H_
