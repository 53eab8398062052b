#include "server/condition_object.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {
constexpr int kWaiters = 0;

}  // namespace

ConditionObject::ConditionObject(std::string name,
                                 std::shared_ptr<LockObject> lock,
                                 DeadlineTimer* timer)
    : ParkingObject(pb::CONDITION, std::move(name), timer, 1),
      lock_(std::move(lock)) {}

int64_t ConditionObject::Size() const {
  absl::MutexLock l(&mu_);
  return Waiting(kWaiters);
}

Map ConditionObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"lock", lock_->name()}, {"waiters", Waiting(kWaiters)}};
}

absl::StatusOr<Value> ConditionObject::TimeoutAnswer(int) const {
  return false;
}

void ConditionObject::OnTimeout(int, Waiter waiter) {
  // Re-acquire before answering false, as Python's wait(timeout) does.
  lock_->AcquireFor(CallOf(waiter), waiter.thread, waiter.count, false);
}

absl::StatusOr<Value> ConditionObject::Wait(int64_t thread,
                                            absl::Duration timeout,
                                            CallContext* call) {
  if (call->sink == nullptr || call->session == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": wait needs a session (the client library)"));
  }
  absl::MutexLock l(&mu_);
  absl::StatusOr<int64_t> held = lock_->ReleaseAllFor(*call, thread);
  if (!held.ok()) return held.status();
  Waiter waiter;
  waiter.thread = thread;
  waiter.count = *held;
  if (timeout <= absl::ZeroDuration()) {
    // Timed out at once: re-acquire, then answer false.
    call->parked = true;
    lock_->AcquireFor(*call, thread, *held, false);
    return Value();
  }
  return Park(kWaiters, std::move(waiter), timeout, call, "wait");
}

absl::StatusOr<int64_t> ConditionObject::Notify(int64_t n,
                                                const CallContext& call,
                                                std::optional<int64_t> thread) {
  absl::MutexLock l(&mu_);
  if (absl::Status held = lock_->CheckHeldBy(call, thread, "notify");
      !held.ok()) {
    return held;
  }
  int64_t woken = 0;
  while (Waiting(kWaiters) > 0 && (n < 0 || woken < n)) {
    Waiter waiter = PopWaiter(kWaiters);
    lock_->AcquireFor(CallOf(waiter), waiter.thread, waiter.count, true);
    ++woken;
  }
  return woken;
}

}  // namespace mproc
