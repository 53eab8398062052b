#include <deque>
#include <functional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_join.h"
#include "common/metadata.h"
#include "server/parking.h"
#include "server/rpc/manager_calls.h"

namespace mproc {
namespace {

class SessionCall;

constexpr size_t kMaxLostNamesSent = 8;

// The way back to a session for answers that come after their frame (parked
// calls). Parked calls share it, so it outlives the call; once the call is
// done it delivers nothing.
class SessionSink : public ReplySink {
 public:
  explicit SessionSink(SessionCall* call) : call_(call) {}
  bool Deliver(pb::Response response, std::function<void()> unsent) override;

  uint64_t AddCloseHook(std::function<void()> hook) override {
    absl::MutexLock l(&mu_);
    if (call_ == nullptr) return 0;
    const uint64_t token = next_token_++;
    hooks_.emplace(token, std::move(hook));
    return token;
  }

  void RemoveCloseHook(uint64_t token) override {
    absl::MutexLock l(&mu_);
    hooks_.erase(token);
  }

  // Called once the call is over, before it is deleted: no more answers,
  // and the session's parked calls are withdrawn.
  void Close() {
    absl::flat_hash_map<uint64_t, std::function<void()>> hooks;
    {
      absl::MutexLock l(&mu_);
      call_ = nullptr;
      hooks.swap(hooks_);
    }
    for (auto& [token, hook] : hooks) hook();
  }

 private:
  absl::Mutex mu_;
  SessionCall* call_ ABSL_GUARDED_BY(mu_);
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks_
      ABSL_GUARDED_BY(mu_);
};

// DESIGN: one SessionCall per client stream, living from the request for a
// new call until its last completion. Every operation started on the call
// carries one of the call's tags; the completion queue hands the tag back
// to the thread polling it, which calls OnEvent. Reads are always
// outstanding (one at a time); each frame read is executed at once on the
// polling thread, and its responses are written in order. While a write
// (or the initial metadata) is in flight, later responses accumulate in
// `pending_` and go out together as one frame, so a pipelining client gets
// batched replies. Parked calls (parking.h) are answered later through the
// session's sink, from whatever thread serves them, by the same write path.
// The call finishes once the client has half-closed and all writes are
// done, or on the first failed read or write; answers for it after that
// are refused, so their items stay where they were. It is deleted when no
// operation is outstanding and gRPC has said the call is done. Lock order:
// an object's mutex, then the sink's, then the call's.
class SessionCall : public AsyncCall {
 public:
  // Asks gRPC for the next Session call on `cq`.
  static void AwaitNext(ManagerService* service, RpcThreads* threads,
                        grpc::ServerCompletionQueue* cq) {
    new SessionCall(service, threads, cq);
  }

