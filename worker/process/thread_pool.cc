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
  return absl::OkStatus();
}

void Core::PostCallback(std::function<void()> callback) {
  absl::MutexLock l(&mu_);
  callbacks_.push_back(std::move(callback));
}

void Core::Close() {
  absl::MutexLock l(&mu_);
  closed_ = true;
}

void Core::Terminate() {
  std::deque<Job> dropped;
  {
    absl::MutexLock l(&mu_);
    closed_ = true;
    dropped.swap(jobs_);
    running_ += static_cast<int64_t>(dropped.size());
  }
  for (Job& job : dropped) job.cancel();
  absl::MutexLock l(&mu_);
  running_ -= static_cast<int64_t>(dropped.size());
}

absl::Status Core::Join() {
  {
    absl::MutexLock l(&mu_);
    if (!closed_) {
      return absl::FailedPreconditionError(
          "Join of a ThreadPool that is not closed: Close or Terminate it "
          "first");
    }
    if (joined_) return absl::OkStatus();
    joined_ = true;
  }
  for (std::thread& t : workers_) t.join();
  callback_thread_.join();
  return absl::OkStatus();
}

void Core::WorkerLoop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !jobs_.empty() || closed_;
    };
    mu_.Await(absl::Condition(&work));
    if (jobs_.empty()) return;  // closed and drained
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    mu_.Unlock();
    job.run();
    job = Job{};  // what the task captured goes before the count drops
    mu_.Lock();
    --running_;
  }
}

void Core::CallbackLoop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // Ends once closed, with no task left to post a callback.
    auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return !callbacks_.empty() || (closed_ && jobs_.empty() && running_ == 0);
    };
    mu_.Await(absl::Condition(&work));
    if (callbacks_.empty()) return;
    std::function<void()> callback = std::move(callbacks_.front());
    callbacks_.pop_front();
    mu_.Unlock();
    callback();
    callback = nullptr;
    mu_.Lock();
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
