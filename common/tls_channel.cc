#include "common/tls_channel.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cerrno>
#include <climits>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

// OpenSSL's reason for the last failure on this thread ("" if none).
std::string OpensslReason() {
  std::string reason;
  while (const auto code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof(text));
    if (!reason.empty()) reason += "; ";
    reason += text;
  }
  return reason;
}

absl::Status Refused(absl::string_view what) {
  const std::string reason = OpensslReason();
  return absl::InvalidArgumentError(absl::StrCat(
      "TLS: ", what, reason.empty() ? "" : absl::StrCat(" (", reason, ")")));
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(absl::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Every certificate in `pem`, each given to `use`; false if none parsed
// or one does not parse.
template <typename Use>
bool EachCertificate(absl::string_view pem, Use use) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) return false;
  int count = 0;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    use(cert, count++);
  }
  // The end of the text reads as "no start line"; anything else is a
  // certificate that does not parse.
  const auto last = ERR_peek_last_error();
  const bool at_end = ERR_GET_LIB(last) == ERR_LIB_PEM &&
                      ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!at_end) return false;
  ERR_clear_error();
  return count > 0;
}

TlsContext NewContext(const SSL_METHOD* method) {
  SSL_CTX* raw = SSL_CTX_new(method);
  if (raw == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  // A TLS 1.2 peer renegotiating would stall a write mid-stream.
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION);
  return TlsContext(raw, SSL_CTX_free);
}

absl::Status TrustCas(SSL_CTX* context, absl::string_view pem,
                      absl::string_view what, bool name_to_clients) {
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  const bool any = EachCertificate(pem, [&](X509* cert, int) {
    X509_STORE_add_cert(store, cert);
    if (X509_NAME* name = X509_NAME_dup(X509_get_subject_name(cert))) {
      sk_X509_NAME_push(names, name);
    }
    X509_free(cert);
  });
  if (name_to_clients) {
    SSL_CTX_set_client_CA_list(context, names);
  } else {
    sk_X509_NAME_pop_free(names, X509_NAME_free);
  }
  if (!any) return Refused(absl::StrCat("no certificate in the ", what));
  return absl::OkStatus();
}

absl::Status UseIdentity(SSL_CTX* context, absl::string_view chain_pem,
                         absl::string_view key_pem) {
  bool ok = true;
  const bool any = EachCertificate(chain_pem, [&](X509* cert, int index) {
    if (index == 0) {
      ok = SSL_CTX_use_certificate(context, cert) == 1 && ok;
      X509_free(cert);
    } else {
      // The context owns an extra chain certificate once it took it.
      const bool taken = SSL_CTX_add_extra_chain_cert(context, cert) == 1;
      if (!taken) X509_free(cert);
      ok = taken && ok;
    }
  });
  if (!any || !ok) return Refused("the certificate chain does not parse");
  BioPtr bio = MemoryBio(key_pem);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr);
  if (key == nullptr) return Refused("the private key does not parse");
  const bool used = SSL_CTX_use_PrivateKey(context, key) == 1;
  EVP_PKEY_free(key);
  if (!used || SSL_CTX_check_private_key(context) != 1) {
    return Refused("the private key is not the certificate's");
  }
  return absl::OkStatus();
}

// SSL_get_error needs an empty error queue; clearing one costs a walk of
// all its slots, so it is done only when something is there.
void ClearErrors() {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

BIO* InputBio() {
  BIO* bio = BIO_new(BIO_s_mem());
  // Empty means "more later", not end of stream.
  BIO_set_mem_eof_return(bio, -1);
  return bio;
}

}  // namespace

