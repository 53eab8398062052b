#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <system_error>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "common/grpc_status.h"
#include "common/log.h"
#include "common/metadata.h"
#include "server/parking.h"
#include "server/rpc/free_memory.h"
#include "server/rpc/grpc_session_transport.h"
#include "server/rpc/manager_calls.h"

namespace mproc {
namespace {

class SessionCall;

constexpr size_t kMaxLostNamesSent = 8;
// Parked calls withdrawn on the polling thread itself when a stream ends;
// more go to a thread of their own.
constexpr size_t kWithdrawInline = 1024;

// Fairness between clients. Frames a client pipelined are already in
// gRPC's buffers, so each next read completes at once and the polling
// thread would never get back to the other clients' sockets: one client
// with 100 heavy requests queued made everyone wait for all of them. A
// stream whose frames have kept the thread busy back to back for a slice
// pauses its reading for a moment, letting the thread poll the others.
constexpr absl::Duration kSlice = absl::Milliseconds(5);
// A read done within this of the previous frame's end was waiting.
constexpr absl::Duration kBackToBack = absl::Microseconds(200);
constexpr absl::Duration kYield = absl::Milliseconds(1);

// The way back to a session for answers that come after their frame (parked
// calls). Parked calls share it, so it outlives the call; once the call is
// done it delivers nothing.
class SessionSink : public ReplySink {
 public:
  explicit SessionSink(SessionCall* call) : call_(call) {}
  bool Deliver(pb::Response response, std::function<void()> give_back,
               GiveBack when) override;

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
  // and the stream's parked calls are withdrawn. Many of them (a client
  // that parked 100,000 gets) are withdrawn on a thread of their own, so
  // this polling thread goes back to serving the other clients at once.
  void Close() {
    auto hooks = std::make_shared<
        absl::flat_hash_map<uint64_t, std::function<void()>>>();
    {
      absl::MutexLock l(&mu_);
      call_ = nullptr;  // from here on the call may be deleted
      hooks->swap(hooks_);
    }
    auto withdraw = [hooks] {
      for (auto& [token, hook] : *hooks) hook();
    };
    if (hooks->size() >= kWithdrawInline) {
      try {
        std::thread(withdraw).detach();
        return;
      } catch (const std::system_error&) {
        // No thread to be had (a process limit): withdraw them here.
      }
    }
    withdraw();
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
// to the thread polling it, which calls OnEvent. Reads are outstanding one
// at a time; each frame read is executed at once on the polling thread,
// and its responses are written in order. While a write (or the initial
// metadata) is in flight, later responses wait in `pending_` and go out
// together, in frames kept under the message limit. Parked calls
// (parking.h) are answered later through the session's sink, from
// whatever thread serves them, by the same write path.
//
// Backpressure: answers not yet written are counted in bytes; past
// `max_unsent_bytes` the call stops reading the client's requests until
// the client has read enough for the writes to drain (gRPC flow control
// then holds the client back), so a client that sends and never reads
// costs the manager a bounded amount of memory.
//
// Give-back: an answer that handed something over carries a give-back
// (parking.h, GiveBack). Those of kind kIfUnwritten are dropped once their
// frame is written; those of kind kIfUnreceived are kept, with the number
// of the frame that carried them, until the client acknowledges that many
// frames (RequestFrame.received_frames). When the stream ends, every
// give-back still held runs, so items in flight to a client that died go
// back to their objects.
//
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
    new SessionCall(service, threads,
                    std::make_unique<GrpcSessionTransport>(service, cq), cq);
  }

