#include "server/semaphore_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {
constexpr int kAcquirers = 0;

uintptr_t SessionKey(const std::shared_ptr<ClientSession>& session) {
  return reinterpret_cast<uintptr_t>(session.get());
}
}  // namespace

SemaphoreObject::SemaphoreObject(std::string name, int64_t value, bool bounded,
                                 DeadlineTimer* timer)
    : ParkingObject(pb::SEMAPHORE, std::move(name), timer, 1),
      initial_(value),
      bounded_(bounded),
      value_(value) {}

int64_t SemaphoreObject::Size() const {
  absl::MutexLock l(&mu_);
  return value_;
}

Map SemaphoreObject::Details() const {
  absl::MutexLock l(&mu_);
  Map holders;
  for (const auto& [key, holding] : holdings_) {
    holders[Value(holding.session->peer())] = holding.permits;
  }
  return Map{{"bounded", bounded_},
             {"initial", initial_},
             {"value", value_},
             {"waiters", Waiting(kAcquirers)},
             {"holders", std::move(holders)}};
}

absl::StatusOr<Value> SemaphoreObject::TimeoutAnswer(int) const {
  return false;
}

bool SemaphoreObject::CreditLocked(
    const std::shared_ptr<ClientSession>& session) {
  Holding& holding = holdings_[SessionKey(session)];
  if (holding.permits == 0) {
    holding.close_hook = session->AddHoldHook(
        Later(&SemaphoreObject::SessionGone, SessionKey(session)));
    if (holding.close_hook == 0) {
      holdings_.erase(SessionKey(session));
      return false;
    }
    holding.session = session;
    if (!session->losses().empty()) session->losses().Remove(Describe());
  }
  ++holding.permits;
  --value_;
  return true;
}

void SemaphoreObject::ServeWaitersLocked() {
  while (value_ > 0 && Waiting(kAcquirers) > 0) {
    Waiter next = PopWaiter(kAcquirers);
    if (!CreditLocked(next.session)) continue;  // its session expired
    if (!next.sink->Deliver(Answer(next.request_id, true))) {
      // Undeliverable (its stream ended): take the permit back.
      Holding& holding = holdings_[SessionKey(next.session)];
      ++value_;
      if (--holding.permits == 0) {
        next.session->RemoveHoldHook(holding.close_hook);
        holdings_.erase(SessionKey(next.session));
      }
    }
  }
}

void SemaphoreObject::SessionGone(uintptr_t session) {
  absl::MutexLock l(&mu_);
  auto it = holdings_.find(session);
  if (it == holdings_.end()) return;
  it->second.session->losses().Add(Describe());
  value_ += it->second.permits;
  holdings_.erase(it);
  ServeWaitersLocked();
}

absl::StatusOr<Value> SemaphoreObject::Acquire(bool block,
                                               absl::Duration timeout,
                                               CallContext* call) {
  if (call->sink == nullptr || call->session == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(),
        ": permits are held by client sessions; use the client library, not "
        "a batch or unary call"));
  }
  absl::MutexLock l(&mu_);
  if (value_ > 0 && Waiting(kAcquirers) == 0) {
    return CreditLocked(call->session);
  }
  if (!block || timeout <= absl::ZeroDuration()) return false;
  return Park(kAcquirers, Waiter{}, timeout, call, "acquire");
}

absl::Status SemaphoreObject::Release(int64_t n, CallContext* call) {
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(), ": release needs n >= 1, got ", n));
  }
  if (call->session == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(),
        ": permits are held by client sessions; use the client library, not "
        "a batch or unary call"));
  }
  absl::MutexLock l(&mu_);
  auto it = holdings_.find(SessionKey(call->session));
  if (it == holdings_.end() && !call->session->losses().empty()) {
    // Its permits went back at expiry (or with the manager's restart); a
    // release now would mint new ones.
    const LossRecord::Cause cause = call->session->losses().CauseOf(Describe());
    if (cause != LossRecord::Cause::kNone) {
      return LostHolding(cause, Describe(), "release");
    }
  }
  int64_t after;
  if (__builtin_add_overflow(value_, n, &after)) {
    return absl::OutOfRangeError(absl::StrCat(Describe(), ": release of ", n,
                                              " with value ", value_,
                                              " overflows a 64-bit count"));
  }
  if (bounded_ && after > initial_) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(), ": released too many times (value ", value_,
                     " + ", n, " would exceed the initial ", initial_, ")"));
  }
  // Permits this session holds are returned first; the rest are new ones
  // (an unbounded semaphore may grow, as in Python).
  if (it != holdings_.end()) {
    const int64_t returned = std::min(n, it->second.permits);
    it->second.permits -= returned;
    if (it->second.permits == 0) {
      call->session->RemoveHoldHook(it->second.close_hook);
      holdings_.erase(it);
    }
  }
  value_ = after;
  ServeWaitersLocked();
  return absl::OkStatus();
}

}  // namespace mproc
