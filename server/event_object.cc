#include "server/event_object.h"

#include <utility>

namespace mproc {
namespace {
constexpr int kWaiters = 0;
}  // namespace

EventObject::EventObject(std::string name, DeadlineTimer* timer)
    : ParkingObject(pb::EVENT, std::move(name), timer, 1) {}

int64_t EventObject::Size() const { return IsSet() ? 1 : 0; }

Map EventObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"set", set_}, {"waiters", Waiting(kWaiters)}};
}

absl::StatusOr<Value> EventObject::TimeoutAnswer(int) const { return false; }

void EventObject::Set() {
  absl::MutexLock l(&mu_);
  set_ = true;
  while (Waiting(kWaiters) > 0) {
    Waiter waiter = PopWaiter(kWaiters);
    waiter.sink->Deliver(Answer(waiter.request_id, true));
  }
}

void EventObject::Clear() {
  absl::MutexLock l(&mu_);
  set_ = false;
}

bool EventObject::IsSet() const {
  absl::MutexLock l(&mu_);
  return set_;
}

absl::StatusOr<Value> EventObject::Wait(absl::Duration timeout,
                                        CallContext* call) {
  absl::MutexLock l(&mu_);
  if (set_) return true;
  if (timeout <= absl::ZeroDuration()) return false;
  return Park(kWaiters, Waiter{}, timeout, call, "wait");
}

}  // namespace mproc
