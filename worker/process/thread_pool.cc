#include "worker/process/thread_pool.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <typeinfo>

#include "absl/strings/str_cat.h"
#include "worker/process/process.h"

namespace mproc {
namespace thread_pool_internal {

absl::Status ThrownStatus(const std::exception& e) {
  int demangled_ok = -1;
  char* demangled =
      abi::__cxa_demangle(typeid(e).name(), nullptr, nullptr, &demangled_ok);
  std::string type = demangled_ok == 0 ? demangled : typeid(e).name();
  std::free(demangled);
  return absl::UnknownError(absl::StrCat("task threw ", type, ": ", e.what()));
}

absl::Status ThrownUnknown() {
  return absl::UnknownError(
      "task threw something that is not a std::exception");
}

absl::Status NotReady(absl::Duration timeout) {
  return absl::DeadlineExceededError(absl::StrCat(
      "the result was not ready within ", absl::FormatDuration(timeout)));
}

absl::Status CancelledBeforeStart() {
  return absl::CancelledError(
      "Cancelled: the ThreadPool was terminated before the task started");
}

Core::Core(int threads) {
  // absl's lock-order checking (on in Debian's build) updates a global
  // graph on every lock and every mutex's end: with a mutex per result, it
  // took 60 % of a small task's time. The process table and the client
  // library turn it off the same way.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  workers_.reserve(threads);
  for (int i = 0; i < threads; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  callback_thread_ = std::thread([this] { CallbackLoop(); });
}

Core::~Core() {
  Terminate();
  Join().IgnoreError();
}

absl::Status Core::Submit(std::function<void()> run,
                          std::function<void()> cancel) {
  absl::MutexLock l(&mu_);
  if (closed_) {
    return absl::FailedPreconditionError(
        "the ThreadPool is closed: it takes no more tasks");
  }
  jobs_.push_back(Job{std::move(run), std::move(cancel)});
  queued_.fetch_add(1, std::memory_order_release);
  // A spinning worker takes one job (it checks jobs_ under the lock once
  // it stops spinning); a sleeper is woken for any more.
  if (idle_workers_ > 0 &&
      (spinning_.load(std::memory_order_acquire) == 0 || jobs_.size() > 1)) {
    work_cv_.Signal();
  }
  return absl::OkStatus();
}

void Core::PostCallback(std::function<void()> callback) {
  {
    absl::MutexLock l(&mu_);
    if (!callbacks_ended_) {
      callbacks_.push_back(std::move(callback));
      callback_cv_.Signal();
      return;
    }
  }
  callback();  // a submission to a pool that has ended
}

void Core::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
  work_cv_.SignalAll();
  callback_cv_.Signal();
}

void Core::Terminate() {
  std::deque<Job> dropped;
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    dropped.swap(jobs_);
    queued_.store(0, std::memory_order_relaxed);
    running_ += static_cast<int64_t>(dropped.size());
    work_cv_.SignalAll();
  }
  for (Job& job : dropped) job.cancel();
  absl::MutexLock l(&mu_);
  running_ -= static_cast<int64_t>(dropped.size());
  callback_cv_.Signal();
}

absl::Status Core::Join() {
  {
    absl::MutexLock l(&mu_);
    if (!closed_) {
      return absl::FailedPreconditionError(
          "Join of a ThreadPool that is not closed: Close or Terminate it "
          "first");
    }
    if (joining_) {  // another caller joins the threads: wait for it
      mu_.Await(absl::Condition(&joined_));
      return absl::OkStatus();
    }
    joining_ = true;
  }
  for (std::thread& t : workers_) t.join();
  callback_thread_.join();
  absl::MutexLock l(&mu_);
  joined_ = true;
  return absl::OkStatus();
}

void Core::WorkerLoop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    if (jobs_.empty() && !closed_) {
      int none = 0;
      if (spinning_.compare_exchange_strong(none, 1)) {
        mu_.Unlock();
        for (int i = 0; i < kSpinsBeforeSleep &&
                        queued_.load(std::memory_order_acquire) == 0;
             ++i) {
          SpinPause();
        }
        spinning_.store(0, std::memory_order_release);
        mu_.Lock();
      }
      while (jobs_.empty() && !closed_) {
        ++idle_workers_;
        work_cv_.Wait(&mu_);
        --idle_workers_;
      }
    }
    if (jobs_.empty()) return;  // closed and drained
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    queued_.fetch_sub(1, std::memory_order_relaxed);
    // More were queued while this thread spun: wake a sleeper for them.
    if (!jobs_.empty() && idle_workers_ > 0) work_cv_.Signal();
    ++running_;
    mu_.Unlock();
    job.run();
    job = Job{};  // what the task captured goes before the count drops
    mu_.Lock();
    if (--running_ == 0 && closed_ && jobs_.empty()) callback_cv_.Signal();
  }
}

void Core::CallbackLoop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // Ends once closed, with no task left to post a callback.
    while (callbacks_.empty() && !(closed_ && jobs_.empty() && running_ == 0)) {
      callback_cv_.Wait(&mu_);
    }
    if (callbacks_.empty()) {
      callbacks_ended_ = true;
      return;
    }
    std::function<void()> callback = std::move(callbacks_.front());
    callbacks_.pop_front();
    ++running_;
    mu_.Unlock();
    callback();
    callback = nullptr;
    mu_.Lock();
    --running_;
  }
}

}  // namespace thread_pool_internal

ThreadPool::ThreadPool(int threads)
    : core_(std::make_shared<thread_pool_internal::Core>(
          threads > 0 ? threads : CpuCount())) {}

ThreadPool::~ThreadPool() {
  core_->Terminate();
  core_->Join().IgnoreError();
}

size_t ThreadPool::ChunkSize(size_t items, int64_t chunksize) const {
  if (chunksize > 0) return static_cast<size_t>(chunksize);
  // Python's choice: about four chunks per thread.
  const size_t per = static_cast<size_t>(threads()) * 4;
  return std::max<size_t>(1, (items + per - 1) / per);
}

}  // namespace mproc
