#include "server/manager_service.h"

#include <deque>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/grpc_status.h"

namespace mproc {
namespace {

constexpr char kAuthkeyHeader[] = "mproc-authkey";
constexpr char kInstanceHeader[] = "mproc-instance";
constexpr char kMaxMessageHeader[] = "mproc-max-message-bytes";

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

// DESIGN: one reactor per client connection. Reads are always outstanding
// (one at a time); each frame read is executed at once on the reaction
// thread, and its responses are written in order. While a write is in
// flight, later responses accumulate in `pending_` and go out together as
// one frame, so a pipelining client gets batched replies. The reactor
// finishes once the client has half-closed and all writes are done, or on
// the first failed read or write.
class SessionReactor
    : public grpc::ServerBidiReactor<pb::RequestFrame, pb::ResponseFrame> {
 public:
  SessionReactor(Dispatcher* dispatcher, const grpc::Status& auth)
      : dispatcher_(dispatcher) {
    if (!auth.ok()) {
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
    dispatcher_->ExecuteFrame(incoming_, &out);
    incoming_.Clear();
    {
      // Queue the answers before the next read can complete, so a
      // half-close seen on another thread cannot finish the call first.
      absl::MutexLock l(&mu_);
      // A failed write may have finished the call meanwhile: then there is
      // no one to answer, and no more reads may start.
      if (finished_) return;
      if (writing_) {
        pending_.push_back(std::move(out));
      } else {
        writing_ = true;
        outgoing_ = std::move(out);
        StartWrite(&outgoing_);
      }
    }
    StartRead(&incoming_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock l(&mu_);
    writing_ = false;
    if (!ok) {
      read_closed_ = true;
      MaybeFinishLocked(grpc::Status::CANCELLED);
      return;
    }
    if (!pending_.empty()) {
      outgoing_.Clear();
      for (pb::ResponseFrame& frame : pending_) {
        for (pb::Response& r : *frame.mutable_responses()) {
          *outgoing_.add_responses() = std::move(r);
        }
      }
      pending_.clear();
      writing_ = true;
      StartWrite(&outgoing_);
      return;
    }
    MaybeFinishLocked(grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  void MaybeFinishLocked(const grpc::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (finished_ || writing_ || !read_closed_) return;
    finished_ = true;
    Finish(status);
  }

  Dispatcher* const dispatcher_;
  pb::RequestFrame incoming_;  // touched only by the read chain

  absl::Mutex mu_;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool read_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  pb::ResponseFrame outgoing_ ABSL_GUARDED_BY(mu_);
  std::deque<pb::ResponseFrame> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

ManagerService::ManagerService(Dispatcher* dispatcher, std::string authkey,
                               int64_t max_message_bytes)
    : dispatcher_(dispatcher),
      authkey_(std::move(authkey)),
      max_message_bytes_(max_message_bytes) {}

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
  return new SessionReactor(dispatcher_, auth);
}

}  // namespace mproc
