// DESIGN: one gRPC Session stream per Connection, shared by all threads.
//
// Writing is combined: a caller appends its requests to the stream's
// outbox; if no one is writing, it becomes the writer and flushes the
// outbox (including requests other threads added meanwhile) until it is
// empty. Reading is leader/follower: a caller waiting for answers reads the
// stream itself if no one else is reading, hands each answer to its waiter,
// and stops reading once its own answers are in, letting the next waiter
// take over. A lone caller thus does write → read on its own thread with no
// hand-off, which keeps the round trip at the cost of one gRPC ping-pong.
//
// A broken stream (manager gone, restarted, or message too large) fails the
// waiters of that stream; the next call opens a new one.
#include "client/internal/connection.h"

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdlib>
#include <map>
#include <random>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "client/internal/auth_handshake.h"
#include "client/internal/fork_guard.h"
#include "client/internal/refused_probe.h"
#include "client/internal/reply_watchdog.h"
#include "client/internal/session_stream.h"
#include "client/internal/wire_session_stream.h"
#include "common/grpc_status.h"
#include "common/metadata.h"
#include "common/op_table.h"
#include "common/wire.h"
#include "proto/mproc.grpc.pb.h"

namespace mproc {
namespace internal {
namespace {

// Room for a frame's own framing around its requests.
constexpr int64_t kFrameOverhead = 16;
constexpr absl::Duration kFirstBackoff = absl::Milliseconds(50);
constexpr absl::Duration kMaxBackoff = absl::Seconds(2);
// How long a fork() waits for other threads' calls to finish.
constexpr absl::Duration kForkQuiesceLimit = absl::Seconds(5);

struct Waiter {
  pb::Response* out = nullptr;
  bool done = false;
  bool broken = false;  // answered with the broken stream's status
};

// Whether streams go over the wire (wire_session_stream.h), plaintext or
// TLS, rather than gRPC: unless MPROC_WIRE=grpc in the environment (to
// compare the two, or to reach a manager of an older mproc).
bool WireWanted() {
  const char* wire = std::getenv("MPROC_WIRE");
  return wire == nullptr || absl::string_view(wire) != "grpc";
}

// How long `request` may wait in the manager by its own arguments: its
// TIMEOUT (absent or null: without limit, unless its BLOCK, the argument
// before, is false); zero for ops that never wait.
absl::Duration RequestWait(const pb::Request& request) {
  const OpInfo* op = FindOp(request.op());
  const int timeout = op == nullptr ? -1 : TimeoutArgument(*op);
  if (timeout < 0) return absl::ZeroDuration();
  if (timeout < request.args_size()) {
    const pb::Value& v = request.args(timeout);
    if (v.kind_case() == pb::Value::kDoubleValue) {
      return absl::Seconds(std::max(0.0, v.double_value()));
    }
    if (v.kind_case() == pb::Value::kIntValue) {
      return absl::Seconds(std::max<int64_t>(0, v.int_value()));
    }
  }
  if (timeout >= 1 && timeout - 1 < request.args_size()) {
    const pb::Value& block = request.args(timeout - 1);
    if (block.kind_case() == pb::Value::kBoolValue && !block.bool_value()) {
      return absl::ZeroDuration();
    }
  }
  return absl::InfiniteDuration();
}

// Cancels `stream` unless disarmed within `timeout`: bounds a blocking
// wait that has no deadline of its own (a gRPC stream's first metadata,
// the goodbye to a manager that does not answer).
class CancelAfter {
 public:
  CancelAfter(SessionStream* stream, absl::Duration timeout)
      : thread_([this, stream, timeout] {
          if (!disarmed_.WaitForNotificationWithTimeout(timeout)) {
            stream->TryCancel();
          }
        }) {}
  ~CancelAfter() {
    disarmed_.Notify();
    thread_.join();
  }
  CancelAfter(const CancelAfter&) = delete;
  CancelAfter& operator=(const CancelAfter&) = delete;

