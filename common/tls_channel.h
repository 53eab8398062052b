// TLS for the wire (common/local_wire.h), with OpenSSL over memory
// buffers: the caller moves ciphertext between its socket and the
// channel, so the socket's reads, writes, threads and polling stay the
// caller's (the manager's wire loop, a client's blocking socket), and
// nothing is ever written to a socket behind the caller's back — a forked
// child that drops its copy of a connection sends no close_notify.
//
// A channel is not thread-safe: its owner serialises every call.
#ifndef MPROC_COMMON_TLS_CHANNEL_H_
#define MPROC_COMMON_TLS_CHANNEL_H_

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct ssl_ctx_st;
struct ssl_st;

namespace mproc {

// What one read of ciphertext from a socket asks for: a whole TLS record
// and its framing.
inline constexpr size_t kTlsReadBytes = 16 * 1024 + 512;

// A configured OpenSSL context (certificates, what to verify), shared by
// the channels made from it.
using TlsContext = std::shared_ptr<ssl_ctx_st>;

// A manager's: its certificate chain and private key (PEM). With
// `client_ca_pem`, every peer must present a certificate that CA signed
// (mutual TLS). TLS 1.2 or later; no session tickets (nothing for a
// client to answer after the handshake). INVALID_ARGUMENT if a PEM does
// not parse or the key is not the certificate's.
absl::StatusOr<TlsContext> NewServerTlsContext(absl::string_view chain_pem,
                                               absl::string_view key_pem,
                                               absl::string_view client_ca_pem);

// A client's: the CAs it trusts (required), and its own certificate chain
// and key (both empty: none). Errors as NewServerTlsContext.
absl::StatusOr<TlsContext> NewClientTlsContext(absl::string_view root_pem,
                                               absl::string_view chain_pem,
                                               absl::string_view key_pem);

class TlsChannel {
 public:
  // The manager's side of a connection.
  static std::unique_ptr<TlsChannel> Accept(const TlsContext& context);
  // A client's: the manager's certificate must name `server_name` (a DNS
  // name, sent as SNI, or an IP address).
  static std::unique_ptr<TlsChannel> Connect(const TlsContext& context,
                                             const std::string& server_name);
  ~TlsChannel();
  TlsChannel(const TlsChannel&) = delete;
  TlsChannel& operator=(const TlsChannel&) = delete;

  // Ciphertext received from the peer.
  void Feed(const char* data, size_t size);
  // Appends to `*out` the ciphertext waiting to go to the peer (handshake
  // messages, records, alerts) and forgets it.
  void TakeOutput(std::string* out);
  bool HasOutput() const;

  enum class Result { kDone, kWantInput, kClosed, kFailed };
  // Advances the handshake (a client drives it; a manager's Read does).
  Result Handshake();
  // Up to `size` bytes of plaintext into `data` (`*got` of them, on
  // kDone); the handshake first if it is not over. kWantInput: Feed more;
  // kClosed: the peer ended TLS (close_notify); kFailed: error() says why.
  Result Read(char* data, size_t size, size_t* got);
  // Read as recv(2) answers it: the bytes read; 0 once the peer ended TLS;
  // -1 with errno EAGAIN while it needs more input (Feed), EPROTO if TLS
  // failed (error() says why).
  ssize_t Receive(char* data, size_t size);
  // Encrypts all of `plain` (the records then wait in the output); false
  // (error() says why) if TLS failed or its handshake is not over.
  bool Write(absl::string_view plain);
  // Whether Read may have something without more input.
  bool Buffered() const;

  // What went wrong (OpenSSL's reason, or why the peer's certificate was
  // refused).
  const std::string& error() const { return error_; }
  // The common name of the peer's verified certificate ("" if none).
  std::string PeerCommonName() const;

 private:
  explicit TlsChannel(ssl_st* ssl);
  Result Failed(int ret);

  ssl_st* const ssl_;
  std::string error_;
};

}  // namespace mproc

#endif  // MPROC_COMMON_TLS_CHANNEL_H_
