// A Session stream on gRPC's completion-queue API: the transport of every
// Session call that does not come over the local wire.
#ifndef MPROC_SERVER_RPC_GRPC_SESSION_TRANSPORT_H_
#define MPROC_SERVER_RPC_GRPC_SESSION_TRANSPORT_H_

#include <grpcpp/alarm.h>
#include <grpcpp/grpcpp.h>

#include "server/rpc/manager_service.h"
#include "server/rpc/session_transport.h"

namespace mproc {

class GrpcSessionTransport final : public SessionTransport {
 public:
  // Start asks `service` for the next Session call on `cq`.
  GrpcSessionTransport(ManagerService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq), stream_(&context_) {}

  void NotifyWhenDone(CallTag* done) override {
    context_.AsyncNotifyWhenDone(done);
  }
  void Start(CallTag* new_call) override {
    service_->RequestSession(&context_, &stream_, cq_, cq_, new_call);
  }
  std::string Peer() const override { return context_.peer(); }
  std::optional<std::string> ClientMetadata(
      absl::string_view key) const override;
  std::string CertificateName() const override;
  bool IsCancelled() const override { return context_.IsCancelled(); }
  void AddInitialMetadata(const std::string& key,
                          const std::string& value) override {
    context_.AddInitialMetadata(key, value);
  }
  void SendInitialMetadata(CallTag* tag) override {
    stream_.SendInitialMetadata(tag);
  }
  void Read(pb::RequestFrame* frame, CallTag* tag) override {
    stream_.Read(frame, tag);
  }
  void Write(const pb::ResponseFrame& frame, CallTag* tag) override {
    stream_.Write(frame, tag);
  }
  void Finish(const absl::Status& status, CallTag* tag) override;
  void ResumeAt(absl::Time when, CallTag* tag) override {
    alarm_.Set(cq_, absl::ToChronoTime(when), tag);
  }

 private:
  ManagerService* const service_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReaderWriter<pb::ResponseFrame, pb::RequestFrame> stream_;
  grpc::Alarm alarm_;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_GRPC_SESSION_TRANSPORT_H_
