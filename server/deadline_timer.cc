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

uint64_t DeadlineTimer::Schedule(absl::Time when,
                                 std::function<void()> callback) {
  absl::MutexLock l(&mu_);
  const uint64_t id = next_id_++;
  due_.emplace(std::make_pair(when, id), std::move(callback));
  when_.emplace(id, when);
  return id;
}

void DeadlineTimer::Cancel(uint64_t id) {
  std::function<void()> dropped;  // destroyed after the lock
  absl::MutexLock l(&mu_);
  auto it = when_.find(id);
  if (it == when_.end()) return;
  auto entry = due_.find(std::make_pair(it->second, id));
  dropped = std::move(entry->second);
  due_.erase(entry);
  when_.erase(it);
}

size_t DeadlineTimer::Pending() const {
  absl::MutexLock l(&mu_);
  return due_.size();
}

void DeadlineTimer::Loop() {
  absl::MutexLock l(&mu_);
  for (;;) {
    // Wakes for a stop, or when the earliest entry changes or comes due.
    const absl::Time earliest =
        due_.empty() ? absl::InfiniteFuture() : due_.begin()->first.first;
    auto changed = [this, earliest]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ ||
             (!due_.empty() && due_.begin()->first.first < earliest);
    };
    mu_.AwaitWithDeadline(absl::Condition(&changed), earliest);
    if (stopping_) return;
    const absl::Time now = absl::Now();
    std::vector<std::function<void()>> ready;
    while (!due_.empty() && due_.begin()->first.first <= now) {
      ready.push_back(std::move(due_.begin()->second));
      when_.erase(due_.begin()->first.second);
      due_.erase(due_.begin());
    }
    if (ready.empty()) continue;
    mu_.Unlock();
    for (std::function<void()>& callback : ready) callback();
    ready.clear();  // what they hold goes with no lock held
    mu_.Lock();
  }
}

}  // namespace mproc
