#include "server/rpc/wire_server.h"

#include <pthread.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/local_wire.h"
#include "common/metadata.h"
#include "common/tls_channel.h"
#include "server/rpc/manager_calls.h"
#include "server/rpc/process_facts.h"
#include "server/rpc/rate_limited_log.h"
#include "server/rpc/server_tls.h"

namespace mproc {
namespace {

// What one read(2) asks for; also how much may wait unread once a whole
// message is in (more is left in the socket: backpressure).
constexpr size_t kReadChunk = 64 * 1024;
// Room for a frame's own framing beyond the manager's message limit.
constexpr int64_t kFrameSlack = 64;
// A Hello or an Open is small.
constexpr int64_t kHandshakeMessageLimit = 64 * 1024;
// How long a connection may take to open its stream, and how often that
// is checked (so one is dropped within a second of its limit).
constexpr absl::Duration kHandshakeLimit = absl::Seconds(10);
constexpr absl::Duration kHandshakeCheckEvery = absl::Seconds(1);

struct Completion {
  CallTag* tag;
  bool ok;
};

void Deliver(const std::vector<Completion>& completions) {
  for (const Completion& c : completions)
    c.tag->call->OnEvent(c.tag->event, c.ok);
}

}  // namespace

class WireConnection;

// DESIGN: the loop owns the connections (by descriptor) and reads their
// sockets (a call's thread also reads a TLS connection on, under its lock,
// when TLS holds what no poll reports). A connection's epoll interest changes
// under its own lock, from whichever thread changed what it waits for.
// Every completion is posted to the loop and delivered by it in the order
// posted, with no lock held. Lock order: a call's mutex, then a
// connection's, then the loop's.
class WireServer::Loop {
 public:
  Loop(ManagerService* service, RpcThreads* threads, HandOff to_grpc,
       ServerTlsFiles* tls, absl::Duration poll_spin, absl::Duration keepalive);
  ~Loop();

  void Adopt(AcceptedConnection connection) ABSL_LOCKS_EXCLUDED(mu_);
  void Shutdown() ABSL_LOCKS_EXCLUDED(mu_);

  // From any thread, any lock held but the loop's.
  void PostAll(const std::vector<Completion>& completions)
      ABSL_LOCKS_EXCLUDED(mu_);
  void PostAt(absl::Time when, CallTag* tag) ABSL_LOCKS_EXCLUDED(mu_);
  // The connection on `fd` now wants `events` instead of `before`
  // (EPOLLIN, EPOLLOUT; none: out of the epoll set).
  void Interest(int fd, uint32_t before, uint32_t events);
  // The connection on `fd` is over: closed once its pending completions
  // went out.
  void Retire(int fd) ABSL_LOCKS_EXCLUDED(mu_);

  // Wire streams whose SessionCall still exists: the loop runs until
  // they are gone (their last answers may come from other threads).
  void TransportCreated() ABSL_LOCKS_EXCLUDED(mu_);
  void TransportGone() ABSL_LOCKS_EXCLUDED(mu_);

  ManagerService* service() const { return service_; }
  int64_t frame_limit() const { return frame_limit_; }
  // This manager's WireHostIdentity().
  const std::string& host_identity() const { return host_identity_; }
  // How often the liveness check runs (half a session lease).
  absl::Duration keepalive() const { return keepalive_; }
  // The TLS files of a TLS manager (null: plaintext).
  ServerTlsFiles* tls() const { return tls_; }
  // A peer's TLS failed (a certificate refused, not TLS at all): logged,
  // at most a line a second. Any thread.
  void TlsRefused(const std::string& peer, const std::string& why) {
    tls_refusals_.Write("tls_refused",
                        absl::StrCat("TLS with ", peer, " failed: ", why));
  }

 private:
  void Run();
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Runs what is due; true if anything was.
  bool RunDue() ABSL_LOCKS_EXCLUDED(mu_);
  void OnConnectionEvent(int fd, uint32_t events);
  // A connection whose first bytes are not the wire's: gRPC's.
  void HandToGrpc(int fd);
  // Cuts off the connections of peers stopped past the keepalive or gone,
  // and those that did not open their stream in time.
  void CheckLiveness();
  absl::Time NextCheck() const;

  ManagerService* const service_;
  RpcThreads* const threads_;
  const HandOff to_grpc_;
  ServerTlsFiles* const tls_;
  RateLimitedLog tls_refusals_;
  const absl::Duration poll_spin_;
  const absl::Duration keepalive_;
  const int64_t frame_limit_;
  const std::string host_identity_ = WireHostIdentity();
  const int epoll_fd_;
  const int wake_fd_;

