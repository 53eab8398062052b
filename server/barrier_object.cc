#include "server/barrier_object.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/object_errors.h"

namespace mproc {
namespace {
constexpr int kWaiters = 0;
}  // namespace

BarrierObject::BarrierObject(std::string name, int64_t parties,
                             absl::Duration timeout, DeadlineTimer* timer)
    : ParkingObject(pb::BARRIER, std::move(name), timer, 1),
      parties_(parties),
      default_timeout_(timeout) {}

int64_t BarrierObject::Size() const {
  absl::MutexLock l(&mu_);
  return Waiting(kWaiters);
}

Map BarrierObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"parties", parties_},
             {"n_waiting", Waiting(kWaiters)},
             {"broken", broken_}};
}

bool BarrierObject::Broken() const {
  absl::MutexLock l(&mu_);
  return broken_;
}

absl::Status BarrierObject::BrokenError() const {
  return BrokenBarrierError(Describe());
}

absl::StatusOr<Value> BarrierObject::TimeoutAnswer(int) const {
  return BrokenError();
}

void BarrierObject::OnTimeout(int, Waiter waiter) {
  // A timed-out wait breaks the barrier for everyone, as in Python.
  broken_ = true;
  waiter.sink->Deliver(ErrorAnswer(waiter.request_id, BrokenError()));
  FailAll(kWaiters, BrokenError());
}

absl::StatusOr<Value> BarrierObject::Wait(std::optional<absl::Duration> timeout,
                                          CallContext* call) {
  absl::MutexLock l(&mu_);
  if (broken_) return BrokenError();
  const int64_t index = Waiting(kWaiters);
  if (index + 1 < parties_) {
    Waiter waiter;
    waiter.count = index;  // its arrival index
    return Park(kWaiters, std::move(waiter), timeout.value_or(default_timeout_),
                call, "wait");
  }
  // The last party: release everyone who is still there.
  while (Waiting(kWaiters) > 0) {
    Waiter waiter = PopWaiter(kWaiters);
    waiter.sink->Deliver(Answer(waiter.request_id, waiter.count));
  }
  return index;
}

void BarrierObject::Abort() {
  absl::MutexLock l(&mu_);
  broken_ = true;
  FailAll(kWaiters, BrokenError());
}

void BarrierObject::Reset() {
  absl::MutexLock l(&mu_);
  FailAll(kWaiters, BrokenError());
  broken_ = false;
}

}  // namespace mproc
