// The wire: a Session stream (proto/mproc.proto, Manager.Session) over the
// manager's sockets (unix and TCP) without gRPC's HTTP/2 framing. Born on
// unix sockets, where gRPC pays three recvmsg calls per message (its
// reader cannot ask the kernel how much is left, as TCP_INQ lets it over
// TCP), it also spares gRPC's HTTP/2, call machinery and secure endpoint
// everywhere: one read and one write per frame (docs/architecture.md).
//
// A connection starts with the 8 bytes of kLocalWireMagic from the
// client; a manager that sees any other first bytes (gRPC's HTTP/2
// preface) hands the connection to gRPC. To a TLS manager the client
// sends kTlsWireMagic instead, then a TLS handshake, and everything after
// it goes inside TLS (common/tls_channel.h); other first bytes (gRPC's
// own TLS) go to gRPC there too. Then each side sends messages:
// a 5-byte header — the payload's length (little-endian uint32) and its
// kind — and a serialized protobuf payload:
//
//   client → manager                      manager → client
//   kHello  HelloRequest (with a key)     kHello  HelloResponse
//   kOpen   WireMetadata (the call's)     kOpen   WireMetadata (initial)
//   kFrame  RequestFrame                  kFrame  ResponseFrame
//   kClose  (empty: no more requests)     kEnd    WireStatus (then EOF)
//   kPing   (empty: still here)
//
// The manager answers kOpen with kOpen once it admitted the stream, or
// with kEnd (UNAUTHENTICATED, ...). kClose is gRPC's WritesDone; kEnd its
// final status. A connection that ends without kClose is a cancelled call.
// kPing, asked for in the manager's kOpen (common/metadata.h,
// kWirePingEveryMetadata), keeps an idle session's connection alive where
// the manager cannot watch the client's process; it has no answer.
#ifndef MPROC_COMMON_LOCAL_WIRE_H_
#define MPROC_COMMON_LOCAL_WIRE_H_

#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace mproc {

inline constexpr absl::string_view kLocalWireMagic("MPROC-W1", 8);
inline constexpr absl::string_view kTlsWireMagic("MPROC-WT", 8);
inline constexpr size_t kLocalWireHeaderBytes = 5;

enum class WireKind : uint8_t {
  kHello = 1,
  kOpen = 2,
  kFrame = 3,
  kClose = 4,
  kEnd = 5,
  kPing = 6,
};

struct WireHeader {
  uint32_t length = 0;
  WireKind kind = WireKind::kFrame;
};

// The largest payload either side sends or accepts: protobuf's sizes are
// ints.
inline constexpr uint32_t kMaxWirePayload = INT32_MAX - kLocalWireHeaderBytes;

// Appends a message of `kind` carrying `payload` (serialized) to `*out`.
// False if the payload is over kMaxWirePayload (nothing appended).
bool AppendWireMessage(WireKind kind,
                       const google::protobuf::MessageLite& payload,
                       std::string* out);

// The header at the start of `bytes` (at least kLocalWireHeaderBytes).
WireHeader ParseWireHeader(absl::string_view bytes);

// Whether `kind` is one of WireKind's (a byte off the wire may be anything).
bool IsWireKind(uint8_t kind);

// What makes process ids comparable between two processes: the kernel's
// boot id and this process's pid namespace ("<boot id>/<namespace
// inode>"); empty if /proc cannot tell.
std::string WireHostIdentity();

// Bytes read and not yet parsed, grown without zero-filling what read(2)
// will fill.
class WireInBuffer {
 public:
  size_t size() const { return end_ - begin_; }
  const char* data() const { return data_.get() + begin_; }
  absl::string_view view() const { return absl::string_view(data(), size()); }
  void Consume(size_t n);
  // Room for at least `n` more bytes at the returned address; Commit says
  // how many were filled.
  char* Reserve(size_t n);
  void Commit(size_t n) { end_ += n; }
  // Frees the memory of an empty buffer grown over `keep` bytes.
  void MaybeShrink(size_t keep);

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace mproc

#endif  // MPROC_COMMON_LOCAL_WIRE_H_
