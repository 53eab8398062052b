// A running manager: object store, dispatcher and gRPC server together.
#ifndef MPROC_SERVER_RPC_MANAGER_SERVER_H_
#define MPROC_SERVER_RPC_MANAGER_SERVER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metadata.h"

namespace mproc {

// How often a TLS manager looks for renewed certificate files.
inline constexpr absl::Duration kCertificateRefresh = absl::Seconds(5);

struct ManagerServerOptions {
  // HOST:PORT (port 0 picks a free one) or unix:/path.
  std::string listen = kDefaultManagerAddress;
  // The key every client must prove it holds (common/auth_proof.h). Empty
  // only with no_auth.
  std::string authkey;
  // Named keys and certificate names with roles (acl_file.h) instead of
  // the lone key: authkey then stays empty.
  std::string acl_file;
  // No authentication at all: allowed on local-only addresses only (on
  // TCP loopback every local user can then connect; a unix socket is the
  // owner's alone).
  bool no_auth = false;
  // Allows a non-local address without TLS: the key stays secret, the
  // traffic does not.
  bool insecure_plaintext = false;
  // TLS: the manager's certificate (chain) and key files; with
  // `tls_client_ca`, clients must present a certificate that CA signed
  // (mutual TLS). The files are watched: a renewed certificate is used
  // within kCertificateRefresh, without a restart.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Larger incoming messages fail with RESOURCE_EXHAUSTED, and so does an
  // operation whose answer would be larger (after giving back what it
  // took); answers are written in frames under this size.
  int64_t max_message_bytes = int64_t{64} << 20;
  // Per client stream: while more than this many bytes of answers wait to
  // be written (the client is not reading), the manager stops reading that
  // stream's requests.
  int64_t max_unsent_bytes = int64_t{64} << 20;
  // The largest object a single request may create (an Array's elements):
  // beyond it, creating fails with RESOURCE_EXHAUSTED at once.
  int64_t max_object_bytes = int64_t{1} << 30;
  // How long a client's session — and so its locks and semaphore permits —
  // outlives its last connection, so a client that reconnects (after a
  // fork, a network blip) keeps them. A silent connection (machine gone,
  // network cut) is itself dropped after about a lease: the manager pings
  // after lease/2 of silence and gives up lease/2 later.
  absl::Duration session_lease = absl::Seconds(10);
  // How long a pool keeps results whose client's session ended, so a
  // client that comes back can still read them by task id.
  absl::Duration result_ttl = absl::Minutes(10);
  // Finished task records a pool keeps within that TTL (the newest).
  int64_t task_records = 10000;
  // Threads that poll the sockets and run the commands (rpc_threads.h).
  // One avoids hand-offs between threads and gives the lowest latency;
  // more let commands run in parallel on a machine with many cores.
  int threads = 1;
  // How long a thread polls without sleeping after an event before it
  // blocks (rpc_threads.h); zero: it blocks at once.
  absl::Duration poll_spin = absl::Microseconds(50);
  // Where the objects are kept across restarts and crashes (a RocksDB
  // database, server/store/); empty: in memory only, as Python's manager.
  std::string data_dir;
  // When the data dir's log reaches the disk: "always" (before answering),
  // "everysec" or "no" (server/store/journal_db.h).
  std::string fsync = "everysec";
  // Rebuild a damaged data dir, keeping what can be read, instead of
  // refusing to start.
  bool repair = false;
  // A Prometheus endpoint and the dashboard (manager_metrics.h) on this
  // loopback HOST:PORT; empty: none (requests are counted either way).
  std::string metrics_listen;
  // A request answered at once that takes longer is logged (slow_op).
  absl::Duration slow_op = absl::Milliseconds(100);
};

// True for a Start error about the data dir (missing parent, unwritable,
// in use, damaged, unknown format).
bool IsDataDirError(const absl::Status& status);

class ManagerServer {
 public:
  // Validates the options, loads the data dir, binds and starts serving.
  // FAILED_PRECONDITION for an empty authkey without no_auth, an address
  // the listen policy refuses (listen_address.h), or a data dir that cannot
  // be used (named, with why); UNAVAILABLE if the
  // address cannot be bound. A unix socket file is created with mode 0600.
  static absl::StatusOr<std::unique_ptr<ManagerServer>> Start(
      const ManagerServerOptions& options);

  virtual ~ManagerServer() = default;

  // The bound address, with the real port when 0 was asked for.
  virtual const std::string& address() const = 0;
  virtual const std::string& instance_id() const = 0;
  // Where the objects live, for the start-up line: "in memory only
  // (nothing survives a restart)", or the data dir, its fsync policy and
  // what was loaded from it.
  virtual const std::string& storage_summary() const = 0;
  // "http://HOST:PORT/metrics", or empty without metrics_listen.
  virtual const std::string& metrics_url() const = 0;

  // Blocks until Shutdown() is called (from another thread or a signal
  // watcher).
  virtual void Wait() = 0;

  // Stops accepting calls, cancels open sessions after a short grace
  // period, and returns. Thread-safe; idempotent.
  virtual void Shutdown() = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_MANAGER_SERVER_H_
