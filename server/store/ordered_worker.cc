#include "server/store/ordered_worker.h"

#include <utility>

namespace mproc {

OrderedWorker::OrderedWorker(size_t max_waiting)
    : max_waiting_(max_waiting < 1 ? 1 : max_waiting),
      thread_([this] { Run(); }) {}

OrderedWorker::~OrderedWorker() {
  Drain().IgnoreError();
  {
    absl::MutexLock l(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void OrderedWorker::Add(std::function<absl::Status()> step) {
  absl::MutexLock l(&mu_);
  auto room = [this] {
    mu_.AssertReaderHeld();
    return waiting_.size() < max_waiting_;
  };
  mu_.Await(absl::Condition(&room));
  waiting_.push_back(std::move(step));
}

absl::Status OrderedWorker::status() const {
  absl::MutexLock l(&mu_);
  return status_;
}

absl::Status OrderedWorker::Drain() {
  absl::MutexLock l(&mu_);
  auto idle = [this] {
    mu_.AssertReaderHeld();
    return waiting_.empty() && !running_step_;
  };
  mu_.Await(absl::Condition(&idle));
  return status_;
}

void OrderedWorker::Run() {
  for (;;) {
    std::function<absl::Status()> step;
    bool dropping;
    {
      absl::MutexLock l(&mu_);
      auto work = [this] {
        mu_.AssertReaderHeld();
        return stop_ || !waiting_.empty();
      };
      mu_.Await(absl::Condition(&work));
      if (waiting_.empty()) return;  // stopping, and nothing is left
      step = std::move(waiting_.front());
      waiting_.pop_front();
      dropping = !status_.ok();  // after an earlier failure: not run
      running_step_ = true;
    }
    absl::Status s = dropping ? absl::OkStatus() : step();
    step = nullptr;  // what it held goes before Drain returns
    absl::MutexLock l(&mu_);
    running_step_ = false;
    if (status_.ok()) status_ = std::move(s);
  }
}

}  // namespace mproc
