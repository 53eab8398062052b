#include "client/internal/wire_session_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "client/internal/auth_handshake.h"
#include "common/local_wire.h"
#include "common/metadata.h"

namespace mproc {
namespace internal {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

class WireSessionStream final : public SessionStream {
 public:
  WireSessionStream(int fd, std::string address)
      : fd_(fd), address_(std::move(address)) {}
  ~WireSessionStream() override {
    if (fd_ >= 0) ::close(fd_);
  }

  bool Write(const pb::RequestFrame& frame) override {
    out_.clear();
    return AppendWireMessage(WireKind::kFrame, frame, &out_) && Send(out_);
  }

  bool Read(pb::ResponseFrame* frame) override {
    WireHeader header;
    if (!NextMessage(&header)) return false;
    const char* payload = in_.data() + kLocalWireHeaderBytes;
    const int length = static_cast<int>(header.length);
    switch (header.kind) {
      case WireKind::kFrame:
        if (!frame->ParseFromArray(payload, length)) {
          return Fail(
              absl::InternalError("the manager sent a malformed frame"));
        }
        in_.Consume(kLocalWireHeaderBytes + header.length);
        return true;
      case WireKind::kEnd:
        End(payload, length);
        in_.Consume(kLocalWireHeaderBytes + header.length);
        return false;
      default:
        return Fail(absl::InternalError(
            "the manager sent a message out of turn on the local wire"));
    }
  }

  bool WritesDone() override {
    out_.clear();
    return AppendWireMessage(WireKind::kClose, pb::WireStatus(), &out_) &&
           Send(out_);
  }

  absl::Status Finish() override {
    pb::ResponseFrame ignored;
    while (final_.ok() && !ended_ && Read(&ignored)) {
    }
    if (cancelled_.load(std::memory_order_relaxed) && !ended_) {
      return absl::CancelledError("cancelled");
    }
    return final_;
  }

  void TryCancel() override {
    cancelled_.store(true, std::memory_order_relaxed);
    ::shutdown(fd_, SHUT_RDWR);
  }

  void AbandonInChild() override {
    // Closing the child's copy leaves the parent's connection as it is.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // The handshake's: the next message, which must be of `kind` (or kEnd,
  // whose status is returned), parsed into `*message`.
  absl::Status Expect(WireKind kind, google::protobuf::MessageLite* message) {
    WireHeader header;
    if (!NextMessage(&header)) return final_;
    const char* payload = in_.data() + kLocalWireHeaderBytes;
    const int length = static_cast<int>(header.length);
    if (header.kind == WireKind::kEnd) {
      End(payload, length);
      return final_.ok()
                 ? absl::UnavailableError(absl::StrCat(
                       "manager at ", address_, " closed the session at once"))
                 : final_;
    }
    if (header.kind != kind || !message->ParseFromArray(payload, length)) {
      return absl::InternalError(absl::StrCat(
          "the manager at ", address_, " broke the local wire's handshake"));
    }
    in_.Consume(kLocalWireHeaderBytes + header.length);
    return absl::OkStatus();
  }

  bool Send(absl::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n > 0) {
        bytes.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return false;  // the reader finds out why
    }
    return true;
  }