  // Serves a stream that arrived on another transport (the local wire).
  static void Serve(ManagerService* service, RpcThreads* threads,
                    std::unique_ptr<SessionTransport> transport) {
    new SessionCall(service, threads, std::move(transport), nullptr);
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
      case kResume:
        gone = OnResume();
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

  // A parked call's answer. False once the call is finishing.
  bool SendLater(pb::Response response, std::function<void()> give_back,
                 GiveBack when) {
    const int64_t bytes = static_cast<int64_t>(response.ByteSizeLong());
    absl::MutexLock l(&mu_);
    if (finished_) return false;
    pending_.push_back(
        Outgoing{std::move(response), std::move(give_back), when, bytes});
    unsent_bytes_ += bytes;
    peak_unsent_bytes_ = std::max(peak_unsent_bytes_, unsent_bytes_);
    if (!writing_) StartWriteLocked();
    return true;
  }

 private:
  enum Event { kNewCall, kRead, kWrite, kResume, kFinish, kDone };

  // An answer waiting to be written, with what it handed over.
  struct Outgoing {
    pb::Response response;
    std::function<void()> give_back;
    GiveBack when = GiveBack::kIfUnwritten;
    int64_t bytes = 0;
  };

  // The give-backs of written frames not yet acknowledged by the client.
  struct Unreceived {
    uint64_t frame = 0;  // the count of frames written, this one included
    std::vector<std::function<void()>> give_backs;
  };

  // `cq`: the queue gRPC's transport awaits calls on (null for others).
  SessionCall(ManagerService* service, RpcThreads* threads,
              std::unique_ptr<SessionTransport> transport,
              grpc::ServerCompletionQueue* cq)
      : AsyncCall(threads),
        service_(service),
        threads_(threads),
        cq_(cq),
        frame_limit_(service->max_message_bytes()),
        max_unsent_bytes_(service->max_unsent_bytes()),
        transport_(std::move(transport)) {
    transport_->NotifyWhenDone(&done_tag_);
    transport_->Start(&new_call_tag_);
  }

  void OnNewCall() {
    if (cq_ != nullptr) AwaitNext(service_, threads_, cq_);
    peer_ = transport_->Peer();
    // Authentication first: a refused stream touches no session.
    absl::StatusOr<Access> admitted = service_->AdmitSession(transport_.get());
    sink_ = std::make_shared<SessionSink>(this);
    service_->open_streams().fetch_add(1, std::memory_order_relaxed);
    if (!admitted.ok()) {
      absl::MutexLock l(&mu_);
      outstanding_ = 1;  // the done event
      read_closed_ = true;
      FinishLocked(admitted.status());
      return;
    }
    access_ = *std::move(admitted);
    std::string session_id =
        transport_->ClientMetadata(kSessionMetadata).value_or("");
    // A session belongs to whoever authenticated it: another caller that
    // names the same id gets a session of its own; and the ids the
    // manager gives anonymous sessions cannot be named at all.
    if (absl::StartsWith(session_id, kAnonymousSessionPrefix)) {
      session_id.clear();
    } else if (!session_id.empty() && !access_.principal.empty()) {
      session_id = absl::StrCat(access_.principal, "\x1f", session_id);
    }
    bool restarted = false;
    if (std::optional<std::string> previous =
            transport_->ClientMetadata(kPreviousInstanceMetadata)) {
      restarted = *previous != service_->dispatcher()->instance_id();
    }
    session_ = service_->sessions()->Attach(session_id, peer_, restarted);
    if (LogEnabled(LogLevel::kInfo)) {
      Log(LogLevel::kInfo, "connection_opened",
          absl::StrCat("a stream from ", peer_,
                       access_.principal.empty()
                           ? std::string()
                           : absl::StrCat(" (user '", access_.principal, "')")),
          {{"peer", peer_}, {"user", access_.principal}});
    }
    absl::MutexLock l(&mu_);
    outstanding_ = 1;  // the done event
    if (session_->TakeExpiryNotice()) {
      // Header space is small: the first few names tell the story.
      std::vector<std::string> lost = session_->losses().Sorted();
      if (lost.size() > kMaxLostNamesSent) {
        lost.resize(kMaxLostNamesSent);
        lost.push_back("...");
      }
      transport_->AddInitialMetadata(kSessionLostMetadata,
                                     absl::StrJoin(lost, ","));
    }
    // The initial metadata counts as a write: answers wait behind it.
    writing_ = true;
    sending_metadata_ = true;
    ++outstanding_;
    transport_->SendInitialMetadata(&write_tag_);
    StartReadLocked();
  }

  // These return whether the call is over (no operation outstanding).
  bool OnReadDone(bool ok) {
    FrameAnswers out;
    uint64_t received_frames = 0;
    if (ok) {
      // Touched only by the read chain, like incoming_.
      const absl::Time start = absl::Now();
      if (start - last_frame_end_ > kBackToBack) slice_start_ = start;
      service_->dispatcher()->ExecuteFrame(incoming_, &out, sink_, session_,
                                           access_);
      last_frame_end_ = absl::Now();
      received_frames = incoming_.received_frames();
      incoming_.Clear();  // before the next read starts into it
    }
    std::vector<Unreceived> received;  // destroyed after the lock
    std::vector<std::function<void()>> give_backs;
    bool gone;
    {
      absl::MutexLock l(&mu_);
      --outstanding_;
      reading_ = false;
      if (!ok) {
        read_closed_ = true;
        MaybeFinishLocked(absl::OkStatus());
      } else {
        AcknowledgedLocked(received_frames, &received);
        if (finished_) {
          // A failed write finished the call meanwhile: no one to answer,
          // and what the answers handed over goes back.
          for (auto& [index, give_back] : out.give_backs) {
            give_backs.push_back(std::move(give_back));
          }
        } else {
          if (out.frame.responses_size() > 0) QueueLocked(std::move(out));
          if (last_frame_end_ - slice_start_ > kSlice &&
              service_->open_streams().load(std::memory_order_relaxed) > 1) {
            YieldLocked();
          } else {
            MaybeReadLocked();
          }
        }
      }
      gone = outstanding_ == 0;
    }
    GiveBackAll(give_backs);
    return gone;
  }

  bool OnWriteDone(bool ok) {
    std::vector<std::function<void()>> give_backs;
    // Give-backs of answers the client has: destroyed after the lock (a
    // durable object deletes its records then).
    std::vector<std::function<void()>> kept;
    bool gone;
    {
      absl::MutexLock l(&mu_);
      --outstanding_;
      OnWriteDoneLocked(ok, &give_backs, &kept);
      gone = outstanding_ == 0;
    }
    GiveBackAll(give_backs);
    return gone;
  }

  void OnWriteDoneLocked(bool ok,
                         std::vector<std::function<void()>>* give_backs,
                         std::vector<std::function<void()>>* kept)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = false;
    unsent_bytes_ -= writing_bytes_;
    writing_bytes_ = 0;
    const bool was_metadata = std::exchange(sending_metadata_, false);
    if (!ok) {
      // Nothing in flight or pending reached the client, nor (for all we
      // know) anything it has not acknowledged.
      TakeAllGiveBacksLocked(give_backs);
      read_closed_ = true;
      MaybeFinishLocked(absl::CancelledError());
      return;
    }
    if (!was_metadata) ++frames_written_;
    kept->swap(writing_unwritten_);  // written: the client's now
    writing_unwritten_.clear();
    if (!writing_unreceived_.empty()) {
      // The client may have acknowledged it before its write completion
      // reached us.
      if (frames_written_ > frames_acknowledged_) {
        unreceived_.push_back(
            Unreceived{frames_written_, std::move(writing_unreceived_)});
      } else {
        for (auto& give_back : writing_unreceived_) {
          kept->push_back(std::move(give_back));
        }
      }
      writing_unreceived_.clear();
    }
    if (!pending_.empty()) {
      StartWriteLocked();
    } else {
      MaybeFinishLocked(absl::OkStatus());
    }
    MaybeReadLocked();
  }