 private:
  absl::Notification disarmed_;
  std::thread thread_;
};

// One Session call. Members below `rw` are guarded by the owning
// connection's mutex.
struct Stream {
  std::unique_ptr<SessionStream> rw;

  absl::flat_hash_map<uint64_t, Waiter*> waiters;
  pb::RequestFrame outbox;
  int64_t outbox_bytes = 0;  // upper bound of outbox's encoded size
  bool writing = false;
  bool reading = false;
  bool broken = false;
  // ResponseFrames read so far: every frame written tells the manager, so
  // it can forget how to take back what those frames handed over.
  uint64_t frames_received = 0;
  absl::Status broken_status;
  // Set (by the reply watchdog) just before it cancels the stream.
  std::atomic<bool> overdue{false};
};

class SessionConnection : public Connection, public ForkAware {
 public:
  SessionConnection(std::string address, ConnectionOptions options)
      : address_(std::move(address)),
        options_(std::move(options)),
        on_grpc_(!WireWanted()) {
    InstallForkGuard();
    {
      absl::MutexLock l(&mu_);
      fork_generation_ = ForkGeneration();
      OpenChannel();
    }
    RegisterForkAware(this);  // outside mu_: fork takes the registry first
  }

  // Just before fork(): waits (up to kForkQuiesceLimit) for calls that
  // other threads have in flight, then closes the stream and channel so the
  // child inherits no live gRPC transport (gRPC's own fork handlers cannot
  // make an inherited one safe). mu_ stays held until after the fork, so no
  // thread starts a call meanwhile; both processes reconnect on their next
  // call. If calls are still in flight at the limit, the connection is
  // left as it is and the child must not use it.
  void PrepareForFork() override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.Lock();
    const bool idle = mu_.AwaitWithTimeout(
        absl::Condition(
            +[](SessionConnection* c)
                 ABSL_NO_THREAD_SAFETY_ANALYSIS { return !c->BusyLocked(); },
            this),
        kForkQuiesceLimit);
    if (!idle) return;
    if (current_ != nullptr && !current_->broken) {
      current_->rw->TryCancel();
      current_->rw->Finish().IgnoreError();
      current_->broken = true;
    }
    current_ = nullptr;
    stub_.reset();
    channel_.reset();  // reopened on the next call
  }

  void AfterForkInParent() override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.Unlock();
  }

  void AfterForkInChild() override ABSL_NO_THREAD_SAFETY_ANALYSIS {
    // A stream left open (calls were in flight at the quiesce limit) is
    // the parent's: the child lets go of its copy of a local wire socket
    // at once, or the manager would not see the parent end while this
    // child lives. (gRPC's objects are only leaked, on first use.)
    if (current_ != nullptr && current_->rw != nullptr) {
      current_->rw->AbandonInChild();
    }
    mu_.Unlock();
  }

  ~SessionConnection() override {
    UnregisterForkAware(this);
    absl::MutexLock l(&mu_);
    if (fork_generation_ != ForkGeneration()) {
      // The parent's gRPC objects are not ours to tear down.
      Abandon();
      return;
    }
    watchdog_.reset();  // no call is in flight: nothing to cancel
    if (current_ != nullptr && !current_->broken) {
      // Say goodbye: a half-close tells the manager this session is over,
      // so the locks and permits it holds are released at once rather
      // than after the session lease. A manager that does not answer
      // within a second is cut off.
      CancelAfter watchdog(current_->rw.get(), absl::Seconds(1));
      // The last acknowledgement first: items this process received must
      // not go back to their queues when the stream ends.
      if (current_->frames_received > 0) {
        pb::RequestFrame goodbye;
        goodbye.set_received_frames(current_->frames_received);
        current_->rw->Write(goodbye);
      }
      current_->rw->WritesDone();
      current_->rw->Finish().IgnoreError();
    }
  }