  absl::Mutex mu_;
  std::vector<Completion> posted_ ABSL_GUARDED_BY(mu_);
  std::multimap<absl::Time, CallTag*> timers_ ABSL_GUARDED_BY(mu_);
  std::vector<AcceptedConnection> adopted_ ABSL_GUARDED_BY(mu_);
  std::vector<int> retired_ ABSL_GUARDED_BY(mu_);
  int64_t transports_ ABSL_GUARDED_BY(mu_) = 0;
  bool sleeping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // The loop thread's own.
  absl::flat_hash_map<int, std::shared_ptr<WireConnection>> connections_;
  bool broke_all_ = false;
  absl::Time next_liveness_check_ = absl::InfiniteFuture();
  absl::Time next_handshake_check_ = absl::InfiniteFuture();
  std::thread thread_;
};

namespace {
// How often a client the manager cannot watch is asked to ping: four pings
// fit in two liveness checks, so one that falls silent is cut within about
// three checks (as gRPC's unanswered keepalive ping would cut it).
absl::Duration PingEvery(absl::Duration keepalive) {
  return std::max(keepalive / 2, absl::Milliseconds(1));
}

// Session-phase limits and messages shared by the connection's methods.
absl::Status TooLarge(int64_t length, int64_t limit) {
  return absl::ResourceExhaustedError(
      absl::StrCat("a frame of ", length,
                   " bytes exceeds the manager's limit "
                   "of ",
                   limit, " bytes"));
}
}  // namespace

// One socket: its handshake, then one Session stream's transport.
class WireConnection {
 public:
  WireConnection(WireServer::Loop* loop, const AcceptedConnection& accepted)
      : loop_(loop),
        fd_(accepted.fd),
        loopback_tcp_(accepted.loopback_tcp),
        peer_(accepted.peer),
        adopted_(absl::Now()),
        pid_(accepted.pid) {}

  const std::string& peer() const { return peer_; }

  // The loop's liveness check, every keepalive: true if the peer process
  // is gone (another process holds the socket: a child it forked), or was
  // stopped at the last check and still is, having used no CPU between;
  // for a peer that cannot be watched but pings, if it fell silent.
  bool Unresponsive() {
    pid_t pid;
    {
      absl::MutexLock l(&mu_);
      pid = pid_;
      // Not visible from here: a client that pings is cut when silent for
      // four of its pings (an older one is left to the kernel's keepalive).
      // While the manager itself is not reading it (backpressure, its
      // goodbye said) silence proves nothing.
      if (pid <= 0) {
        if (!expects_pings_) return false;
        const auto now = std::chrono::steady_clock::now();
        if ((interest_ & EPOLLIN) == 0 || client_closed_) {
          last_heard_ = now;
          return false;
        }
        return now - last_heard_ >
               absl::ToChronoNanoseconds(4 * PingEvery(loop_->keepalive()));
      }
    }
    const PeerState state = ReadPeerState(pid);
    if (!state.exists) return true;
    const bool still =
        state.stopped && seen_stopped_ && state.cpu_ticks == stopped_ticks_;
    seen_stopped_ = state.stopped;
    stopped_ticks_ = state.cpu_ticks;
    return still;
  }

  enum class Sniff { kWire, kOther, kWait, kGone };
  // Looks at the first bytes. Another protocol's (gRPC's HTTP/2 preface,
  // a TLS ClientHello for gRPC's TLS) are only peeked at, and left for it;
  // a wire magic is read, even in pieces, so a peer that sent part of it
  // leaves nothing unread for the level-triggered poll to report again and
  // again. A TLS manager expects kTlsWireMagic and then a TLS handshake; a
  // plaintext client's magic there is answered with why it is refused.
  Sniff SniffMagic() {
    const absl::string_view expected =
        loop_->tls() != nullptr ? kTlsWireMagic : kLocalWireMagic;
    if (magic_seen_ == 0) {
      char first;
      const ssize_t n = recv(fd_, &first, 1, MSG_PEEK);
      if (n == 0) return Sniff::kGone;
      if (n < 0) {
        return errno == EAGAIN || errno == EINTR ? Sniff::kWait : Sniff::kGone;
      }
      if (first != expected[0]) return Sniff::kOther;
    }
    const ssize_t n =
        recv(fd_, magic_ + magic_seen_, expected.size() - magic_seen_, 0);
    if (n == 0) return Sniff::kGone;
    if (n < 0) {
      return errno == EAGAIN || errno == EINTR ? Sniff::kWait : Sniff::kGone;
    }
    magic_seen_ += static_cast<size_t>(n);
    const absl::string_view seen(magic_, magic_seen_);
    if (seen == expected) return Sniff::kWire;
    if (seen == expected.substr(0, magic_seen_)) return Sniff::kWait;
    if (loop_->tls() != nullptr && seen == kLocalWireMagic) {
      RefuseInClear(absl::UnavailableError(
          "this manager refused a plaintext handshake: it speaks TLS only, "
          "so the client needs --tls-ca (the CA that signed its "
          "certificate)"));
    }
    return Sniff::kGone;
  }

  // A TLS manager's wire connection: TLS from here on.
  void StartTls() {
    absl::MutexLock l(&mu_);
    tls_ = TlsChannel::Accept(loop_->tls()->Current());
  }

