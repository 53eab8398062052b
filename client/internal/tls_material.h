// A client's TLS material (docs/security.md): read from its files once,
// then turned into channel credentials for every channel it opens.
#ifndef MPROC_CLIENT_INTERNAL_TLS_MATERIAL_H_
#define MPROC_CLIENT_INTERNAL_TLS_MATERIAL_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/support/channel_arguments.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace mproc {
namespace internal {

// Empty root: plaintext.
struct TlsMaterial {
  std::string root_pem;
  std::string key_pem;
  std::string cert_pem;
  std::string server_name;  // to check the certificate for; empty: the host
};

// `value` if set, else the environment variable `name`, else "".
std::string FlagOrEnvironment(const std::string& value, const char* name);

// From the files named (each empty one from $MPROC_TLS_CA, $MPROC_TLS_CERT,
// $MPROC_TLS_KEY, $MPROC_TLS_SERVER_NAME). No CA: plaintext, and then a
// certificate, key or server name is INVALID_ARGUMENT, as is a certificate
// without its key; errors of ReadPublicFile / ReadPrivateFile for the
// files.
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const std::string& ca,
                                            const std::string& cert,
                                            const std::string& key,
                                            const std::string& server_name);

// Plaintext or TLS credentials for `tls`; sets the name to check in `args`.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const TlsMaterial& tls, grpc::ChannelArguments* args);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_TLS_MATERIAL_H_