absl::StatusOr<TlsContext> NewServerTlsContext(
    absl::string_view chain_pem, absl::string_view key_pem,
    absl::string_view client_ca_pem) {
  TlsContext context = NewContext(TLS_server_method());
  if (context == nullptr) return Refused("cannot make a context");
  if (absl::Status s = UseIdentity(context.get(), chain_pem, key_pem);
      !s.ok()) {
    return s;
  }
  SSL_CTX_set_num_tickets(context.get(), 0);
  SSL_CTX_set_session_cache_mode(context.get(), SSL_SESS_CACHE_OFF);
  if (!client_ca_pem.empty()) {
    if (absl::Status s = TrustCas(context.get(), client_ca_pem,
                                  "client CA file", /*name_to_clients=*/true);
        !s.ok()) {
      return s;
    }
    SSL_CTX_set_verify(context.get(),
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
  }
  return context;
}

absl::StatusOr<TlsContext> NewClientTlsContext(absl::string_view root_pem,
                                               absl::string_view chain_pem,
                                               absl::string_view key_pem) {
  TlsContext context = NewContext(TLS_client_method());
  if (context == nullptr) return Refused("cannot make a context");
  if (absl::Status s = TrustCas(context.get(), root_pem, "CA file",
                                /*name_to_clients=*/false);
      !s.ok()) {
    return s;
  }
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  if (!chain_pem.empty() || !key_pem.empty()) {
    if (absl::Status s = UseIdentity(context.get(), chain_pem, key_pem);
        !s.ok()) {
      return s;
    }
  }
  return context;
}

TlsChannel::TlsChannel(ssl_st* ssl) : ssl_(ssl) {
  SSL_set_bio(ssl_, InputBio(), BIO_new(BIO_s_mem()));
}

TlsChannel::~TlsChannel() { SSL_free(ssl_); }

std::unique_ptr<TlsChannel> TlsChannel::Accept(const TlsContext& context) {
  std::unique_ptr<TlsChannel> channel(new TlsChannel(SSL_new(context.get())));
  SSL_set_accept_state(channel->ssl_);
  return channel;
}

std::unique_ptr<TlsChannel> TlsChannel::Connect(
    const TlsContext& context, const std::string& server_name) {
  std::unique_ptr<TlsChannel> channel(new TlsChannel(SSL_new(context.get())));
  SSL* ssl = channel->ssl_;
  SSL_set_connect_state(ssl);
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  in6_addr ip;
  if (inet_pton(AF_INET, server_name.c_str(), &ip) == 1 ||
      inet_pton(AF_INET6, server_name.c_str(), &ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(param, server_name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, server_name.c_str());
    X509_VERIFY_PARAM_set_hostflags(param,
                                    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
  }
  return channel;
}

void TlsChannel::Feed(const char* data, size_t size) {
  BIO_write(SSL_get_rbio(ssl_), data, static_cast<int>(size));
}

void TlsChannel::TakeOutput(std::string* out) {
  BIO* bio = SSL_get_wbio(ssl_);
  const size_t pending = BIO_ctrl_pending(bio);
  if (pending == 0) return;
  const size_t old = out->size();
  out->resize(old + pending);
  const int n = BIO_read(bio, out->data() + old, static_cast<int>(pending));
  out->resize(old + static_cast<size_t>(n > 0 ? n : 0));
}

bool TlsChannel::HasOutput() const {
  return BIO_ctrl_pending(SSL_get_wbio(ssl_)) > 0;
}

TlsChannel::Result TlsChannel::Failed(int ret) {
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return Result::kWantInput;
    case SSL_ERROR_ZERO_RETURN:
      return Result::kClosed;
    default:
      break;
  }
  std::string reason = OpensslReason();
  const auto verified = SSL_get_verify_result(ssl_);
  if (verified != X509_V_OK) {
    reason = absl::StrCat("the peer's certificate was refused: ",
                          X509_verify_cert_error_string(verified));
  }
  error_ = reason.empty() ? "the TLS connection failed" : reason;
  return Result::kFailed;
}

TlsChannel::Result TlsChannel::Handshake() {
  ClearErrors();
  const int ret = SSL_do_handshake(ssl_);
  return ret == 1 ? Result::kDone : Failed(ret);
}

TlsChannel::Result TlsChannel::Read(char* data, size_t size, size_t* got) {
  ClearErrors();
  const int ret =
      SSL_read(ssl_, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
  if (ret > 0) {
    *got = static_cast<size_t>(ret);
    return Result::kDone;
  }
  return Failed(ret);
}

ssize_t TlsChannel::Receive(char* data, size_t size) {
  size_t got = 0;
  switch (Read(data, size, &got)) {
    case Result::kDone:
      return static_cast<ssize_t>(got);
    case Result::kClosed:
      return 0;
    case Result::kWantInput:
      errno = EAGAIN;
      return -1;
    case Result::kFailed:
      break;
  }
  errno = EPROTO;
  return -1;
}

bool TlsChannel::Write(absl::string_view plain) {
  while (!plain.empty()) {
    ClearErrors();
    const int chunk =
        static_cast<int>(std::min<size_t>(plain.size(), INT_MAX / 2));
    const int ret = SSL_write(ssl_, plain.data(), chunk);
    if (ret <= 0) {
      Failed(ret);
      return false;
    }
    plain.remove_prefix(static_cast<size_t>(ret));
  }
  return true;
}

bool TlsChannel::Buffered() const {
  return SSL_pending(ssl_) > 0 || BIO_ctrl_pending(SSL_get_rbio(ssl_)) > 0;
}

std::string TlsChannel::PeerCommonName() const {
  if (SSL_get_verify_result(ssl_) != X509_V_OK) return "";
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (cert == nullptr) return "";
  std::string name;
  X509_NAME* subject = X509_get_subject_name(cert);
  // The first common name, as gRPC's x509_common_name property gives it.
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    const int n = ASN1_STRING_to_UTF8(
        &utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (n > 0) name.assign(reinterpret_cast<char*>(utf8), n);
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return name;
}

}  // namespace mproc