  // A connection that has not opened its stream this long after it came
  // is dropped (the liveness check asks).
  bool HandshakeOverdue(absl::Time now) {
    absl::MutexLock l(&mu_);
    return phase_ == Phase::kHandshake && now - adopted_ > kHandshakeLimit;
  }

  // The loop's: reads what the socket has and acts on it. Completions to
  // deliver go to `*out`; `*open` is set when the client asked to open the
  // stream (the caller then serves it, outside this connection's lock).
  void OnReadable(bool* open) {
    absl::MutexLock l(&mu_);
    if (broken_) return;
    std::vector<Completion> out;
    ReadSocketLocked();
    if (phase_ == Phase::kHandshake) HandshakeLocked(open);
    if (phase_ == Phase::kSession) TryCompleteReadLocked(&out);
    SettleLocked(&out);
    loop_->PostAll(out);
  }

  // Whether the magic was seen (the loop's own flag: only it sniffs).
  bool sniffed = false;

  void OnWritable() {
    absl::MutexLock l(&mu_);
    std::vector<Completion> out;
    FlushLocked(&out);
    SettleLocked(&out);
    loop_->PostAll(out);
  }

  // Shutdown, a gone peer: as if the client vanished.
  void Break() {
    absl::MutexLock l(&mu_);
    std::vector<Completion> out;
    BreakLocked();
    SettleLocked(&out);
    loop_->PostAll(out);
  }

  // The SessionTransport's operations (wire_server.h's WireTransport).
  void NotifyWhenDone(CallTag* tag) {
    absl::MutexLock l(&mu_);
    done_tag_ = tag;
  }
  void Start(CallTag* tag) {
    std::vector<Completion> now{{tag, true}};
    {
      absl::MutexLock l(&mu_);
      started_ = true;
      MaybeDoneLocked(&now);
    }
    loop_->PostAll(now);
  }
  std::optional<std::string> ClientMetadata(absl::string_view key) const {
    absl::MutexLock l(&mu_);
    auto it = client_metadata_.entries().find(std::string(key));
    if (it == client_metadata_.entries().end()) return std::nullopt;
    return it->second;
  }
  bool IsCancelled() const {
    absl::MutexLock l(&mu_);
    return broken_ && !client_closed_;
  }
  // The verified client certificate's common name (mutual TLS; else "").
  std::string CertificateName() const {
    absl::MutexLock l(&mu_);
    return tls_ != nullptr ? tls_->PeerCommonName() : "";
  }
  void AddInitialMetadata(const std::string& key, const std::string& value) {
    absl::MutexLock l(&mu_);
    (*initial_metadata_.mutable_entries())[key] = value;
  }
  void SendInitialMetadata(CallTag* tag) {
    absl::MutexLock l(&mu_);
    AppendWireMessage(WireKind::kOpen, initial_metadata_, OutLocked());
    StartWriteLocked(tag);
  }
  void Read(pb::RequestFrame* frame, CallTag* tag) {
    std::vector<Completion> now;
    {
      absl::MutexLock l(&mu_);
      read_frame_ = frame;
      read_tag_ = tag;
      TryCompleteReadLocked(&now);
      SettleLocked(&now);
    }
    loop_->PostAll(now);
  }
  void Write(const pb::ResponseFrame& frame, CallTag* tag) {
    absl::MutexLock l(&mu_);
    if (!AppendWireMessage(WireKind::kFrame, frame, OutLocked())) {
      BreakLocked();
    }
    StartWriteLocked(tag);
  }
  void ResumeAt(absl::Time when, CallTag* tag);
  void Finish(const absl::Status& status, CallTag* tag) {
    absl::MutexLock l(&mu_);
    AppendWireMessage(WireKind::kEnd, EndOf(status), OutLocked());
    finishing_ = true;
    StartWriteLocked(tag);
  }

 private:
  enum class Phase { kHandshake, kSession };

  void ReadSocketLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (;;) {
      char* tail = in_.Reserve(kReadChunk);
      const ssize_t n = ReceiveLocked(tail, kReadChunk);
      if (n > 0) {
        if (expects_pings_) last_heard_ = std::chrono::steady_clock::now();
        in_.Commit(static_cast<size_t>(n));
        // A bad header is refused as soon as it is in, not when a read
        // reaches it: nothing is buffered on a length no one checked.
        if (!HeadValidLocked()) return;
        // Drained: the socket gave less than asked (over TLS, and TLS
        // holds nothing more).
        if (static_cast<size_t>(n) < kReadChunk &&
            (tls_ == nullptr || (raw_drained_ && !tls_->Buffered()))) {
          return;
        }
        if (!WantsBytesLocked()) return;
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
      // End of stream or a broken socket. What was read still counts
      // (a kClose among it is a goodbye).
      eof_ = true;
      return;
    }
  }

