// What a Session stream runs on: gRPC's asynchronous stream
// (grpc_session_transport.h) or the local wire's unix socket
// (wire_server.h). SessionCall (session_call.cc) holds the stream's logic
// and drives either through this interface.
//
// Contract: every operation completes exactly once, later, by handing its
// CallTag back to the tag's call (`tag->call->OnEvent(tag->event, ok)`) on
// a thread of the transport's — never from inside the call that started
// it, so a caller may hold its own lock. At most one Read and one write
// (SendInitialMetadata, Write or Finish) are outstanding at a time. The tag
// given to Start completes first (ok false: the server is shutting down,
// and no other tag completes); the one given to NotifyWhenDone completes
// once the stream is over (as with gRPC, operations started after that
// may still complete, with ok false).
#ifndef MPROC_SERVER_RPC_SESSION_TRANSPORT_H_
#define MPROC_SERVER_RPC_SESSION_TRANSPORT_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "proto/mproc.pb.h"
#include "server/rpc/rpc_threads.h"

namespace mproc {

class SessionTransport {
 public:
  virtual ~SessionTransport() = default;

  // Both before anything else, in this order.
  virtual void NotifyWhenDone(CallTag* done) = 0;
  virtual void Start(CallTag* new_call) = 0;

  // From the new call on: who calls, and what it sent with the call.
  virtual std::string Peer() const = 0;
  virtual std::optional<std::string> ClientMetadata(
      absl::string_view key) const = 0;
  // The verified common name of the client's certificate (mutual TLS);
  // empty without one.
  virtual std::string CertificateName() const = 0;
  // True once the stream is over without the client having said goodbye
  // (it vanished, or its connection broke).
  virtual bool IsCancelled() const = 0;

  // Before SendInitialMetadata (or a Finish that comes first).
  virtual void AddInitialMetadata(const std::string& key,
                                  const std::string& value) = 0;
  virtual void SendInitialMetadata(CallTag* tag) = 0;
  // Reads the next frame into `*frame`; ok false once the client is done
  // sending or gone.
  virtual void Read(pb::RequestFrame* frame, CallTag* tag) = 0;
  // `frame` must stay as it is until the tag completes.
  virtual void Write(const pb::ResponseFrame& frame, CallTag* tag) = 0;
  virtual void Finish(const absl::Status& status, CallTag* tag) = 0;
  // Completes `tag` (ok) at `when`.
  virtual void ResumeAt(absl::Time when, CallTag* tag) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_SESSION_TRANSPORT_H_