 private:
  // Reads until a whole message is buffered; false (with final_ set) if
  // the stream ended first.
  bool NextMessage(WireHeader* header) {
    if (!final_.ok() || ended_) return false;
    for (;;) {
      if (in_.size() >= kLocalWireHeaderBytes) {
        *header = ParseWireHeader(in_.view());
        if (!IsWireKind(static_cast<uint8_t>(header->kind))) {
          return Fail(absl::InternalError(
              "the manager sent a message of an unknown kind on the local "
              "wire"));
        }
        if (header->length > kMaxWirePayload) {
          return Fail(absl::InternalError(
              absl::StrCat("the manager sent a message of ", header->length,
                           " bytes, over protobuf's limit")));
        }
        if (in_.size() >= kLocalWireHeaderBytes + header->length) return true;
      }
      const size_t want = std::max(
          kReadChunk, in_.size() >= kLocalWireHeaderBytes
                          ? kLocalWireHeaderBytes + header->length - in_.size()
                          : size_t{0});
      char* tail = in_.Reserve(want);
      const ssize_t n = ::recv(fd_, tail, want, 0);
      if (n > 0) {
        in_.Commit(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (cancelled_.load(std::memory_order_relaxed)) {
        return Fail(absl::CancelledError("cancelled"));
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Fail(absl::UnavailableError(
            absl::StrCat("manager at ", address_, " did not answer in time")));
      }
      return Fail(absl::UnavailableError(
          n == 0 ? std::string("the manager closed the connection")
                 : absl::StrCat("reading from the manager failed: ",
                                std::strerror(errno))));
    }
  }

  void End(const char* payload, int length) {
    pb::WireStatus status;
    ended_ = true;
    if (!status.ParseFromArray(payload, length)) {
      final_ = absl::InternalError("the manager sent a malformed status");
      return;
    }
    final_ = absl::Status(static_cast<absl::StatusCode>(status.code()),
                          status.message());
  }

  bool Fail(absl::Status why) {
    if (final_.ok()) final_ = std::move(why);
    return false;
  }

  int fd_;
  const std::string address_;
  std::atomic<bool> cancelled_{false};
  // The writer's.
  std::string out_;
  // The reader's.
  WireInBuffer in_;
  bool ended_ = false;
  absl::Status final_;  // OK until the stream ends
};

// Bounds each of the socket's blocking calls from now on by what is left
// until `deadline` (none: infinite); set again before each step of the
// handshake, so the whole of it keeps to the deadline.
void SetTimeouts(int fd, absl::Time deadline) {
  timeval tv{};
  if (deadline != absl::InfiniteFuture()) {
    const absl::Duration left =
        std::max(deadline - absl::Now(), absl::Milliseconds(1));
    tv = absl::ToTimeval(left);
  }
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// A manager that closes the connection during the handshake without a
// word may not know the wire (an older mproc: gRPC drops the unknown
// preface); the message says how to reach one.
absl::Status OlderManagerHint(const absl::Status& status,
                              const std::string& address) {
  if (status.code() != absl::StatusCode::kUnavailable ||
      !absl::StrContains(status.message(), "closed the connection")) {
    return status;
  }
  return absl::UnavailableError(absl::StrCat(
      "the manager at ", address,
      " closed the connection during the local wire's handshake (a manager "
      "older than the wire? MPROC_WIRE=grpc reaches it over gRPC)"));
}

// A connected socket to `target` (blocking, close-on-exec, timeouts to
// `deadline`), or UNAVAILABLE naming `address`.
absl::StatusOr<int> ConnectTo(const WireTarget& target,
                              const std::string& address, absl::Time deadline) {
  auto refused = [&](int error) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to the manager at ", address, ": ",
                     std::strerror(error)));
  };
  if (!target.unix_path.empty()) {
    sockaddr_un where{};
    if (target.unix_path.size() >= sizeof(where.sun_path)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the socket path of ", address, " is too long"));
    }
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return refused(errno);
    SetTimeouts(fd, deadline);
    where.sun_family = AF_UNIX;
    std::memcpy(where.sun_path, target.unix_path.data(),
                target.unix_path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&where), sizeof(where)) !=
        0) {
      const int saved = errno;
      ::close(fd);
      return refused(saved);
    }
    return fd;
  }
  int error = ECONNREFUSED;
  for (const SocketAddress& a : target.tcp) {
    const int fd = ::socket(a.storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      error = errno;
      continue;
    }
    SetTimeouts(fd, deadline);
    if (::connect(fd, a.get(), a.length) != 0) {
      error = errno;
      ::close(fd);
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
  }
  return refused(error);
}

}  // namespace

WireTarget LocalWireTarget(absl::string_view address) {
  WireTarget target;
  if (absl::ConsumePrefix(&address, "unix:")) {
    absl::ConsumePrefix(&address, "//");
    target.unix_path = std::string(address);
    return target;
  }
  absl::StatusOr<HostPort> where = SplitHostPort(address);
  if (!where.ok() || where->host.empty()) return target;
  absl::StatusOr<std::vector<SocketAddress>> found =
      ResolveTcp(*where, /*passive=*/false);
  if (!found.ok()) return target;
  for (const SocketAddress& a : *found) {
    if (!IsLoopback(a.get())) return target;
  }
  target.tcp = *std::move(found);
  return target;
}

absl::StatusOr<std::unique_ptr<SessionStream>> OpenWireStream(
    const WireTarget& target, const std::string& address,
    const WireOpenOptions& options,
    std::map<std::string, std::string>* initial) {
  absl::StatusOr<int> fd = ConnectTo(target, address, options.deadline);
  if (!fd.ok()) return fd.status();
  auto stream = std::make_unique<WireSessionStream>(*fd, address);
  pb::WireMetadata call;
  for (const auto& [name, value] : options.metadata) {
    (*call.mutable_entries())[name] = value;
  }
  if (target.unix_path.empty()) {
    (*call.mutable_entries())[kWirePidMetadata] = absl::StrCat(::getpid());
    (*call.mutable_entries())[kWireHostMetadata] = WireHostIdentity();
  }
  std::string out(kLocalWireMagic);
  if (!options.authkey.empty()) {
    const pb::HelloRequest hello = NewHello(options.user);
    AppendWireMessage(WireKind::kHello, hello, &out);
    if (!stream->Send(out)) {
      return absl::UnavailableError(
          absl::StrCat("cannot reach the manager at ", address));
    }
    out.clear();
    pb::HelloResponse answer;
    SetTimeouts(*fd, options.deadline);
    if (absl::Status said = stream->Expect(WireKind::kHello, &answer);
        !said.ok()) {
      return OlderManagerHint(said, address);
    }
    std::vector<std::pair<std::string, std::string>> proof;
    if (absl::Status proved = ProveToManager(
            address, options.authkey, options.user, hello, answer, &proof);
        !proved.ok()) {
      return proved;
    }
    for (const auto& [name, value] : proof) {
      (*call.mutable_entries())[name] = value;
    }
  }
  AppendWireMessage(WireKind::kOpen, call, &out);
  if (!stream->Send(out)) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach the manager at ", address));
  }
  pb::WireMetadata opened;
  SetTimeouts(*fd, options.deadline);
  if (absl::Status admitted = stream->Expect(WireKind::kOpen, &opened);
      !admitted.ok()) {
    return OlderManagerHint(admitted, address);
  }
  initial->clear();
  for (const auto& [name, value] : opened.entries()) (*initial)[name] = value;
  SetTimeouts(*fd, absl::InfiniteFuture());
  return std::unique_ptr<SessionStream>(std::move(stream));
}

}  // namespace internal
}  // namespace mproc