  // Whether the first buffered header (if one is in) is of a known kind
  // and within the limit for this phase; if not, the connection ends with
  // the reason.
  bool HeadValidLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (broken_ || in_.size() < kLocalWireHeaderBytes) return !broken_;
    const WireHeader header = ParseWireHeader(in_.view());
    if (!IsWireKind(static_cast<uint8_t>(header.kind))) {
      ProtocolErrorLocked(absl::InvalidArgumentError(
          "the local wire: a message of an unknown kind"));
      return false;
    }
    const int64_t limit =
        phase_ == Phase::kHandshake
            ? kHandshakeMessageLimit
            : std::min<int64_t>(loop_->frame_limit() + kFrameSlack,
                                int64_t{kMaxWirePayload});
    if (header.length > limit) {
      ProtocolErrorLocked(TooLarge(header.length, phase_ == Phase::kHandshake
                                                      ? kHandshakeMessageLimit
                                                      : loop_->frame_limit()));
      return false;
    }
    return true;
  }

  // The next whole message buffered, if any: its header and payload.
  bool NextMessageLocked(WireHeader* header, absl::string_view* payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!HeadValidLocked() || in_.size() < kLocalWireHeaderBytes) return false;
    *header = ParseWireHeader(in_.view());
    if (in_.size() < kLocalWireHeaderBytes + header->length) return false;
    *payload =
        absl::string_view(in_.data() + kLocalWireHeaderBytes, header->length);
    return true;
  }

  // Whether reading the socket on would help: a message is incomplete, or
  // little is buffered.
  bool WantsBytesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (client_closed_) return false;  // nothing may follow its goodbye
    if (!HeadValidLocked()) return false;
    if (in_.size() < kReadChunk) return true;
    const WireHeader header =
        ParseWireHeader(absl::string_view(in_.data(), in_.size()));
    return in_.size() < kLocalWireHeaderBytes + header.length;
  }

  void HandshakeLocked(bool* open) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    WireHeader header;
    absl::string_view payload;
    while (phase_ == Phase::kHandshake && !broken_ &&
           NextMessageLocked(&header, &payload)) {
      if (header.kind == WireKind::kHello && !hello_done_) {
        pb::HelloRequest hello;
        if (!hello.ParseFromArray(payload.data(),
                                  static_cast<int>(payload.size()))) {
          ProtocolErrorLocked(
              absl::InvalidArgumentError("the local wire: a malformed hello"));
          return;
        }
        in_.Consume(kLocalWireHeaderBytes + header.length);
        hello_done_ = true;
        pb::HelloResponse answer;
        absl::Status said = loop_->service()->WireHello(hello, peer_, &answer);
        if (!said.ok()) {
          ProtocolErrorLocked(said);
          return;
        }
        AppendWireMessage(WireKind::kHello, answer, OutLocked());
        std::vector<Completion> none;
        FlushLocked(&none);
      } else if (header.kind == WireKind::kOpen) {
        if (!client_metadata_.ParseFromArray(
                payload.data(), static_cast<int>(payload.size()))) {
          ProtocolErrorLocked(absl::InvalidArgumentError(
              "the local wire: malformed call metadata"));
          return;
        }
        in_.Consume(kLocalWireHeaderBytes + header.length);
        LearnPeerProcessLocked();
        phase_ = Phase::kSession;
        *open = true;
      } else {
        ProtocolErrorLocked(absl::InvalidArgumentError(
            "the local wire: a message out of turn in the handshake"));
        return;
      }
    }
    if (eof_ && phase_ == Phase::kHandshake) BreakLocked();
  }

  // At Open: the peer's process if it can be watched from here
  // (PlacePeerLocked); if not, a client that can ping is asked to (in the
  // Open answer) and is judged by its silence from then on; one that is
  // watched is told so, so that it need not fall back to gRPC.
  void LearnPeerProcessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    PlacePeerLocked();
    if (pid_ > 0) {
      (*initial_metadata_.mutable_entries())[kWireWatchedMetadata] = "1";
      return;
    }
    // Not placed: a client that can ping is asked to.
    auto pings = client_metadata_.entries().find(kWirePingsMetadata);
    if (pings == client_metadata_.entries().end() || pings->second != "1") {
      return;
    }
    expects_pings_ = true;
    last_heard_ = std::chrono::steady_clock::now();
    (*initial_metadata_.mutable_entries())[kWirePingEveryMetadata] =
        absl::StrCat(absl::ToInt64Milliseconds(PingEvery(loop_->keepalive())));
  }

  // A loopback TCP peer's process, from what its Open said, if its ids
  // mean the same here (same boot, same pid namespace).
  void PlacePeerLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!loopback_tcp_ || pid_ > 0) return;
    const auto& entries = client_metadata_.entries();
    auto host = entries.find(kWireHostMetadata);
    auto pid = entries.find(kWirePidMetadata);
    int value = 0;
    if (host == entries.end() || pid == entries.end() || host->second.empty() ||
        host->second != loop_->host_identity() ||
        !absl::SimpleAtoi(pid->second, &value) || value <= 0) {
      return;
    }
    pid_ = value;
  }

  void TryCompleteReadLocked(std::vector<Completion>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (read_tag_ == nullptr || broken_) return;
    // What TLS holds decrypted or undecrypted is no socket event: it is
    // read on when the buffer has room again.
    if (tls_ != nullptr && tls_->Buffered() && WantsBytesLocked()) {
      ReadSocketLocked();
    }
    if (client_closed_) {
      out->push_back({std::exchange(read_tag_, nullptr), false});
      return;
    }
    WireHeader header;
    absl::string_view payload;
    for (;;) {
      if (!NextMessageLocked(&header, &payload)) {
        if (eof_) BreakLocked();
        return;
      }
      if (header.kind != WireKind::kPing) break;
      in_.Consume(kLocalWireHeaderBytes + header.length);
    }
    if (header.kind == WireKind::kClose) {
      in_.Consume(kLocalWireHeaderBytes + header.length);
      client_closed_ = true;
      out->push_back({std::exchange(read_tag_, nullptr), false});
      return;
    }
    if (header.kind != WireKind::kFrame) {
      ProtocolErrorLocked(absl::InvalidArgumentError(
          "the local wire: a message out of turn in a session"));
      return;
    }
    if (!read_frame_->ParseFromArray(payload.data(),
                                     static_cast<int>(payload.size()))) {
      ProtocolErrorLocked(
          absl::InvalidArgumentError("the local wire: a malformed frame"));
      return;
    }
    in_.Consume(kLocalWireHeaderBytes + header.length);
    in_.MaybeShrink(4 * kReadChunk);
    out->push_back({std::exchange(read_tag_, nullptr), true});
  }

  void StartWriteLocked(CallTag* tag) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    write_tag_ = tag;
    std::vector<Completion> now;
    FlushLocked(&now);
    SettleLocked(&now);
    loop_->PostAll(now);
  }

  // Sends what the socket takes of out_ (EPOLLOUT resumes the rest).
  void SendPendingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    while (!broken_ && out_sent_ < out_.size()) {
      const ssize_t n = send(fd_, out_.data() + out_sent_,
                             out_.size() - out_sent_, MSG_NOSIGNAL);
      if (n > 0) {
        out_sent_ += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      BreakLocked();
    }
  }

  // Writes what it can of out_; completes the write once all is out.
  void FlushLocked(std::vector<Completion>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    SealLocked();
    SendPendingLocked();
    if (!broken_ && out_sent_ < out_.size()) return;
    if (broken_) {
      FailPendingLocked(out);
      return;
    }
    out_.clear();
    out_sent_ = 0;
    if (out_.capacity() > 4 * kReadChunk) out_.shrink_to_fit();
    if (write_tag_ != nullptr) {
      out->push_back({std::exchange(write_tag_, nullptr), true});
      // The status is out: nothing more will be read or written.
      if (finishing_) {
        BreakLocked();
        FailPendingLocked(out);
      }
    }
  }

  void ProtocolErrorLocked(const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // The client learns why, if it still reads; then the stream ends.
    out_.erase(0, out_sent_);
    out_sent_ = 0;
    AppendWireMessage(WireKind::kEnd, EndOf(why), OutLocked());
    SealLocked();
    (void)!send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    BreakLocked();
  }

  // The sniff's: an End in clear, before anything else was said.
  void RefuseInClear(const absl::Status& why) {
    std::string end;
    AppendWireMessage(WireKind::kEnd, EndOf(why), &end);
    (void)!send(fd_, end.data(), end.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  }

  static pb::WireStatus EndOf(const absl::Status& why) {
    pb::WireStatus end;
    end.set_code(static_cast<int>(why.code()));
    end.set_message(std::string(why.message()));
    return end;
  }

  // Where a message to the client goes: out_, or over TLS the plaintext
  // that SealLocked encrypts into out_.
  std::string* OutLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return tls_ != nullptr ? &plain_out_ : &out_;
  }

  // TLS: encrypts what waits into out_.
  void SealLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (tls_ == nullptr || plain_out_.empty()) return;
    if (!tls_->Write(plain_out_)) {
      plain_out_.clear();
      BreakLocked();
      return;
    }
    plain_out_.clear();
    if (plain_out_.capacity() > 4 * kReadChunk) plain_out_.shrink_to_fit();
    tls_->TakeOutput(&out_);
  }

  // Up to `size` bytes from the peer into `data`, as recv(2) answers
  // (over TLS the plaintext, the handshake and TLS's own messages handled
  // on the way: -1 with EAGAIN while it waits for the peer, EPROTO if TLS
  // failed; 0 at the end of the stream).
  ssize_t ReceiveLocked(char* data, size_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (tls_ == nullptr) return recv(fd_, data, size, 0);
    // Nothing held: the socket first (a TLS read would only say so).
    bool held = tls_->Buffered();
    for (;;) {
      if (!held) {
        char raw[kTlsReadBytes];
        const ssize_t n = recv(fd_, raw, sizeof(raw), 0);
        if (n <= 0) return n;
        raw_drained_ = static_cast<size_t>(n) < sizeof(raw);
        tls_->Feed(raw, static_cast<size_t>(n));
      }
      held = false;
      const ssize_t n = tls_->Receive(data, size);
      const int error = errno;
      if (tls_->HasOutput()) {
        tls_->TakeOutput(&out_);
        SendPendingLocked();
      }
      if (n >= 0) return n;
      if (error == EAGAIN) continue;
      loop_->TlsRefused(peer_, tls_->error());
      errno = EPROTO;
      return -1;
    }
  }

  void BreakLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (broken_) return;
    broken_ = true;
    // The socket stays open (and its number ours) until the loop retires
    // the connection; from here nothing is read from or written to it.
    // What was sent stays readable for the client.
    ::shutdown(fd_, SHUT_RDWR);
    UpdateInterestLocked();
  }

  void FailPendingLocked(std::vector<Completion>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (read_tag_ != nullptr) {
      out->push_back({std::exchange(read_tag_, nullptr), false});
    }
    if (write_tag_ != nullptr) {
      out->push_back({std::exchange(write_tag_, nullptr), false});
    }
  }

  // After any change: the epoll interest follows (which may find a bad
  // header and end the connection), a broken connection's pending
  // operations fail, and the done event follows them.
  void SettleLocked(std::vector<Completion>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    UpdateInterestLocked();
    if (broken_) FailPendingLocked(out);
    MaybeDoneLocked(out);
  }

  // The done event goes last, once the stream is over and nothing is
  // pending (and, for a session, once its call started); then the loop
  // may close the socket.
  void MaybeDoneLocked(std::vector<Completion>* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!broken_ || read_tag_ != nullptr || write_tag_ != nullptr) return;
    if (phase_ == Phase::kSession) {
      if (!started_ || done_tag_ == nullptr) return;
      out->push_back({std::exchange(done_tag_, nullptr), true});
    }
    if (!retired_) {
      retired_ = true;
      loop_->Retire(fd_);
    }
  }

  // Polls for what the connection can use: more bytes while a message is
  // incomplete or little is buffered, and room to write while output
  // waits. None (out of the epoll set) once the client closed its end, or
  // the connection broke: a closed socket would report itself forever.
  void UpdateInterestLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    // Asked first: a bad header found here breaks the connection.
    const bool wants = !broken_ && !eof_ && WantsBytesLocked();
    uint32_t events = 0;
    if (!broken_) {
      if (wants) events |= EPOLLIN;
      if (out_sent_ < out_.size()) events |= EPOLLOUT;
    }
    if (events != interest_) {
      loop_->Interest(fd_, interest_, events);
      interest_ = events;
    }
  }

  WireServer::Loop* const loop_;
  const int fd_;
  const bool loopback_tcp_;
  const std::string peer_;
  const absl::Time adopted_;
  // The loop's own: the sniff's progress and the liveness check's samples.
  char magic_[kLocalWireMagic.size()] = {};
  size_t magic_seen_ = 0;
  bool seen_stopped_ = false;
  uint64_t stopped_ticks_ = 0;

  mutable absl::Mutex mu_;
  // The peer process, once known (0: not visible from here).
  pid_t pid_ ABSL_GUARDED_BY(mu_);
  Phase phase_ ABSL_GUARDED_BY(mu_) = Phase::kHandshake;
  bool hello_done_ ABSL_GUARDED_BY(mu_) = false;
  bool eof_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool client_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool retired_ ABSL_GUARDED_BY(mu_) = false;
  uint32_t interest_ ABSL_GUARDED_BY(mu_) = EPOLLIN;
  WireInBuffer in_ ABSL_GUARDED_BY(mu_);
  // A TLS manager's connections: TLS, and the plaintext it is to seal.
  std::unique_ptr<TlsChannel> tls_ ABSL_GUARDED_BY(mu_);
  std::string plain_out_ ABSL_GUARDED_BY(mu_);
  // Whether the last read of ciphertext left the socket empty.
  bool raw_drained_ ABSL_GUARDED_BY(mu_) = false;
  // A peer the manager cannot watch, which pings: when it was last heard.
  bool expects_pings_ ABSL_GUARDED_BY(mu_) = false;
  std::chrono::steady_clock::time_point last_heard_ ABSL_GUARDED_BY(mu_);
  std::string out_ ABSL_GUARDED_BY(mu_);
  size_t out_sent_ ABSL_GUARDED_BY(mu_) = 0;
  pb::WireMetadata client_metadata_ ABSL_GUARDED_BY(mu_);
  pb::WireMetadata initial_metadata_ ABSL_GUARDED_BY(mu_);
  pb::RequestFrame* read_frame_ ABSL_GUARDED_BY(mu_) = nullptr;
  CallTag* read_tag_ ABSL_GUARDED_BY(mu_) = nullptr;
  CallTag* write_tag_ ABSL_GUARDED_BY(mu_) = nullptr;
  CallTag* done_tag_ ABSL_GUARDED_BY(mu_) = nullptr;
};