  // Drops the give-backs of frames the client has received.
  void AcknowledgedLocked(uint64_t received_frames,
                          std::vector<Unreceived>* received)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    frames_acknowledged_ = std::max(frames_acknowledged_, received_frames);
    while (!unreceived_.empty() &&
           unreceived_.front().frame <= received_frames) {
      received->push_back(std::move(unreceived_.front()));
      unreceived_.pop_front();
    }
  }

  // Runs give-backs gathered oldest first, newest first: each puts its
  // items in front, so the objects get them back in their old order.
  static void GiveBackAll(std::vector<std::function<void()>>& give_backs) {
    for (auto it = give_backs.rbegin(); it != give_backs.rend(); ++it) {
      (*it)();
    }
  }

  void TakeAllGiveBacksLocked(std::vector<std::function<void()>>* give_backs)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (Unreceived& frame : unreceived_) {
      for (auto& give_back : frame.give_backs) {
        give_backs->push_back(std::move(give_back));
      }
    }
    unreceived_.clear();
    for (auto* in_flight : {&writing_unwritten_, &writing_unreceived_}) {
      for (auto& give_back : *in_flight) {
        give_backs->push_back(std::move(give_back));
      }
      in_flight->clear();
    }
    for (Outgoing& answer : pending_) {
      if (answer.give_back) give_backs->push_back(std::move(answer.give_back));
    }
    pending_.clear();
    unsent_bytes_ = 0;
  }

