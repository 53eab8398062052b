#include "server/manager_service.h"

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "client/grpc_status.h"
#include "server/parking.h"

namespace mproc {
namespace {

constexpr char kAuthkeyHeader[] = "mproc-authkey";
constexpr char kInstanceHeader[] = "mproc-instance";
constexpr char kMaxMessageHeader[] = "mproc-max-message-bytes";
constexpr char kSessionHeader[] = "mproc-session";

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  // Length is not secret enough to hide; the contents are.
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? a[i] : 0;
    unsigned char y = i < b.size() ? b[i] : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

class SessionReactor;

// The way back to a session for answers that come after their frame (parked
// calls). Parked calls share it, so it outlives the reactor; once the
// reactor is done it delivers nothing.
class SessionSink : public ReplySink {
 public:
  explicit SessionSink(SessionReactor* reactor) : reactor_(reactor) {}
  bool Deliver(pb::Response response,
               std::function<void()> unsent) override;

  uint64_t AddCloseHook(std::function<void()> hook) override {
    absl::MutexLock l(&mu_);
    if (reactor_ == nullptr) return 0;
    const uint64_t token = next_token_++;
    hooks_.emplace(token, std::move(hook));
    return token;
  }

  void RemoveCloseHook(uint64_t token) override {
    absl::MutexLock l(&mu_);
    hooks_.erase(token);
  }

  // Called by the reactor's OnDone, before it is deleted: no more answers,
  // and the session's parked calls are withdrawn.
  void Close() {
    absl::flat_hash_map<uint64_t, std::function<void()>> hooks;
    {
      absl::MutexLock l(&mu_);
      reactor_ = nullptr;
      hooks.swap(hooks_);
    }
    for (auto& [token, hook] : hooks) hook();
  }

 private:
  absl::Mutex mu_;
  SessionReactor* reactor_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks_
      ABSL_GUARDED_BY(mu_);
};

// DESIGN: one reactor per client connection. Reads are always outstanding
// (one at a time); each frame read is executed at once on the reaction
// thread, and its responses are written in order. While a write is in
// flight, later responses accumulate in `pending_` and go out together as
// one frame, so a pipelining client gets batched replies. Parked calls
// (parking.h) are answered later through the session's sink, from whatever
// thread serves them, by the same write path. The reactor finishes once the
// client has half-closed and all writes are done, or on the first failed
// read or write; answers for it after that are refused, so their items stay
// where they were. Lock order: an object's mutex, then the sink's, then the
// reactor's.
class SessionReactor
    : public grpc::ServerBidiReactor<pb::RequestFrame, pb::ResponseFrame> {
 public:
  SessionReactor(Dispatcher* dispatcher, const grpc::Status& auth,
                 std::string peer, std::shared_ptr<SessionRegistry> sessions,
                 const std::string& session_id)
      : dispatcher_(dispatcher),
        sink_(std::make_shared<SessionSink>(this)),
        sessions_(std::move(sessions)),
        session_(sessions_->Attach(session_id, peer)) {
    if (!auth.ok()) {
      {
        absl::MutexLock l(&mu_);
        finished_ = true;  // parked answers are refused from now on
      }
      Finish(auth);
      return;
    }
    StartSendInitialMetadata();
    StartRead(&incoming_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      absl::MutexLock l(&mu_);
      read_closed_ = true;
      MaybeFinishLocked(grpc::Status::OK);
      return;
    }
    pb::ResponseFrame out;
    dispatcher_->ExecuteFrame(incoming_, &out, sink_, session_);
    incoming_.Clear();
    {
      // Queue the answers before the next read can complete, so a
      // half-close seen on another thread cannot finish the call first.
      absl::MutexLock l(&mu_);
      // A failed write may have finished the call meanwhile: then there is
      // no one to answer, and no more reads may start.
      if (finished_) return;
      if (out.responses_size() > 0) SendLocked(std::move(out));
    }
    StartRead(&incoming_);
  }

  // A parked call's answer. False once the call is finishing. `unsent`
  // runs if the stream breaks before the answer is written.
  bool SendLater(pb::Response response, std::function<void()> unsent) {
    absl::MutexLock l(&mu_);
    if (finished_) return false;
    pb::ResponseFrame frame;
    *frame.add_responses() = std::move(response);
    if (unsent) pending_unsent_.push_back(std::move(unsent));
    SendLocked(std::move(frame));
    return true;
  }

  void OnWriteDone(bool ok) override {
    std::vector<std::function<void()>> unsent;
    {
      absl::MutexLock l(&mu_);
      OnWriteDoneLocked(ok, &unsent);
    }
    for (std::function<void()>& undo : unsent) undo();
  }

  void OnWriteDoneLocked(bool ok, std::vector<std::function<void()>>* unsent)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = false;
    if (!ok) {
      // Nothing in flight or pending reached the client: give back what
      // parked answers carried.
      unsent->swap(writing_unsent_);
      for (auto& undo : pending_unsent_) unsent->push_back(std::move(undo));
      pending_unsent_.clear();
      pending_.clear();
      read_closed_ = true;
      MaybeFinishLocked(grpc::Status::CANCELLED);
      return;
    }
    writing_unsent_.clear();  // written
    if (!pending_.empty()) {
      outgoing_.Clear();
      for (pb::ResponseFrame& frame : pending_) {
        for (pb::Response& r : *frame.mutable_responses()) {
          *outgoing_.add_responses() = std::move(r);
        }
      }
      pending_.clear();
      writing_unsent_.swap(pending_unsent_);
      writing_ = true;
      StartWrite(&outgoing_);
      return;
    }
    MaybeFinishLocked(grpc::Status::OK);
  }