namespace {

// A wire connection as a Session stream's transport.
class WireTransport final : public SessionTransport {
 public:
  WireTransport(WireServer::Loop* loop,
                std::shared_ptr<WireConnection> connection)
      : loop_(loop), connection_(std::move(connection)) {
    loop_->TransportCreated();
  }
  ~WireTransport() override { loop_->TransportGone(); }

  void NotifyWhenDone(CallTag* done) override {
    connection_->NotifyWhenDone(done);
  }
  void Start(CallTag* new_call) override { connection_->Start(new_call); }
  std::string Peer() const override { return connection_->peer(); }
  std::optional<std::string> ClientMetadata(
      absl::string_view key) const override {
    return connection_->ClientMetadata(key);
  }
  std::string CertificateName() const override {
    return connection_->CertificateName();
  }
  bool IsCancelled() const override { return connection_->IsCancelled(); }
  void AddInitialMetadata(const std::string& key,
                          const std::string& value) override {
    connection_->AddInitialMetadata(key, value);
  }
  void SendInitialMetadata(CallTag* tag) override {
    connection_->SendInitialMetadata(tag);
  }
  void Read(pb::RequestFrame* frame, CallTag* tag) override {
    connection_->Read(frame, tag);
  }
  void Write(const pb::ResponseFrame& frame, CallTag* tag) override {
    connection_->Write(frame, tag);
  }
  void Finish(const absl::Status& status, CallTag* tag) override {
    connection_->Finish(status, tag);
  }
  void ResumeAt(absl::Time when, CallTag* tag) override {
    connection_->ResumeAt(when, tag);
  }

