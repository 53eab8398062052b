#include "server/rpc/health_service.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {

using grpc::health::v1::HealthCheckRequest;
using grpc::health::v1::HealthCheckResponse;

grpc::Status TooLong() {
  return grpc::Status(
      grpc::StatusCode::INVALID_ARGUMENT,
      absl::StrCat("the service name is over ",
                   HealthService::kMaxServiceNameBytes, " bytes"));
}

// One Check: awaited, answered at once on the polling thread, finished.
class CheckCall : public AsyncCall {
 public:
  CheckCall(HealthService* health, RpcThreads* threads,
            grpc::ServerCompletionQueue* cq)
      : AsyncCall(threads),
        health_(health),
        threads_(threads),
        cq_(cq),
        responder_(&context_) {
    health_->service()->RequestCheck(&context_, &request_, &responder_, cq_,
                                     cq_, &arrived_tag_);
  }

  void OnEvent(int event, bool ok) override {
    if (event == kFinished || !ok) {  // answered, or the server stopped
      delete this;
      return;
    }
    new CheckCall(health_, threads_, cq_);
    if (request_.service().size() > HealthService::kMaxServiceNameBytes) {
      responder_.FinishWithError(TooLong(), &finished_tag_);
      return;
    }
    HealthService::ServingStatus status;
    if (!health_->Lookup(request_.service(), &status)) {
      responder_.FinishWithError(
          grpc::Status(
              grpc::StatusCode::NOT_FOUND,
              absl::StrCat("unknown service '", request_.service(), "'")),
          &finished_tag_);
      return;
    }
    response_.set_status(status);
    responder_.Finish(response_, grpc::Status::OK, &finished_tag_);
  }

 private:
  enum Event { kArrived, kFinished };

  HealthService* const health_;
  RpcThreads* const threads_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;
  HealthCheckResponse response_;
  grpc::ServerAsyncResponseWriter<HealthCheckResponse> responder_;
  CallTag arrived_tag_{this, kArrived};
  CallTag finished_tag_{this, kFinished};
};

// DESIGN: one Watch stream, from the request for a call until gRPC holds
// none of its tags. At most one write is in flight; a status that changes
// meanwhile is sent when it completes, only the newest (a watcher wants
// the present, not the history). The call ends when the client cancels
// (the done event) or a write fails, and is deleted once its finish and
// done events are both back. Lock order: the service's mutex, then ours.
class WatchCall : public AsyncCall, public HealthService::Watcher {
 public:
  WatchCall(HealthService* health, RpcThreads* threads,
            grpc::ServerCompletionQueue* cq)
      : AsyncCall(threads),
        health_(health),
        threads_(threads),
        cq_(cq),
        writer_(&context_) {
    context_.AsyncNotifyWhenDone(&done_tag_);
    health_->service()->RequestWatch(&context_, &request_, &writer_, cq_, cq_,
                                     &new_call_tag_);
  }

  void OnEvent(int event, bool ok) override {
    if (event == kNewCall) {
      if (!ok) {  // the server is shutting down: no call, no done event
        delete this;
        return;
      }
      new WatchCall(health_, threads_, cq_);
      {
        absl::MutexLock l(&mu_);
        outstanding_ = 1;  // the done event
        if (request_.service().size() > HealthService::kMaxServiceNameBytes) {
          ended_ = finished_ = true;
          ++outstanding_;
          writer_.Finish(TooLong(), &finish_tag_);
          return;
        }
        watching_ = true;
      }
      health_->AddWatcher(request_.service(), this);  // sends the status
      return;
    }
    bool gone;
    bool watching;
    {
      absl::MutexLock l(&mu_);
      watching = watching_;
      --outstanding_;
      switch (event) {
        case kWrite:
          writing_ = false;
          if (!ok) ended_ = true;
          break;
        case kDone:
          ended_ = true;  // cancelled by the client, or the server stops
          break;
        case kFinish:
          break;
      }
      if (ended_ && !finished_ && !writing_) {
        finished_ = true;
        ++outstanding_;
        writer_.Finish(grpc::Status::OK, &finish_tag_);
      } else {
        MaybeWriteLocked();
      }
      gone = outstanding_ == 0;
    }
    if (gone) {
      if (watching) health_->RemoveWatcher(request_.service(), this);
      delete this;
    }
  }