  void OnEvent(int event, bool ok) override {
    bool gone = false;
    switch (event) {
      case kNewCall:
        if (!ok) {  // the server is shutting down: no call, no done event
          delete this;
          return;
        }
        OnNewCall();
        return;
      case kRead:
        gone = OnReadDone(ok);
        break;
      case kWrite:
        gone = OnWriteDone(ok);
        break;
      case kFinish:
      case kDone: {
        absl::MutexLock l(&mu_);
        gone = --outstanding_ == 0;
        break;
      }
    }
    if (gone) Destroy();
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

 private:
  enum Event { kNewCall, kRead, kWrite, kFinish, kDone };

  SessionCall(ManagerService* service, RpcThreads* threads,
              grpc::ServerCompletionQueue* cq)
      : AsyncCall(threads),
        service_(service),
        threads_(threads),
        cq_(cq),
        stream_(&context_) {
    context_.AsyncNotifyWhenDone(&done_tag_);
    service_->RequestSession(&context_, &stream_, cq_, cq_, &new_call_tag_);
  }

  void OnNewCall() {
    AwaitNext(service_, threads_, cq_);
    std::string session_id;
    const auto& metadata = context_.client_metadata();
    if (auto it = metadata.find(kSessionMetadata); it != metadata.end()) {
      session_id.assign(it->second.data(), it->second.size());
    }
    sink_ = std::make_shared<SessionSink>(this);
    session_ = service_->sessions()->Attach(session_id, context_.peer());
    const grpc::Status admitted = service_->AdmitSession(&context_);
    absl::MutexLock l(&mu_);
    outstanding_ = 1;  // the done event
    if (!admitted.ok()) {
      read_closed_ = true;
      FinishLocked(admitted);
      return;
    }
    if (session_->TakeExpiryNotice()) {
      // Header space is small: the first few names tell the story.
      std::vector<std::string> lost = session_->losses().Sorted();
      if (lost.size() > kMaxLostNamesSent) {
        lost.resize(kMaxLostNamesSent);
        lost.push_back("...");
      }
      context_.AddInitialMetadata(kSessionLostMetadata,
                                  absl::StrJoin(lost, ","));
    }
    // The initial metadata counts as a write: answers wait behind it.
    writing_ = true;
    ++outstanding_;
    stream_.SendInitialMetadata(&write_tag_);
    StartReadLocked();
  }

  // These return whether the call is over (no operation outstanding).
  bool OnReadDone(bool ok) {
    pb::ResponseFrame out;
    if (ok) {
      service_->dispatcher()->ExecuteFrame(incoming_, &out, sink_, session_);
      incoming_.Clear();
    }
    absl::MutexLock l(&mu_);
    --outstanding_;
    if (!ok) {
      read_closed_ = true;
      MaybeFinishLocked(grpc::Status::OK);
    } else if (!finished_) {
      // (A failed write may have finished the call meanwhile: then there
      // is no one to answer, and no more reads may start.)
      if (out.responses_size() > 0) SendLocked(std::move(out));
      StartReadLocked();
    }
    return outstanding_ == 0;
  }

  bool OnWriteDone(bool ok) {
    std::vector<std::function<void()>> unsent;
    bool gone;
    {
      absl::MutexLock l(&mu_);
      --outstanding_;
      OnWriteDoneLocked(ok, &unsent);
      gone = outstanding_ == 0;
    }
    for (std::function<void()>& undo : unsent) undo();
    return gone;
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
      StartWriteLocked();
      return;
    }
    MaybeFinishLocked(grpc::Status::OK);
  }

  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++outstanding_;
    stream_.Read(&incoming_, &read_tag_);
  }

  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    ++outstanding_;
    stream_.Write(outgoing_, &write_tag_);
  }

  // Writes `frame` now, or after the write in flight. Undo callbacks added
  // to pending_unsent_ for it move along with it.
  void SendLocked(pb::ResponseFrame frame) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_) {
      pending_.push_back(std::move(frame));
      return;
    }
    outgoing_ = std::move(frame);
    writing_unsent_.swap(pending_unsent_);
    StartWriteLocked();
  }

  void MaybeFinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !read_closed_) return;
    FinishLocked(status);
  }

  void FinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;  // parked answers are refused from now on
    ++outstanding_;
    stream_.Finish(status, &finish_tag_);
  }

  // Called once gRPC holds none of the call's tags. The sink is closed
  // first (parked calls of this stream are withdrawn), then the session
  // learns the stream is gone: at once if the client closed it cleanly, or
  // after its lease if the client vanished (killed, cut off, forked).
  void Destroy() {
    sink_->Close();
    service_->sessions()->Detach(session_, /*now=*/!context_.IsCancelled());
    delete this;
  }

  ManagerService* const service_;
  RpcThreads* const threads_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  grpc::ServerAsyncReaderWriter<pb::ResponseFrame, pb::RequestFrame> stream_;
  CallTag new_call_tag_{this, kNewCall};
  CallTag read_tag_{this, kRead};
  CallTag write_tag_{this, kWrite};
  CallTag finish_tag_{this, kFinish};
  CallTag done_tag_{this, kDone};
  // Set when the call arrives, before any event can touch them.
  std::shared_ptr<SessionSink> sink_;
  std::shared_ptr<ClientSession> session_;
  pb::RequestFrame incoming_;  // touched only by the read chain

  absl::Mutex mu_;
  // Operations started and not yet completed, the done event included.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  pb::ResponseFrame outgoing_ ABSL_GUARDED_BY(mu_);
  std::deque<pb::ResponseFrame> pending_ ABSL_GUARDED_BY(mu_);
  // Undo callbacks of parked answers in outgoing_ / in pending_.
  std::vector<std::function<void()>> writing_unsent_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> pending_unsent_ ABSL_GUARDED_BY(mu_);
};

bool SessionSink::Deliver(pb::Response response, std::function<void()> unsent) {
  absl::MutexLock l(&mu_);
  return call_ != nullptr &&
         call_->SendLater(std::move(response), std::move(unsent));
}

}  // namespace

void AwaitSessionCall(ManagerService* service, RpcThreads* threads,
                      grpc::ServerCompletionQueue* cq) {
  SessionCall::AwaitNext(service, threads, cq);
}

}  // namespace mproc