 private:
  WireServer::Loop* const loop_;
  const std::shared_ptr<WireConnection> connection_;
};

}  // namespace

void WireConnection::ResumeAt(absl::Time when, CallTag* tag) {
  loop_->PostAt(when, tag);
}

WireServer::Loop::Loop(ManagerService* service, RpcThreads* threads,
                       HandOff to_grpc, ServerTlsFiles* tls,
                       absl::Duration poll_spin, absl::Duration keepalive)
    : service_(service),
      threads_(threads),
      to_grpc_(std::move(to_grpc)),
      tls_(tls),
      poll_spin_(poll_spin),
      keepalive_(keepalive),
      frame_limit_(service->max_message_bytes()),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.fd = wake_fd_;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), WireServer::kThreadName);
    Run();
  });
}

WireServer::Loop::~Loop() {
  Shutdown();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void WireServer::Loop::Adopt(AcceptedConnection connection) {
  absl::MutexLock l(&mu_);
  if (stopping_) {
    ::close(connection.fd);
    return;
  }
  adopted_.push_back(std::move(connection));
  Wake();
}

void WireServer::Loop::Shutdown() {
  {
    absl::MutexLock l(&mu_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    Wake();
  }
  thread_.join();
}

void WireServer::Loop::PostAll(const std::vector<Completion>& completions) {
  if (completions.empty()) return;
  absl::MutexLock l(&mu_);
  posted_.insert(posted_.end(), completions.begin(), completions.end());
  if (sleeping_) Wake();
}

void WireServer::Loop::PostAt(absl::Time when, CallTag* tag) {
  absl::MutexLock l(&mu_);
  timers_.emplace(when, tag);
  if (sleeping_) Wake();
}

void WireServer::Loop::Retire(int fd) {
  absl::MutexLock l(&mu_);
  retired_.push_back(fd);
  if (sleeping_) Wake();
}

void WireServer::Loop::TransportCreated() {
  absl::MutexLock l(&mu_);
  ++transports_;
}

void WireServer::Loop::TransportGone() {
  absl::MutexLock l(&mu_);
  --transports_;
  if (sleeping_) Wake();
}

void WireServer::Loop::Interest(int fd, uint32_t before, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  const int op = before == 0   ? EPOLL_CTL_ADD
                 : events == 0 ? EPOLL_CTL_DEL
                               : EPOLL_CTL_MOD;
  epoll_ctl(epoll_fd_, op, fd, &ev);
}

void WireServer::Loop::Wake() {
  const uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof(one));
  sleeping_ = false;
}

bool WireServer::Loop::RunDue() {
  std::vector<AcceptedConnection> adopted;
  std::vector<Completion> due;
  std::vector<int> retired;
  bool stopping;
  {
    absl::MutexLock l(&mu_);
    adopted.swap(adopted_);
    due.swap(posted_);
    retired.swap(retired_);
    const absl::Time now = timers_.empty() ? absl::InfinitePast() : absl::Now();
    while (!timers_.empty() && (stopping_ || timers_.begin()->first <= now)) {
      due.push_back({timers_.begin()->second, true});
      timers_.erase(timers_.begin());
    }
    stopping = stopping_;
  }
  for (const AcceptedConnection& accepted : adopted) {
    const int fd = accepted.fd;
    auto connection = std::make_shared<WireConnection>(this, accepted);
    connections_.emplace(fd, connection);
    Interest(fd, 0, EPOLLIN);
    if (stopping) connection->Break();
  }
  Deliver(due);
  if (stopping && !broke_all_) {
    broke_all_ = true;
    for (auto& [fd, connection] : connections_) connection->Break();
  }
  for (int fd : retired) {
    connections_.erase(fd);
    ::close(fd);
  }
  return !adopted.empty() || !due.empty() || !retired.empty();
}

void WireServer::Loop::HandToGrpc(int fd) {
  auto it = connections_.find(fd);
  epoll_event none{};
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, &none);
  connections_.erase(it);
  // gRPC owns the descriptor from here on.
  to_grpc_(fd);
}

