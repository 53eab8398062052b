// A TLS manager's certificate files as the wire's TLS context
// (common/tls_channel.h), kept current as gRPC's file watcher keeps its
// own: a renewed certificate serves new connections within the refresh
// period, without a restart.
#ifndef MPROC_SERVER_RPC_SERVER_TLS_H_
#define MPROC_SERVER_RPC_SERVER_TLS_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls_channel.h"

namespace mproc {

class ServerTlsFiles {
 public:
  // Reads the certificate chain, its key and (if named) the client CA:
  // errors of ReadPublicFile / ReadPrivateFile, or NewServerTlsContext's.
  static absl::StatusOr<std::unique_ptr<ServerTlsFiles>> Load(
      const std::string& cert, const std::string& key,
      const std::string& client_ca, absl::Duration refresh);

  // The context for a new connection. At most every `refresh` the files are
  // looked at again; when one changed and they make a valid context, that
  // one serves from then on (if not, the last good one stays, and the
  // manager says why on stderr). Any thread.
  TlsContext Current() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  ServerTlsFiles(std::string cert, std::string key, std::string client_ca,
                 absl::Duration refresh)
      : cert_(std::move(cert)),
        key_(std::move(key)),
        client_ca_(std::move(client_ca)),
        refresh_(refresh) {}
  // The files' contents as a context.
  absl::StatusOr<TlsContext> Read() const;
  // The files' modification times, joined.
  std::string Stamp() const;

  const std::string cert_;
  const std::string key_;
  const std::string client_ca_;
  const absl::Duration refresh_;

  absl::Mutex mu_;
  TlsContext current_ ABSL_GUARDED_BY(mu_);
  std::string stamp_ ABSL_GUARDED_BY(mu_);
  absl::Time next_look_ ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_SERVER_TLS_H_