  void StartReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    reading_ = true;
    ++outstanding_;
    transport_->Read(&incoming_, &read_tag_);
  }

  // Pauses reading for kYield (see kSlice).
  void YieldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    yielding_ = true;
    ++outstanding_;
    transport_->ResumeAt(absl::Now() + kYield, &resume_tag_);
  }

  bool OnResume() {
    absl::MutexLock l(&mu_);
    --outstanding_;
    yielding_ = false;
    MaybeReadLocked();
    return outstanding_ == 0;
  }

  // Reads the next frame unless one is being read, the client is done
  // sending, reading yields to other clients, or too much is waiting to be
  // written (backpressure).
  void MaybeReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || yielding_ || read_closed_ || finished_) return;
    if (unsent_bytes_ > max_unsent_bytes_) return;  // resumed by a write
    StartReadLocked();
  }

  // Queues a frame's immediate answers behind what is already waiting.
  void QueueLocked(FrameAnswers out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    unsent_bytes_ += out.bytes;
    peak_unsent_bytes_ = std::max(peak_unsent_bytes_, unsent_bytes_);
    const int64_t framed =
        out.bytes + kResponseFraming * out.frame.responses_size();
    if (!writing_ && pending_.empty() && framed <= frame_limit_) {
      // The common case: the frame goes out as it is.
      outgoing_ = std::move(out.frame);
      for (auto& [index, give_back] : out.give_backs) {
        writing_unreceived_.push_back(std::move(give_back));
      }
      StartFrameWriteLocked(out.bytes);
      return;
    }
    size_t next_give_back = 0;
    auto* responses = out.frame.mutable_responses();
    for (int i = 0; i < responses->size(); ++i) {
      Outgoing answer;
      answer.response = std::move((*responses)[i]);
      answer.bytes = static_cast<int64_t>(answer.response.ByteSizeLong());
      if (next_give_back < out.give_backs.size() &&
          out.give_backs[next_give_back].first == i) {
        answer.give_back = std::move(out.give_backs[next_give_back].second);
        answer.when = GiveBack::kIfUnreceived;
        ++next_give_back;
      }
      pending_.push_back(std::move(answer));
    }
    if (!writing_) StartWriteLocked();
  }

  // Writes the next frame of pending answers: as many as fit under the
  // message limit (at least one).
  void StartWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    outgoing_.Clear();
    int64_t framed = 0;
    int64_t bytes = 0;
    while (!pending_.empty()) {
      Outgoing& next = pending_.front();
      if (outgoing_.responses_size() > 0 &&
          framed + next.bytes + kResponseFraming > frame_limit_) {
        break;
      }
      framed += next.bytes + kResponseFraming;
      bytes += next.bytes;
      *outgoing_.add_responses() = std::move(next.response);
      if (next.give_back) {
        (next.when == GiveBack::kIfUnreceived ? writing_unreceived_
                                              : writing_unwritten_)
            .push_back(std::move(next.give_back));
      }
      pending_.pop_front();
    }
    StartFrameWriteLocked(bytes);
  }

  void StartFrameWriteLocked(int64_t bytes) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    writing_ = true;
    writing_bytes_ = bytes;
    ++outstanding_;
    // With fsync "always", answers leave only once what was recorded before
    // them is on disk; one sync serves every stream waiting meanwhile.
    // (The write counts as outstanding from here, so the call stays.)
    if (Journal* journal = service_->journal();
        journal != nullptr &&
        !journal->AwaitDurable(journal->AnswerTicket(),
                               [this] { WriteWhenDurable(); })) {
      return;
    }
    transport_->Write(outgoing_, &write_tag_);
  }

  void WriteWhenDurable() {
    absl::MutexLock l(&mu_);
    transport_->Write(outgoing_, &write_tag_);
  }

  void MaybeFinishLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !read_closed_) return;
    FinishLocked(status);
  }

  void FinishLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    finished_ = true;  // parked answers are refused from now on
    ++outstanding_;
    transport_->Finish(status, &finish_tag_);
  }

  // Called once gRPC holds none of the call's tags. What the client never
  // acknowledged goes back first (the call is finished, so none of it can
  // come back to this stream's own parked calls), then the sink is closed
  // (those parked calls are withdrawn), then the session learns the stream
  // is gone: at once if the client closed it cleanly, or after its lease if
  // the client vanished (killed, cut off, forked).
  void Destroy() {
    std::vector<std::function<void()>> give_backs;
    bool held_much;
    {
      absl::MutexLock l(&mu_);
      TakeAllGiveBacksLocked(&give_backs);
      held_much = peak_unsent_bytes_ >= kReturnMemoryAfterBytes;
    }
    GiveBackAll(give_backs);
    service_->open_streams().fetch_sub(1, std::memory_order_relaxed);
    sink_->Close();
    if (session_ != nullptr) {  // null for a stream refused at the door
      const bool clean = !transport_->IsCancelled();
      Log(LogLevel::kInfo, "connection_closed",
          absl::StrCat(
              "the stream from ", peer_,
              clean ? " ended" : " was cut off (its session waits its lease)"),
          {{"peer", peer_}, {"clean", clean}});
      service_->sessions()->Detach(session_, /*now=*/clean);
    }
    delete this;
    // What its answers took goes back to the system, not just to the heap.
    if (held_much) ReturnFreeMemorySoon();
  }

  // A response's framing inside a ResponseFrame (tag and length).
  static constexpr int64_t kResponseFraming = 6;

  ManagerService* const service_;
  RpcThreads* const threads_;
  grpc::ServerCompletionQueue* const cq_;
  const int64_t frame_limit_;
  const int64_t max_unsent_bytes_;
  const std::unique_ptr<SessionTransport> transport_;
  CallTag new_call_tag_{this, kNewCall};
  CallTag read_tag_{this, kRead};
  CallTag write_tag_{this, kWrite};
  CallTag resume_tag_{this, kResume};
  CallTag finish_tag_{this, kFinish};
  CallTag done_tag_{this, kDone};
  // Set when the call arrives, before any event can touch them.
  std::shared_ptr<SessionSink> sink_;
  std::shared_ptr<ClientSession> session_;
  Access access_;  // what this stream's caller may do; set with session_
  pb::RequestFrame incoming_;  // touched only by the read chain
  absl::Time slice_start_;     // the same
  absl::Time last_frame_end_;  // the same
  std::string peer_;           // set when the call arrives

  absl::Mutex mu_;
  // Operations started and not yet completed, the done event included.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  bool yielding_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool sending_metadata_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // Bytes of answers queued or being written (framing not counted).
  int64_t unsent_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t peak_unsent_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t writing_bytes_ ABSL_GUARDED_BY(mu_) = 0;  // of outgoing_
  uint64_t frames_written_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t frames_acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  pb::ResponseFrame outgoing_ ABSL_GUARDED_BY(mu_);
  std::deque<Outgoing> pending_ ABSL_GUARDED_BY(mu_);
  // Give-backs of the answers in outgoing_, by kind.
  std::vector<std::function<void()>> writing_unwritten_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> writing_unreceived_ ABSL_GUARDED_BY(mu_);
  std::deque<Unreceived> unreceived_ ABSL_GUARDED_BY(mu_);
};

bool SessionSink::Deliver(pb::Response response,
                          std::function<void()> give_back, GiveBack when) {
  absl::MutexLock l(&mu_);
  return call_ != nullptr &&
         call_->SendLater(std::move(response), std::move(give_back), when);
}

}  // namespace

void AwaitSessionCall(ManagerService* service, RpcThreads* threads,
                      grpc::ServerCompletionQueue* cq) {
  SessionCall::AwaitNext(service, threads, cq);
}

void ServeSessionCall(ManagerService* service, RpcThreads* threads,
                      std::unique_ptr<SessionTransport> transport) {
  SessionCall::Serve(service, threads, std::move(transport));
}

}  // namespace mproc