  absl::Status Run(std::vector<pb::Request> requests,
                   std::vector<pb::Response>* responses) override {
    responses->clear();
    int64_t largest = 0;
    int64_t total = 0;
    for (const pb::Request& r : requests) {
      const int64_t bytes = r.ByteSizeLong() + kFrameOverhead;
      largest = std::max(largest, bytes);
      total += bytes;
    }
    responses->resize(requests.size());
    absl::Duration wait = absl::ZeroDuration();
    if (options_.reply_timeout != absl::InfiniteDuration()) {
      for (const pb::Request& r : requests) {
        wait = std::max(wait, RequestWait(r));
      }
    }
    const bool watched = options_.reply_timeout != absl::InfiniteDuration() &&
                         wait != absl::InfiniteDuration();
    std::vector<Waiter> waiters(requests.size());
    StreamRef stream_ref(this);
    std::shared_ptr<Stream>& stream = stream_ref.stream;
    bool must_write = false;
    ReplyWatchdog* watchdog = nullptr;
    {
      absl::MutexLock l(&mu_);
      absl::Status open = EnsureStreamLocked();
      if (!open.ok()) return open;
      stream = current_;
      if (watched) {
        if (watchdog_ == nullptr) watchdog_ = std::make_unique<ReplyWatchdog>();
        watchdog = watchdog_.get();
      }
      if (largest > max_message_bytes_) {
        // Sent anyway, it would end the session of every thread sharing it.
        return absl::ResourceExhaustedError(absl::StrCat(
            "request of ", largest, " bytes exceeds the manager's limit of ",
            max_message_bytes_, " bytes"));
      }
      for (size_t i = 0; i < requests.size(); ++i) {
        const uint64_t id = next_id_++;
        requests[i].set_id(id);
        waiters[i].out = &(*responses)[i];
        stream->waiters[id] = &waiters[i];
        *stream->outbox.add_requests() = std::move(requests[i]);
      }
      stream->outbox_bytes += total;
      if (!stream->writing) {
        stream->writing = true;
        must_write = true;
      }
    }
    // Watched from before the write: a manager that stopped reading can
    // block the write too. The stream outlives the watch (Unwatch waits
    // for a cancel in progress).
    const uint64_t watch =
        watchdog == nullptr
            ? 0
            : watchdog->Watch(absl::Now() + wait + options_.reply_timeout,
                              [this, s = stream.get(), &waiters] {
                                // Answered just in time: the stream is fine.
                                absl::MutexLock l(&mu_);
                                if (AllDone(waiters)) return;
                                s->overdue = true;
                                s->rw->TryCancel();
                              });
    if (must_write) Flush(*stream);
    absl::Status answered = AwaitAnswers(stream, waiters);
    if (watch != 0 && watchdog->Unwatch(watch) && !answered.ok()) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no answer from the manager at ", address_, " within ",
          absl::FormatDuration(wait + options_.reply_timeout),
          " (the reply timeout); the connection was closed, so this "
          "operation may or may not have run"));
    }
    return answered;
  }

  const std::string& address() const override { return address_; }

  std::string instance_id() const override {
    absl::MutexLock l(&mu_);
    return instance_id_;
  }

  int64_t instance_changes() const override {
    absl::MutexLock l(&mu_);
    return instance_changes_;
  }

  int64_t session_losses() const override {
    absl::MutexLock l(&mu_);
    return session_losses_;
  }

  int64_t streams_opened() const override {
    absl::MutexLock l(&mu_);
    return streams_opened_;
  }

 private:
  // The gRPC channel, unless there is one or the stream goes over the
  // local wire.
  void OpenChannel() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (channel_ != nullptr || !on_grpc_) return;
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
    // No client-side timers on the connection: a forked child inherits the
    // transport, and a timer firing there would act on the parent's
    // socket. Liveness pings come from the manager instead.
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, INT_MAX);
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    args.SetInt(GRPC_ARG_CLIENT_IDLE_TIMEOUT_MS, INT_MAX);
    // Never replay a session transparently: its operations are not
    // idempotent (an add must not run twice); the caller sees UNAVAILABLE.
    args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
    // Each Connection gets its own TCP connection, like a Redis client.
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        ChannelCredentials(options_.tls, &args);
    channel_ = grpc::CreateCustomChannel(address_, credentials, args);
    stub_ = pb::Manager::NewStub(channel_);
  }

  // A caller's reference to a stream, dropped under mu_: the last reference
  // destroys the gRPC call, which must not overlap a fork's teardown of
  // gRPC (PrepareForFork holds mu_ throughout).
  struct StreamRef {
    explicit StreamRef(SessionConnection* c) : connection(c) {}
    ~StreamRef() {
      if (stream == nullptr) return;
      absl::MutexLock l(&connection->mu_);
      stream.reset();
    }
    SessionConnection* const connection;
    std::shared_ptr<Stream> stream;
  };

  // Whether a call is in flight on the current stream.
  bool BusyLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return current_ != nullptr && (!current_->waiters.empty() ||
                                   current_->writing || current_->reading);
  }

  // Leaks the gRPC objects inherited from the parent process: destroying
  // them in the child would act on the parent's connection.
  void Abandon() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (watchdog_ != nullptr) ReplyWatchdog::Abandon(std::move(watchdog_));
    if (current_ != nullptr && current_->rw != nullptr) {
      current_->rw->AbandonInChild();
    }
    new std::shared_ptr<Stream>(std::move(current_));
    new std::shared_ptr<grpc::Channel>(std::move(channel_));
    stub_.release();
    current_ = nullptr;
  }

  absl::Status EnsureStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const int64_t generation = ForkGeneration();
    if (generation != fork_generation_) {
      Abandon();
      fork_generation_ = generation;
      OpenChannel();
      next_attempt_ = absl::InfinitePast();
    }
    if (current_ != nullptr && !current_->broken) return absl::OkStatus();
    current_ = nullptr;
    OpenChannel();
    const absl::Time now = absl::Now();
    if (now < next_attempt_) {
      return absl::UnavailableError(absl::StrCat(
          "manager at ", address_, " is unreachable (", last_error_,
          "); next attempt in ", absl::FormatDuration(next_attempt_ - now)));
    }
    absl::Status opened = OpenStreamLocked();
    if (!opened.ok()) {
      last_error_ = std::string(opened.message());
      backoff_ = backoff_ == absl::ZeroDuration()
                     ? kFirstBackoff
                     : std::min(backoff_ * 2, kMaxBackoff);
      next_attempt_ = absl::Now() + backoff_;
      return opened;
    }
    backoff_ = absl::ZeroDuration();
    next_attempt_ = absl::InfinitePast();
    return absl::OkStatus();
  }

  absl::Status OpenStreamLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const absl::Time deadline = absl::Now() + options_.connect_timeout;
    std::map<std::string, std::string> metadata;
    absl::StatusOr<std::unique_ptr<SessionStream>> opened =
        on_grpc_ ? OpenGrpcStreamLocked(deadline, &metadata)
                 : OpenWireStreamLocked(deadline, &metadata);
    if (!opened.ok() && !on_grpc_ && UseGrpcInstead(opened.status())) {
      // A manager older than the wire (or than its pings): gRPC reaches it,
      // for the life of this connection.
      on_grpc_ = true;
      OpenChannel();
      opened = OpenGrpcStreamLocked(deadline, &metadata);
      if (!opened.ok()) on_grpc_ = false;  // the wire again next time
    }
    if (!opened.ok()) return opened.status();
    auto stream = std::make_shared<Stream>();
    stream->rw = *std::move(opened);
    auto it = metadata.find(kInstanceMetadata);
    if (it == metadata.end()) {
      return absl::UnavailableError(absl::StrCat(
          "manager at ", address_, " opened a session without its instance"));
    }
    auto limit = metadata.find(kMaxMessageMetadata);
    int64_t max_bytes = 0;
    if (limit != metadata.end() &&
        absl::SimpleAtoi(limit->second, &max_bytes) && max_bytes > 0) {
      max_message_bytes_ = max_bytes;
      limit_snapshot_ = max_bytes;
    }
    std::string instance = it->second;
    const bool restarted = !instance_id_.empty() && instance != instance_id_;
    if (restarted) ++instance_changes_;
    // Whatever the session held is gone if it expired while this process
    // was away, or if the manager restarted (the session with it).
    if (restarted || metadata.find(kSessionLostMetadata) != metadata.end()) {
      ++session_losses_;
    }
    instance_id_ = std::move(instance);
    ++streams_opened_;
    current_ = std::move(stream);
    return absl::OkStatus();
  }

  // A gRPC Session call, once the manager sent its initial metadata.
  absl::StatusOr<std::unique_ptr<SessionStream>> OpenGrpcStreamLocked(
      absl::Time deadline_time, std::map<std::string, std::string>* metadata)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const auto deadline = absl::ToChronoTime(deadline_time);
    // Wait for READY. A failed attempt ends the wait only if nothing
    // listens at the address (a manager that is down costs the caller a
    // refused connection, not the whole connect timeout); a listener that
    // is slow to accept — a burst of processes connecting at once — gets
    // until the connect timeout.
    grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
    // Failed attempts at an address that accepts connections: most often a
    // TLS manager reached in plaintext, or the other way round.
    bool failed_while_listening = false;
    while (state != GRPC_CHANNEL_READY) {
      bool refused = false;
      if (state == GRPC_CHANNEL_TRANSIENT_FAILURE) {
        refused = ConnectionRefused(
            address_, std::min(absl::Seconds(1),
                               absl::FromChrono(deadline) - absl::Now()));
        failed_while_listening = failed_while_listening || !refused;
      }
      if (refused || state == GRPC_CHANNEL_SHUTDOWN ||
          !channel_->WaitForStateChange(state, deadline)) {
        return absl::UnavailableError(absl::StrCat(
            "cannot connect to the manager at ", address_,
            failed_while_listening && !refused
                ? absl::StrCat(
                      ": it accepts connections, but the ",
                      options_.tls.root_pem.empty() ? "plaintext" : "TLS",
                      " handshake fails (", kTlsSetupHint, ")")
                : ""));
      }
      state = channel_->GetState(/*try_to_connect=*/true);
    }
    auto stream = std::make_unique<GrpcSessionStream>();
    // With a key, the manager proves it holds it before this process sends
    // it anything; the stream carries the client's proof (never the key).
    if (absl::Status proved =
            AuthenticateCall(stub_.get(), address_, options_.authkey,
                             options_.user, deadline_time, &stream->context);
        !proved.ok()) {
      return proved;
    }
    for (const auto& [name, value] : CallMetadataLocked()) {
      stream->context.AddMetadata(name, value);
    }
    stream->rw = stub_->Session(&stream->context);
    {
      // A manager that accepted but does not answer (stopped, wedged)
      // gets the rest of the connect timeout.
      CancelAfter watchdog(stream.get(), deadline_time - absl::Now());
      stream->rw->WaitForInitialMetadata();
    }
    const auto& initial = stream->context.GetServerInitialMetadata();
    if (initial.find(kInstanceMetadata) == initial.end()) {
      // The manager refused the session; its status says why.
      absl::Status status = stream->Finish();
      if (status.ok()) {
        return absl::UnavailableError(absl::StrCat(
            "manager at ", address_, " closed the session at once"));
      }
      if (status.code() == absl::StatusCode::kCancelled) {
        return absl::UnavailableError(
            absl::StrCat("manager at ", address_, " did not answer within ",
                         absl::FormatDuration(options_.connect_timeout)));
      }
      return status;
    }
    for (const auto& [name, value] : initial) {
      (*metadata)[std::string(name.data(), name.size())] =
          std::string(value.data(), value.size());
    }
    return std::unique_ptr<SessionStream>(std::move(stream));
  }

  // A Session stream over the local wire (no gRPC).
  absl::StatusOr<std::unique_ptr<SessionStream>> OpenWireStreamLocked(
      absl::Time deadline, std::map<std::string, std::string>* metadata)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    WireOpenOptions open;
    open.authkey = options_.authkey;
    open.user = options_.user;
    open.metadata = CallMetadataLocked();
    open.tls = options_.tls;
    open.deadline = deadline;
    // Resolved for each stream, as gRPC resolves for each connection.
    const WireTarget target = ResolveWireTarget(address_);
    if (target.empty()) {
      return absl::UnavailableError(
          absl::StrCat("cannot resolve the manager's address ", address_));
    }
    return OpenWireStream(target, address_, open, metadata);
  }

  // What a new stream tells the manager: this process's session, and the
  // manager instance it last saw.
  std::vector<std::pair<std::string, std::string>> CallMetadataLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::pair<std::string, std::string>> metadata;
    metadata.emplace_back(kSessionMetadata, SessionIdLocked());
    if (!instance_id_.empty()) {
      metadata.emplace_back(kPreviousInstanceMetadata, instance_id_);
    }
    return metadata;
  }

  // Writes the outbox until it is empty; the caller set `writing`.
  void Flush(Stream& stream) {
    absl::MutexLock l(&mu_);
    while (stream.outbox.requests_size() > 0 && !stream.broken) {
      pb::RequestFrame frame;
      frame.Swap(&stream.outbox);
      frame.set_received_frames(stream.frames_received);
      const int64_t bytes = stream.outbox_bytes;
      stream.outbox_bytes = 0;
      mu_.Unlock();
      const bool ok = WriteWithinLimit(stream, frame, bytes);
      mu_.Lock();
      // On failure the stream is dead; the reader finds out and cleans up.
      if (!ok) break;
    }
    stream.writing = false;
  }

  // Writes `frame` (at most `bytes` encoded), split into several frames if
  // the requests of different threads together exceed the manager's limit
  // (each alone fits: Run checked).
  bool WriteWithinLimit(Stream& stream, pb::RequestFrame& frame,
                        int64_t bytes) {
    if (bytes <= limit_snapshot_) {
      return stream.rw->Write(frame);
    }
    pb::RequestFrame part;
    int64_t part_bytes = 0;
    for (pb::Request& r : *frame.mutable_requests()) {
      const int64_t request_bytes =
          static_cast<int64_t>(r.ByteSizeLong()) + kFrameOverhead;
      if (part.requests_size() > 0 &&
          part_bytes + request_bytes > limit_snapshot_) {
        part.set_received_frames(frame.received_frames());
        if (!stream.rw->Write(part)) return false;
        part.Clear();
        part_bytes = 0;
      }
      *part.add_requests() = std::move(r);
      part_bytes += request_bytes;
    }
    part.set_received_frames(frame.received_frames());
    return part.requests_size() == 0 || stream.rw->Write(part);
  }

  struct AwaitState {
    const std::vector<Waiter>* waiters;
    const Stream* stream;
  };

  static bool AllDone(const std::vector<Waiter>& waiters) {
    for (const Waiter& w : waiters) {
      if (!w.done) return false;
    }
    return true;
  }

  static bool DoneOrCanRead(AwaitState* s) {
    return AllDone(*s->waiters) || !s->stream->reading || s->stream->broken;
  }

  // OK once every answer is in; the stream's broken status if it broke
  // under any of them (those then carry it too).
  absl::Status AwaitAnswers(const std::shared_ptr<Stream>& stream,
                            std::vector<Waiter>& waiters) {
    absl::MutexLock l(&mu_);
    AwaitState state{&waiters, stream.get()};
    while (!AllDone(waiters)) {
      if (stream->broken) {
        // The thread that found it broken fails every waiter, ours too,
        // once it has the call's status (it lets go of the lock for that:
        // returning before would leave our waiters for it to write to).
        mu_.Await(absl::Condition(
            +[](std::vector<Waiter>* w) { return AllDone(*w); }, &waiters));
        break;
      }
      if (!stream->reading) {
        ReadOneFrameLocked(stream);
        continue;
      }
      mu_.Await(absl::Condition(&DoneOrCanRead, &state));
    }
    for (const Waiter& w : waiters) {
      if (w.broken) return stream->broken_status;
    }
    return absl::OkStatus();
  }

  // Reads one frame (with the lock released) and delivers its answers.
  void ReadOneFrameLocked(const std::shared_ptr<Stream>& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    stream->reading = true;
    pb::ResponseFrame frame;
    mu_.Unlock();
    const bool ok = stream->rw->Read(&frame);
    mu_.Lock();
    stream->reading = false;
    if (!ok) {
      BreakLocked(stream);
      return;
    }
    ++stream->frames_received;
    for (pb::Response& response : *frame.mutable_responses()) {
      auto it = stream->waiters.find(response.id());
      if (it == stream->waiters.end()) continue;  // not ours to deliver
      *it->second->out = std::move(response);
      it->second->done = true;
      stream->waiters.erase(it);
    }
  }

  // Ends a stream whose read failed: waits out any write, collects the
  // call's status, and fails every waiter with it.
  void BreakLocked(const std::shared_ptr<Stream>& stream)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    stream->broken = true;
    mu_.Await(absl::Condition(
        +[](Stream* s) { return !s->writing; }, stream.get()));
    mu_.Unlock();
    absl::Status cause = stream->rw->Finish();
    mu_.Lock();
    if (stream->overdue) {
      cause = absl::UnavailableError(
          "another call's answer did not come within the reply timeout");
    } else if (cause.ok() || cause.code() == absl::StatusCode::kCancelled) {
      cause = absl::UnavailableError("the manager closed the session");
    }
    stream->broken_status = absl::Status(
        cause.code(),
        absl::StrCat("connection to the manager at ", address_,
                     " lost: ", cause.message(),
                     " (operations in flight may or may not have run)"));
    for (auto& [id, waiter] : stream->waiters) {
      StatusToResponseLocked(stream->broken_status, waiter);
      waiter->broken = true;
    }
    stream->waiters.clear();
    if (current_ == stream) current_ = nullptr;
  }

  static void StatusToResponseLocked(const absl::Status& s, Waiter* waiter) {
    StatusToResponse(s, waiter->out);
    waiter->done = true;
  }

  // This process's session id for this connection: a forked child, being
  // another process, gets a new one.
  std::string SessionIdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (session_pid_ != getpid()) {
      session_pid_ = getpid();
      std::random_device random;
      session_id_ = absl::StrCat(absl::Hex(random(), absl::kZeroPad8),
                                 absl::Hex(random(), absl::kZeroPad8),
                                 absl::Hex(random(), absl::kZeroPad8),
                                 absl::Hex(random(), absl::kZeroPad8));
    }
    return session_id_;
  }

  const std::string address_;
  const ConnectionOptions options_;
  // Streams go over gRPC (MPROC_WIRE=grpc, or an older manager), not the
  // wire.
  bool on_grpc_ ABSL_GUARDED_BY(mu_);
  pid_t session_pid_ ABSL_GUARDED_BY(mu_) = 0;
  std::string session_id_ ABSL_GUARDED_BY(mu_);

  mutable absl::Mutex mu_;
  int64_t fork_generation_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<grpc::Channel> channel_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<pb::Manager::Stub> stub_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<Stream> current_ ABSL_GUARDED_BY(mu_);
  // Started by the first call with a finite reply timeout, in each process.
  std::unique_ptr<ReplyWatchdog> watchdog_ ABSL_GUARDED_BY(mu_);
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::string instance_id_ ABSL_GUARDED_BY(mu_);
  int64_t instance_changes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t session_losses_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t streams_opened_ ABSL_GUARDED_BY(mu_) = 0;
  // The manager's message size limit, from its session metadata.
  int64_t max_message_bytes_ ABSL_GUARDED_BY(mu_) = INT32_MAX;
  // The same, read by the writer without the lock (set before any write).
  std::atomic<int64_t> limit_snapshot_{INT32_MAX};
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::string last_error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::shared_ptr<Connection> NewConnection(std::string address,
                                          ConnectionOptions options) {
  return std::make_shared<SessionConnection>(std::move(address),
                                             std::move(options));
}

}  // namespace internal
}  // namespace mproc
