// The client's link to one manager: a long-lived gRPC Session stream that
// carries the operations of every thread that shares it, matched to their
// answers by request id. Header is free of gRPC types.
#ifndef MPROC_CLIENT_INTERNAL_CONNECTION_H_
#define MPROC_CLIENT_INTERNAL_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "client/internal/tls_material.h"
#include "proto/mproc.pb.h"

namespace mproc {
namespace internal {

struct ConnectionOptions {
  std::string authkey;
  std::string user;
  TlsMaterial tls;
  // How long one attempt to reach the manager may take.
  absl::Duration connect_timeout = absl::Seconds(5);
  // How long a Run may wait for its answers beyond the longest wait its
  // requests ask for (their TIMEOUT argument; a blocking one with none
  // waits without limit). Past it the stream is cancelled: that Run fails
  // DEADLINE_EXCEEDED, the others in flight UNAVAILABLE. Infinite: none.
  absl::Duration reply_timeout = absl::InfiniteDuration();
};

// Thread-safe: any number of threads may call Run at once; their requests
// are pipelined on one stream. Survives fork(): the first call in a child
// process opens a fresh channel instead of touching the parent's.
class Connection {
 public:
  virtual ~Connection() = default;

  // Sends `requests` (their ids are overwritten) in one frame and waits for
  // all their answers, stored in order in `*responses`. The returned status
  // is about transport only: UNAVAILABLE when the manager cannot be reached
  // or the stream broke (an operation in flight then may or may not have
  // been applied), DEADLINE_EXCEEDED when the answers did not come within
  // the reply timeout (the same uncertainty), UNAUTHENTICATED for a wrong
  // authkey, RESOURCE_EXHAUSTED for a frame over the manager's size limit. Each
  // operation's own status is in its Response. Reconnects on the next call
  // after a failure, with backoff (50 ms doubling to 2 s) between attempts.
  virtual absl::Status Run(std::vector<pb::Request> requests,
                           std::vector<pb::Response>* responses) = 0;

  virtual const std::string& address() const = 0;

  // The manager instance id seen on the latest session ("" before one).
  virtual std::string instance_id() const = 0;

  // How many times a new session saw a different manager instance than the
  // one before it (i.e. the manager restarted).
  virtual int64_t instance_changes() const = 0;

  // How many times a new stream found this process's session gone: expired
  // while the process was paused or cut off past the lease, or lost with a
  // manager restart. Each loss took every lock and permit it held.
  virtual int64_t session_losses() const = 0;

  // Session streams this process has opened on this connection. Each new
  // one means the manager saw the one before end: the parked calls made on
  // it were withdrawn, and a worker's tasks taken on it were taken back.
  virtual int64_t streams_opened() const = 0;
};

// Connects lazily: nothing happens until the first Run.
std::shared_ptr<Connection> NewConnection(std::string address,
                                          ConnectionOptions options);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_CONNECTION_H_