void WireServer::Loop::CheckLiveness() {
  const absl::Time now = absl::Now();
  if (connections_.empty()) {
    next_liveness_check_ = next_handshake_check_ = absl::InfiniteFuture();
    return;
  }
  if (next_liveness_check_ == absl::InfiniteFuture()) {
    next_liveness_check_ = now + keepalive_;
    next_handshake_check_ = now + kHandshakeCheckEvery;
    return;
  }
  // Handshakes on their own clock: the keepalive may be minutes.
  if (now >= next_handshake_check_) {
    next_handshake_check_ = now + kHandshakeCheckEvery;
    for (auto& [fd, connection] : connections_) {
      if (connection->HandshakeOverdue(now)) connection->Break();
    }
  }
  if (now >= next_liveness_check_) {
    next_liveness_check_ = now + keepalive_;
    for (auto& [fd, connection] : connections_) {
      if (connection->Unresponsive()) connection->Break();
    }
  }
}

absl::Time WireServer::Loop::NextCheck() const {
  return std::min(next_liveness_check_, next_handshake_check_);
}

void WireServer::Loop::OnConnectionEvent(int fd, uint32_t events) {
  auto it = connections_.find(fd);
  if (it == connections_.end()) return;
  std::shared_ptr<WireConnection> connection = it->second;
  if (!connection->sniffed) {
    switch (connection->SniffMagic()) {
      case WireConnection::Sniff::kWait:
        return;
      case WireConnection::Sniff::kOther:
        HandToGrpc(fd);
        return;
      case WireConnection::Sniff::kGone:
        connection->Break();
        return;
      case WireConnection::Sniff::kWire:
        connection->sniffed = true;
        if (tls_ != nullptr) connection->StartTls();
        break;
    }
  }
  if ((events & EPOLLOUT) != 0) connection->OnWritable();
  if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0) {
    bool open = false;
    connection->OnReadable(&open);
    if (open) {
      ServeSessionCall(service_, threads_,
                       std::make_unique<WireTransport>(this, connection));
    }
  }
}