  // The client went away without closing (killed, cut off, forked): its
  // session waits out the lease for a reconnect.
  void OnCancel() override {
    absl::MutexLock l(&mu_);
    cancelled_ = true;
  }

  void OnDone() override {
    sink_->Close();  // parked calls of this stream are withdrawn
    bool cancelled;
    {
      absl::MutexLock l(&mu_);
      cancelled = cancelled_;
    }
    // A clean close (the client half-closed) ends the session at once.
    sessions_->Detach(session_, /*now=*/!cancelled);
    delete this;
  }

 private:
  // Writes `frame` now, or after the write in flight. Undo callbacks added
  // to pending_unsent_ for it move along with it.
  void SendLocked(pb::ResponseFrame frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) {
      pending_.push_back(std::move(frame));
    } else {
      writing_ = true;
      outgoing_ = std::move(frame);
      writing_unsent_.swap(pending_unsent_);
      StartWrite(&outgoing_);
    }
  }

  void MaybeFinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !read_closed_) return;
    finished_ = true;
    Finish(status);
  }

  Dispatcher* const dispatcher_;
  const std::shared_ptr<SessionSink> sink_;
  const std::shared_ptr<SessionRegistry> sessions_;
  const std::shared_ptr<ClientSession> session_;
  pb::RequestFrame incoming_;  // touched only by the read chain

  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  pb::ResponseFrame outgoing_ ABSL_GUARDED_BY(mu_);
  std::deque<pb::ResponseFrame> pending_ ABSL_GUARDED_BY(mu_);
  // Undo callbacks of parked answers in outgoing_ / in pending_.
  std::vector<std::function<void()>> writing_unsent_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> pending_unsent_ ABSL_GUARDED_BY(mu_);
};

bool SessionSink::Deliver(pb::Response response,
                          std::function<void()> unsent) {
  absl::MutexLock l(&mu_);
  return reactor_ != nullptr &&
         reactor_->SendLater(std::move(response), std::move(unsent));
}

}  // namespace

ManagerService::ManagerService(Dispatcher* dispatcher, std::string authkey,
                               int64_t max_message_bytes,
                               absl::Duration session_lease)
    : dispatcher_(dispatcher),
      authkey_(std::move(authkey)),
      max_message_bytes_(max_message_bytes),
      sessions_(std::make_shared<SessionRegistry>(session_lease,
                                                  &DeadlineTimer::Default())) {}

absl::Status ManagerService::Authenticate(
    const grpc::CallbackServerContext& context) const {
  if (authkey_.empty()) return absl::OkStatus();
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(kAuthkeyHeader);
  if (it == metadata.end()) {
    return absl::UnauthenticatedError("this manager requires an authkey");
  }
  if (!ConstantTimeEquals(absl::string_view(it->second.data(), it->second.size()),
                          authkey_)) {
    return absl::UnauthenticatedError("wrong authkey");
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ManagerService::Call(
    grpc::CallbackServerContext* context, const pb::Request* request,
    pb::Response* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) dispatcher_->Execute(*request, response);
  reactor->Finish(auth);
  return reactor;
}

grpc::ServerUnaryReactor* ManagerService::Batch(
    grpc::CallbackServerContext* context, const pb::RequestFrame* frame,
    pb::ResponseFrame* responses) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) dispatcher_->ExecuteFrame(*frame, responses);
  reactor->Finish(auth);
  return reactor;
}

grpc::ServerBidiReactor<pb::RequestFrame, pb::ResponseFrame>*
ManagerService::Session(grpc::CallbackServerContext* context) {
  const grpc::Status auth = ToGrpcStatus(Authenticate(*context));
  if (auth.ok()) {
    context->AddInitialMetadata(kInstanceHeader, dispatcher_->instance_id());
    context->AddInitialMetadata(kMaxMessageHeader,
                                std::to_string(max_message_bytes_));
  }
  std::string session_id;
  const auto& metadata = context->client_metadata();
  if (auto it = metadata.find(kSessionHeader); it != metadata.end()) {
    session_id.assign(it->second.data(), it->second.size());
  }
  return new SessionReactor(dispatcher_, auth, context->peer(), sessions_,
                            session_id);
}

}  // namespace mproc
