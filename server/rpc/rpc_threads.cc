#include "server/rpc/rpc_threads.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <chrono>

namespace mproc {

AsyncCall::AsyncCall(RpcThreads* threads) : threads_(threads) {
  absl::MutexLock l(&threads_->mu_);
  ++threads_->live_calls_;
}

AsyncCall::~AsyncCall() {
  absl::MutexLock l(&threads_->mu_);
  --threads_->live_calls_;
}

RpcThreads::RpcThreads(grpc::ServerBuilder* builder, int threads,
                       absl::Duration poll_spin)
    : poll_spin_(std::max(poll_spin, absl::ZeroDuration())) {
  for (int i = 0; i < std::max(threads, 1); ++i) {
    queues_.push_back(builder->AddCompletionQueue());
  }
}

RpcThreads::~RpcThreads() { Stop(); }

void RpcThreads::Start(const AwaitCalls& await_calls) {
  for (auto& cq : queues_) {
    await_calls(cq.get());
    threads_.emplace_back([this, q = cq.get()] {
      pthread_setname_np(pthread_self(), kPollThreadName);
      Poll(q);
    });
  }
}

void RpcThreads::Poll(grpc::ServerCompletionQueue* cq) {
  const gpr_timespec no_wait = gpr_inf_past(GPR_CLOCK_MONOTONIC);
  void* tag = nullptr;
  bool ok = false;
  for (;;) {
    // Spin: look again without sleeping, giving way to whatever else may
    // run on this core, until an event comes or poll_spin_ has passed.
    grpc::CompletionQueue::NextStatus status = grpc::CompletionQueue::TIMEOUT;
    if (poll_spin_ > absl::ZeroDuration()) {
      // A steady clock: a wall clock stepped back must not stretch it.
      const auto until = std::chrono::steady_clock::now() +
                         absl::ToChronoNanoseconds(poll_spin_);
      while ((status = cq->AsyncNext(&tag, &ok, no_wait)) ==
                 grpc::CompletionQueue::TIMEOUT &&
             std::chrono::steady_clock::now() < until) {
        sched_yield();
      }
    }
    if (status == grpc::CompletionQueue::SHUTDOWN) return;
    if (status == grpc::CompletionQueue::TIMEOUT && !cq->Next(&tag, &ok)) {
      return;  // shut down while asleep
    }
    auto* t = static_cast<CallTag*>(tag);
    t->call->OnEvent(t->event, ok);
  }
}

void RpcThreads::Stop() {
  {
    absl::MutexLock l(&mu_);
    if (stopped_) return;
    stopped_ = true;
    // A queue must not shut down while a call may still start operations
    // on it; the server's shutdown has cancelled them all, so they end.
    if (!threads_.empty()) {
      mu_.Await(absl::Condition(
          +[](int64_t* live) { return *live == 0; }, &live_calls_));
    }
  }
  for (auto& cq : queues_) cq->Shutdown();
  for (std::thread& t : threads_) t.join();
  if (threads_.empty()) {
    // Never started: drain the queues here.
    for (auto& cq : queues_) {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) {
      }
    }
  }
}

}  // namespace mproc
