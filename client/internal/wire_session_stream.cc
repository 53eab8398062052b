#include "client/internal/wire_session_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "client/internal/auth_handshake.h"
#include "common/local_wire.h"
#include "common/metadata.h"
#include "common/tls_channel.h"

namespace mproc {
namespace internal {
namespace {

constexpr size_t kReadChunk = 64 * 1024;

void SetTimeouts(int fd, absl::Time deadline);

class WireSessionStream final : public SessionStream {
 public:
  WireSessionStream(int fd, std::string address)
      : fd_(fd), address_(std::move(address)) {}
  // From here on the stream goes through `tls` (its handshake done).
  // Before the stream is shared with other threads.
  void UseTls(std::unique_ptr<TlsChannel> tls) {
    absl::MutexLock l(&tls_mu_);
    tls_ = std::move(tls);
    tls_on_ = true;
  }
  ~WireSessionStream() override {
    if (!abandoned_) StopPinging();
    if (fd_ >= 0) ::close(fd_);
  }

  // From now on a thread of the stream's own sends kPing when the stream
  // began no send for `every` (the manager asked: it cannot watch this
  // process, and cuts a silent connection). It never blocks on the
  // socket. Before the stream is shared with other threads.
  void StartPinging(absl::Duration every) {
    pinging_ = true;
    last_sent_ns_.store(SteadyNanos(), std::memory_order_relaxed);
    pinger_ = std::thread([this, every] { PingLoop(every); });
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
    StopPinging();  // nothing may follow the goodbye
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
    // The pinger is the parent's: no thread to join here, and its lock may
    // be held forever. Both are left untouched.
    abandoned_ = true;
    if (pinger_.joinable()) new std::thread(std::move(pinger_));
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

  // Sends `bytes` whole (over TLS sealed first, after what TLS itself had
  // to say); false if the connection broke (the reader finds out why).
  bool Send(absl::string_view bytes) {
    absl::MutexLock sending(&send_mu_);
    // What a ping left half sent goes first.
    if (!unsent_.empty()) {
      if (!SendRaw(unsent_)) return false;
      unsent_.clear();
    }
    if (!tls_on_) return SendRaw(bytes);
    std::string sealed;
    return Seal(bytes, &sealed) && SendRaw(sealed);
  }

  // TLS: what TLS itself has to say, then `plain` encrypted, into `*out`
  // (which must be empty); false if TLS failed (`plain` is then not in).
  bool Seal(absl::string_view plain, std::string* out) {
    absl::MutexLock l(&tls_mu_);
    out->swap(tls_said_);
    if (!tls_->Write(plain)) return false;
    tls_->TakeOutput(out);
    return true;
  }

  // The TLS handshake, on the connected socket (its timeouts bound each
  // step): OK, or UNAVAILABLE naming the manager and the reason.
  absl::Status HandshakeTls(std::unique_ptr<TlsChannel> tls,
                            absl::Time deadline) {
    auto failed = [&](absl::string_view why) {
      return absl::UnavailableError(
          absl::StrCat("the TLS handshake with the manager at ", address_,
                       " failed: ", why, " (", kTlsSetupHint, ")"));
    };
    if (!SendRaw(kTlsWireMagic)) return failed(std::strerror(errno));
    for (;;) {
      const TlsChannel::Result result = tls->Handshake();
      std::string out;
      tls->TakeOutput(&out);
      if (!out.empty() && !SendRaw(out)) return failed(std::strerror(errno));
      if (result == TlsChannel::Result::kDone) break;
      if (result != TlsChannel::Result::kWantInput) {
        return failed(result == TlsChannel::Result::kClosed
                          ? "the manager ended TLS"
                          : tls->error());
      }
      char raw[kTlsReadBytes];
      SetTimeouts(fd_, deadline);
      const ssize_t n = ::recv(fd_, raw, sizeof(raw), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return failed(n == 0 ? "the manager closed the connection"
                      : errno == EAGAIN || errno == EWOULDBLOCK
                          ? "no answer in time"
                          : std::strerror(errno));
      }
      tls->Feed(raw, static_cast<size_t>(n));
    }
    UseTls(std::move(tls));
    return absl::OkStatus();
  }

 private:
  static int64_t SteadyNanos() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  bool SendRaw(absl::string_view bytes) {
    if (pinging_) {
      last_sent_ns_.store(SteadyNanos(), std::memory_order_relaxed);
    }
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

  // Waits (on the steady clock) until the stream began no send for
  // `every`, then pings; a write under way counts as a ping (tried again
  // a quarter of `every` later). Ends when stopped, or once a send fails
  // for good: the connection is broken, and its reader will say so.
  void PingLoop(absl::Duration every) {
    const int64_t every_ns = absl::ToInt64Nanoseconds(every);
    int64_t next_try = last_sent_ns_.load(std::memory_order_relaxed) + every_ns;
    absl::MutexLock l(&ping_mu_);
    for (;;) {
      const absl::Duration wait =
          absl::Nanoseconds(std::max<int64_t>(0, next_try - SteadyNanos()));
      if (ping_mu_.AwaitWithTimeout(absl::Condition(&ping_stop_), wait)) {
        return;
      }
      const int64_t now = SteadyNanos();
      const int64_t last = last_sent_ns_.load(std::memory_order_relaxed);
      if (now - last < every_ns) {
        next_try = last + every_ns;
        continue;
      }
      switch (TryPing()) {
        case Ping::kSent:
          next_try = now + every_ns;
          break;
        case Ping::kBusy:
          next_try = now + every_ns / 4;
          break;
        case Ping::kBroken:
          return;
      }
    }
  }

  enum class Ping { kSent, kBusy, kBroken };
  // One kPing, without waiting: kBusy if a write is under way or the
  // socket is full (what a ping could not send waits in unsent_, ahead of
  // the next write, and no new one is made meanwhile).
  Ping TryPing() {
    if (!send_mu_.TryLock()) return Ping::kBusy;
    if (unsent_.empty()) {
      AppendWireMessage(WireKind::kPing, pb::WireStatus(), &unsent_);
      if (tls_on_) {
        std::string sealed;
        Seal(unsent_, &sealed);  // if TLS failed, the next read says why
        unsent_.swap(sealed);
      }
    }
    const ssize_t n = ::send(fd_, unsent_.data(), unsent_.size(),
                             MSG_NOSIGNAL | MSG_DONTWAIT);
    Ping result = Ping::kSent;
    if (n > 0) {
      last_sent_ns_.store(SteadyNanos(), std::memory_order_relaxed);
      unsent_.erase(0, static_cast<size_t>(n));
      if (!unsent_.empty()) result = Ping::kBusy;
    } else {
      result =
          n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
              ? Ping::kBusy
              : Ping::kBroken;
    }
    send_mu_.Unlock();
    return result;
  }

  void StopPinging() {
    if (!pinger_.joinable()) return;
    {
      absl::MutexLock l(&ping_mu_);
      ping_stop_ = true;
    }
    pinger_.join();
  }

  // Up to `size` bytes from the manager, as recv(2) answers (over TLS the
  // plaintext; -1 with EPROTO if TLS failed, tls_error_ saying why).
  ssize_t Receive(char* data, size_t size) {
    if (!tls_on_) return ::recv(fd_, data, size, 0);
    bool socket_first;
    {
      absl::MutexLock l(&tls_mu_);
      // Nothing held: the socket first (a TLS read would only say so).
      socket_first = !tls_->Buffered();
    }
    for (;;) {
      if (socket_first) {
        char raw[kTlsReadBytes];
        const ssize_t n = ::recv(fd_, raw, sizeof(raw), 0);
        if (n <= 0) return n;
        absl::MutexLock l(&tls_mu_);
        tls_->Feed(raw, static_cast<size_t>(n));
      }
      socket_first = true;
      absl::MutexLock l(&tls_mu_);
      const ssize_t n = tls_->Receive(data, size);
      const int error = errno;
      // What TLS has to say goes out with the next write (the manager asks
      // for nothing that needs an answer sooner).
      tls_->TakeOutput(&tls_said_);
      if (n >= 0) return n;
      if (error == EAGAIN) continue;
      tls_error_ = tls_->error();
      errno = EPROTO;
      return -1;
    }
  }

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
      const ssize_t n = Receive(tail, want);
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
      if (n < 0 && errno == EPROTO && !tls_error_.empty()) {
        return Fail(absl::UnavailableError(absl::StrCat(
            "TLS with the manager at ", address_, " failed: ", tls_error_)));
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
  // Held while a write seals and sends, so records go out in order.
  absl::Mutex send_mu_ ABSL_ACQUIRED_BEFORE(tls_mu_);
  // Bytes a ping began to send: they go on the socket before any other.
  std::string unsent_ ABSL_GUARDED_BY(send_mu_);
  // The pinger (StartPinging): its thread, when a send last began (steady
  // clock), and the stop flag it waits on.
  bool pinging_ = false;
  bool abandoned_ = false;
  std::atomic<int64_t> last_sent_ns_{0};
  absl::Mutex ping_mu_ ABSL_ACQUIRED_BEFORE(send_mu_);
  bool ping_stop_ ABSL_GUARDED_BY(ping_mu_) = false;
  std::thread pinger_;
  // TLS (null: plaintext), shared by the reader and the writer. Set
  // before the stream is shared (tls_on_ says so without the lock); no
  // reader holds a lock while blocked in recv(2), so it never holds up a
  // writer.
  bool tls_on_ = false;
  absl::Mutex tls_mu_;
  std::unique_ptr<TlsChannel> tls_ ABSL_GUARDED_BY(tls_mu_);
  // TLS's own output found by the reader, sent before the next write's.
  std::string tls_said_ ABSL_GUARDED_BY(tls_mu_);
  // The writer's.
  std::string out_;
  // The reader's.
  WireInBuffer in_;
  bool ended_ = false;
  std::string tls_error_;
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

// What marks a status that says to use gRPC instead (UseGrpcInstead).
constexpr char kUseGrpcPayload[] = "type.mproc/use-grpc";

absl::Status UseGrpc(absl::Status status) {
  status.SetPayload(kUseGrpcPayload, absl::Cord("1"));
  return status;
}

// A manager that closes the connection during the handshake without a
// word may not know the wire (an older mproc: gRPC drops the unknown
// preface): reached over gRPC instead, and the message says so.
absl::Status OlderManagerHint(const absl::Status& status,
                              const std::string& address) {
  if (status.code() != absl::StatusCode::kUnavailable ||
      !absl::StrContains(status.message(), "closed the connection")) {
    return status;
  }
  return UseGrpc(absl::UnavailableError(absl::StrCat(
      "the manager at ", address,
      " closed the connection during the local wire's handshake (a manager "
      "older than the wire? MPROC_WIRE=grpc reaches it over gRPC)")));
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

bool UseGrpcInstead(const absl::Status& status) {
  return status.GetPayload(kUseGrpcPayload).has_value();
}

WireTarget ResolveWireTarget(absl::string_view address) {
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
  if (!options.tls.root_pem.empty()) {
    absl::StatusOr<TlsContext> context = NewClientTlsContext(
        options.tls.root_pem, options.tls.cert_pem, options.tls.key_pem);
    if (!context.ok()) return context.status();
    // As gRPC checks it: the name asked for, else the address's host.
    std::string name = options.tls.server_name;
    if (name.empty()) {
      absl::StatusOr<HostPort> where = SplitHostPort(address);
      name = where.ok() && !where->host.empty() ? where->host : "localhost";
    }
    if (absl::Status shook = stream->HandshakeTls(
            TlsChannel::Connect(*context, name), options.deadline);
        !shook.ok()) {
      return shook;
    }
  }
  pb::WireMetadata call;
  for (const auto& [name, value] : options.metadata) {
    (*call.mutable_entries())[name] = value;
  }
  if (target.unix_path.empty()) {
    (*call.mutable_entries())[kWirePidMetadata] = absl::StrCat(::getpid());
    (*call.mutable_entries())[kWireHostMetadata] = WireHostIdentity();
    (*call.mutable_entries())[kWirePingsMetadata] = "1";
  }
  // Over TLS, kTlsWireMagic said it all.
  std::string out(options.tls.root_pem.empty() ? kLocalWireMagic : "");
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
  int64_t ping_ms = 0;
  if (auto it = initial->find(kWirePingEveryMetadata);
      it != initial->end() && absl::SimpleAtoi(it->second, &ping_ms) &&
      ping_ms > 0) {
    stream->StartPinging(absl::Milliseconds(ping_ms));
  } else if (target.unix_path.empty() &&
             initial->count(kWireWatchedMetadata) == 0) {
    return UseGrpc(absl::UnavailableError(absl::StrCat(
        "the manager at ", address,
        " neither watches this process nor asks for pings on the wire (a "
        "manager older than its pings): gRPC's keepalive reaches it")));
  }
  SetTimeouts(*fd, absl::InfiniteFuture());
  return std::unique_ptr<SessionStream>(std::move(stream));
}

}  // namespace internal
}  // namespace mproc
