// One Session stream as the client's connection uses it (connection.cc):
// gRPC's (GrpcSessionStream, below) or the local wire's
// (wire_session_stream.h). Blocking calls; one Write and one Read may run
// at once on different threads, and TryCancel from any thread.
#ifndef MPROC_CLIENT_INTERNAL_SESSION_STREAM_H_
#define MPROC_CLIENT_INTERNAL_SESSION_STREAM_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "absl/status/status.h"
#include "common/grpc_status.h"
#include "proto/mproc.grpc.pb.h"

namespace mproc {
namespace internal {

class SessionStream {
 public:
  virtual ~SessionStream() = default;
  // False once the stream is broken.
  virtual bool Write(const pb::RequestFrame& frame) = 0;
  // False at the stream's end; Finish then says why.
  virtual bool Read(pb::ResponseFrame* frame) = 0;
  // Tells the manager no more requests come.
  virtual bool WritesDone() = 0;
  // The stream's final status, once the manager sent it or the stream
  // broke (CANCELLED after TryCancel). After the last Read or Write.
  virtual absl::Status Finish() = 0;
  // Breaks the stream: blocked calls return, later ones fail.
  virtual void TryCancel() = 0;
  // In a forked child, for a stream the parent opened: lets go of what
  // the child holds of it without acting on the parent's connection (may
  // be called again). The object is then leaked, never destroyed.
  virtual void AbandonInChild() {}
};

// gRPC's Session call: the context and the reader-writer made from it.
class GrpcSessionStream final : public SessionStream {
 public:
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReaderWriter<pb::RequestFrame, pb::ResponseFrame>>
      rw;

  bool Write(const pb::RequestFrame& frame) override {
    return rw->Write(frame);
  }
  bool Read(pb::ResponseFrame* frame) override { return rw->Read(frame); }
  bool WritesDone() override { return rw->WritesDone(); }
  absl::Status Finish() override { return FromGrpcStatus(rw->Finish()); }
  void TryCancel() override { context.TryCancel(); }
};

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_SESSION_STREAM_H_
