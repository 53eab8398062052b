#include "client/internal/tls_material.h"

#include <cstdlib>

#include "common/authkey_file.h"

namespace mproc {
namespace internal {
std::string FlagOrEnvironment(const std::string& value, const char* name) {
  if (!value.empty()) return value;
  const char* env = std::getenv(name);
  return env == nullptr ? "" : env;
}

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const std::string& ca_flag,
                                            const std::string& cert_flag,
                                            const std::string& key_flag,
                                            const std::string& name_flag) {
  TlsMaterial tls;
  const std::string ca = FlagOrEnvironment(ca_flag, "MPROC_TLS_CA");
  const std::string cert = FlagOrEnvironment(cert_flag, "MPROC_TLS_CERT");
  const std::string key = FlagOrEnvironment(key_flag, "MPROC_TLS_KEY");
  tls.server_name = FlagOrEnvironment(name_flag, "MPROC_TLS_SERVER_NAME");
  if (ca.empty()) {
    if (!cert.empty() || !key.empty() || !tls.server_name.empty()) {
      return absl::InvalidArgumentError(
          "TLS: a client certificate, key or server name needs the CA "
          "(--tls-ca or MPROC_TLS_CA) that signed the manager's certificate");
    }
    return tls;
  }
  if (cert.empty() != key.empty()) {
    return absl::InvalidArgumentError(
        "TLS: a client certificate and its key go together (--tls-cert and "
        "--tls-key)");
  }
  absl::StatusOr<std::string> root = ReadPublicFile(ca, "TLS CA file");
  if (!root.ok()) return root.status();
  tls.root_pem = *std::move(root);
  if (!cert.empty()) {
    absl::StatusOr<std::string> chain =
        ReadPublicFile(cert, "TLS certificate file");
    if (!chain.ok()) return chain.status();
    absl::StatusOr<std::string> private_key =
        ReadPrivateFile(key, "TLS key file");
    if (!private_key.ok()) return private_key.status();
    tls.cert_pem = *std::move(chain);
    tls.key_pem = *std::move(private_key);
  }
  return tls;
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const TlsMaterial& tls, grpc::ChannelArguments* args) {
  if (tls.root_pem.empty()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = tls.root_pem;
  ssl.pem_private_key = tls.key_pem;
  ssl.pem_cert_chain = tls.cert_pem;
  if (!tls.server_name.empty()) args->SetSslTargetNameOverride(tls.server_name);
  return grpc::SslCredentials(ssl);
}

}  // namespace internal
}  // namespace mproc