  void OnStatus(HealthService::ServingStatus status) override {
    absl::MutexLock l(&mu_);
    latest_ = status;
    MaybeWriteLocked();
  }

 private:
  enum Event { kNewCall, kWrite, kFinish, kDone };

  void MaybeWriteLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (writing_ || ended_ || finished_ || latest_ == sent_) return;
    sent_ = latest_;
    response_.set_status(latest_);
    writing_ = true;
    ++outstanding_;
    writer_.Write(response_, &write_tag_);
  }

  HealthService* const health_;
  RpcThreads* const threads_;
  grpc::ServerCompletionQueue* const cq_;
  grpc::ServerContext context_;
  HealthCheckRequest request_;  // set when the call arrives
  grpc::ServerAsyncWriter<HealthCheckResponse> writer_;
  CallTag new_call_tag_{this, kNewCall};
  CallTag write_tag_{this, kWrite};
  CallTag finish_tag_{this, kFinish};
  CallTag done_tag_{this, kDone};

  absl::Mutex mu_;
  // Operations started and not yet completed, the done event included.
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
  bool watching_ ABSL_GUARDED_BY(mu_) = false;  // added to the service
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  // -1: none yet. The status last handed to gRPC, and the newest known.
  int sent_ ABSL_GUARDED_BY(mu_) = -1;
  HealthService::ServingStatus latest_ ABSL_GUARDED_BY(mu_) =
      HealthCheckResponse::SERVICE_UNKNOWN;
  HealthCheckResponse response_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

HealthService::HealthService() {
  absl::MutexLock l(&mu_);
  statuses_[""] = HealthCheckResponse::SERVING;
}

void HealthService::AwaitCalls(RpcThreads* threads,
                               grpc::ServerCompletionQueue* cq) {
  new CheckCall(this, threads, cq);
  new WatchCall(this, threads, cq);
}

void HealthService::SetServing(const std::string& service, bool serving) {
  absl::MutexLock l(&mu_);
  if (shut_down_) return;
  SetLocked(service, serving ? HealthCheckResponse::SERVING
                             : HealthCheckResponse::NOT_SERVING);
}

void HealthService::Shutdown() {
  absl::MutexLock l(&mu_);
  if (shut_down_) return;
  shut_down_ = true;
  // Watched services never set are told too, as gRPC's own service does.
  std::vector<std::string> services;
  for (const auto& [service, status] : statuses_) services.push_back(service);
  for (const auto& [service, watchers] : watchers_) {
    if (!statuses_.contains(service)) services.push_back(service);
  }
  for (const std::string& service : services) {
    SetLocked(service, HealthCheckResponse::NOT_SERVING);
  }
}

bool HealthService::Lookup(const std::string& service,
                           ServingStatus* status) const {
  absl::MutexLock l(&mu_);
  auto it = statuses_.find(service);
  if (it == statuses_.end()) return false;
  *status = it->second;
  return true;
}

void HealthService::AddWatcher(const std::string& service, Watcher* watcher) {
  absl::MutexLock l(&mu_);
  watchers_[service].insert(watcher);
  auto it = statuses_.find(service);
  watcher->OnStatus(it == statuses_.end() ? HealthCheckResponse::SERVICE_UNKNOWN
                                          : it->second);
}

void HealthService::RemoveWatcher(const std::string& service,
                                  Watcher* watcher) {
  absl::MutexLock l(&mu_);
  auto it = watchers_.find(service);
  if (it == watchers_.end()) return;
  it->second.erase(watcher);
  if (it->second.empty()) watchers_.erase(it);
}

void HealthService::SetLocked(const std::string& service,
                              ServingStatus status) {
  statuses_[service] = status;
  auto it = watchers_.find(service);
  if (it == watchers_.end()) return;
  for (Watcher* watcher : it->second) watcher->OnStatus(status);
}

}  // namespace mproc