void WireServer::Loop::Run() {
  constexpr int kMaxEvents = 64;
  epoll_event events[kMaxEvents];
  absl::Time last_event = absl::InfinitePast();
  for (;;) {
    if (RunDue()) last_event = absl::Now();
    CheckLiveness();
    int timeout_ms = 0;
    {
      absl::MutexLock l(&mu_);
      if (stopping_ && broke_all_ && connections_.empty() && transports_ == 0 &&
          posted_.empty() && retired_.empty() && adopted_.empty()) {
        return;
      }
      const bool busy = !posted_.empty() || !retired_.empty() ||
                        !adopted_.empty() ||
                        absl::Now() - last_event < poll_spin_;
      if (!busy) {
        timeout_ms = -1;
        absl::Time wake_at = NextCheck();
        if (!timers_.empty())
          wake_at = std::min(wake_at, timers_.begin()->first);
        if (wake_at != absl::InfiniteFuture()) {
          const absl::Duration left = wake_at - absl::Now();
          timeout_ms = static_cast<int>(
              std::max<int64_t>(0, absl::ToInt64Milliseconds(absl::Ceil(
                                       left, absl::Milliseconds(1)))));
        }
        sleeping_ = timeout_ms != 0;
      }
    }
    const int n = epoll_wait(epoll_fd_, events, kMaxEvents, timeout_ms);
    {
      absl::MutexLock l(&mu_);
      sleeping_ = false;
    }
    if (n <= 0) {
      if (timeout_ms == 0) sched_yield();  // spinning: others go first
      continue;
    }
    last_event = absl::Now();
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == wake_fd_) {
        uint64_t count;
        (void)!::read(wake_fd_, &count, sizeof(count));
        continue;
      }
      OnConnectionEvent(fd, events[i].events);
    }
  }
}

WireServer::WireServer(ManagerService* service, RpcThreads* threads,
                       HandOff to_grpc, ServerTlsFiles* tls,
                       absl::Duration poll_spin, absl::Duration keepalive)
    : loop_(std::make_unique<Loop>(service, threads, std::move(to_grpc), tls,
                                   poll_spin, keepalive)) {}

WireServer::~WireServer() { Shutdown(); }

void WireServer::Adopt(AcceptedConnection connection) {
  loop_->Adopt(std::move(connection));
}

void WireServer::Shutdown() { loop_->Shutdown(); }

}  // namespace mproc
