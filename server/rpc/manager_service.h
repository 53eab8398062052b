// The manager's answers to its three RPCs, apart from how calls are
// threaded (rpc_threads.h, manager_calls.h): each checks the caller's
// authkey proof (authenticator.h), then hands its requests to the
// Dispatcher.
#ifndef MPROC_SERVER_RPC_MANAGER_SERVICE_H_
#define MPROC_SERVER_RPC_MANAGER_SERVICE_H_

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "proto/mproc.grpc.pb.h"
#include "server/client_session.h"
#include "server/dispatcher.h"
#include "server/object_log.h"
#include "server/rpc/authenticator.h"
#include "server/rpc/session_transport.h"

namespace mproc {

// The common name of the client certificate gRPC verified (mutual TLS);
// empty without one.
std::string VerifiedCertificateName(const grpc::ServerContextBase& context);

class ManagerService final : public pb::Manager::AsyncService {
 public:
  // `dispatcher` must outlive the service. `auth` says who may call and
  // what they may do (authenticator.h): with no key and no ACL every
  // client may do everything; otherwise every call must prove a key
  // ("mproc-auth-bin" metadata answering a Hello) or, with an ACL, come
  // with a certificate it names.
  // `max_message_bytes` is announced to clients in the session metadata
  // ("mproc-max-message-bytes") so they can refuse oversized requests
  // without breaking their session.
  // A session whose streams have all ended keeps its locks and permits
  // for `session_lease`, so a client that reconnects (after a fork or a
  // network blip) resumes it.
  // A Session stream stops reading requests while more than
  // `max_unsent_bytes` of its answers wait to be written.
  // `journal` (may be null) is the durable store's: no answer is written
  // before what it recorded is as durable as its policy asks
  // (Journal::AwaitDurable).
  ManagerService(Dispatcher* dispatcher, AuthConfig auth,
                 int64_t max_message_bytes, absl::Duration session_lease,
                 int64_t max_unsent_bytes, Journal* journal = nullptr);

  // The handshake's first step; needs no authentication.
  grpc::Status RunHello(grpc::ServerContext* context,
                        const pb::HelloRequest& request,
                        pb::HelloResponse* response) const;

  // The unary RPCs: one request, or one frame of them; an operation that
  // would wait fails instead (there is no way to answer later).
  grpc::Status RunCall(grpc::ServerContext* context, const pb::Request& request,
                       pb::Response* response) const;
  grpc::Status RunBatch(grpc::ServerContext* context,
                        const pb::RequestFrame& frame,
                        pb::ResponseFrame* responses) const;

  // For a new Session call, before anything else happens on it (its
  // session is attached only once admitted): what the stream may do, after
  // adding its initial metadata (instance id, message size limit), or why
  // the client is refused.
  absl::StatusOr<Access> AdmitSession(SessionTransport* transport) const;

  // The local wire's Hello (the same handshake as RunHello).
  absl::Status WireHello(const pb::HelloRequest& request,
                         const std::string& peer,
                         pb::HelloResponse* response) const {
    return authenticator_.Hello(request, peer, response);
  }

  Dispatcher* dispatcher() const { return dispatcher_; }
  Journal* journal() const { return journal_; }
  int64_t max_message_bytes() const { return max_message_bytes_; }
  int64_t max_unsent_bytes() const { return max_unsent_bytes_; }
  const std::shared_ptr<SessionRegistry>& sessions() const { return sessions_; }
  // Session streams open now (kept by the streams themselves): a stream
  // yields to others only when there are others.
  std::atomic<int64_t>& open_streams() { return open_streams_; }

 private:
  // OK, or UNAUTHENTICATED when the call's proof is missing, wrong, stale
  // or replayed (compared in constant time; the key is never logged).
  absl::StatusOr<Access> Authenticate(
      const grpc::ServerContextBase& context) const;
  absl::StatusOr<Access> Authenticate(const SessionTransport& call) const;

  Dispatcher* const dispatcher_;
  Journal* const journal_;
  const Authenticator authenticator_;
  const int64_t max_message_bytes_;
  const int64_t max_unsent_bytes_;
  const std::shared_ptr<SessionRegistry> sessions_;
  std::atomic<int64_t> open_streams_{0};
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_MANAGER_SERVICE_H_
