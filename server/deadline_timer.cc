#include "server/deadline_timer.h"

#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace mproc {

DeadlineTimer& DeadlineTimer::Default() {
  static DeadlineTimer* timer = new DeadlineTimer();
  return *timer;
}

DeadlineTimer::DeadlineTimer() : thread_([this] { Loop(); }) {}

DeadlineTimer::~DeadlineTimer() {
  {
    absl::MutexLock l(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void DeadlineTimer::Schedule(absl::Time when, std::function<void()> callback) {
  absl::MutexLock l(&mu_);
  due_.emplace(when, std::move(callback));
}

void DeadlineTimer::Loop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // Wakes for a stop, or when the earliest entry changes or comes due.
    const absl::Time earliest =
        due_.empty() ? absl::InfiniteFuture() : due_.begin()->first;
    auto changed = [this, earliest]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || (!due_.empty() && due_.begin()->first < earliest);
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), earliest);
    if (stopping_) return;
    const absl::Time now = absl::Now();
    std::vector<std::function<void()>> ready;
    while (!due_.empty() && due_.begin()->first <= now) {
      ready.push_back(std::move(due_.begin()->second));
      due_.erase(due_.begin());
    }
    if (ready.empty()) continue;
    mu_.Unlock();
    for (std::function<void()>& callback : ready) callback();
    mu_.Lock();
  }
}

}  // namespace mproc
