#include "server/semaphore_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace mproc {
namespace {
constexpr int kAcquirers = 0;

uintptr_t SessionKey(const std::shared_ptr<ReplySink>& sink) {
  return reinterpret_cast<uintptr_t>(sink.get());
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
    holders[Value(holding.sink->peer())] = holding.permits;
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

bool SemaphoreObject::CreditLocked(const std::shared_ptr<ReplySink>& sink) {
  Holding& holding = holdings_[SessionKey(sink)];
  if (holding.permits == 0) {
    holding.close_hook =
        sink->AddCloseHook(Later(&SemaphoreObject::SessionGone, SessionKey(sink)));
    if (holding.close_hook == 0) {
      holdings_.erase(SessionKey(sink));
      return false;
    }
    holding.sink = sink;
  }
  ++holding.permits;
  --value_;
  return true;
}

void SemaphoreObject::ServeWaitersLocked() {
  while (value_ > 0 && Waiting(kAcquirers) > 0) {
    Waiter next = PopWaiter(kAcquirers);
    if (!CreditLocked(next.sink)) continue;  // its session ended
    if (!next.sink->Deliver(Answer(next.request_id, true))) {
      // Undeliverable: the session is ending; its close hook would give the
      // permit back, but do it now.
      Holding& holding = holdings_[SessionKey(next.sink)];
      ++value_;
      if (--holding.permits == 0) {
        next.sink->RemoveCloseHook(holding.close_hook);
        holdings_.erase(SessionKey(next.sink));
      }
    }
  }
}

void SemaphoreObject::SessionGone(uintptr_t session) {
  absl::MutexLock l(&mu_);
  auto it = holdings_.find(session);
  if (it == holdings_.end()) return;
  value_ += it->second.permits;
  holdings_.erase(it);
  ServeWaitersLocked();
}

absl::StatusOr<Value> SemaphoreObject::Acquire(bool block,
                                               absl::Duration timeout,
                                               CallContext* call) {
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(),
        ": permits are held by client sessions; use the client library, not "
        "a batch or unary call"));
  }
  absl::MutexLock l(&mu_);
  if (value_ > 0 && Waiting(kAcquirers) == 0) return CreditLocked(call->sink);
  if (!block || timeout <= absl::ZeroDuration()) return false;
  return Park(kAcquirers, Waiter{}, timeout, call, "acquire");
}

absl::Status SemaphoreObject::Release(int64_t n, CallContext* call) {
  if (n < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(), ": release needs n >= 1, got ", n));
  }
  absl::MutexLock l(&mu_);
  if (bounded_ && value_ + n > initial_) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": released too many times (value ", value_, " + ", n,
        " would exceed the initial ", initial_, ")"));
  }
  // Permits this session holds are returned first; the rest are new ones
  // (an unbounded semaphore may grow, as in Python).
  if (call->sink != nullptr) {
    auto it = holdings_.find(SessionKey(call->sink));
    if (it != holdings_.end()) {
      const int64_t returned = std::min(n, it->second.permits);
      it->second.permits -= returned;
      if (it->second.permits == 0) {
        call->sink->RemoveCloseHook(it->second.close_hook);
        holdings_.erase(it);
      }
    }
  }
  value_ += n;
  ServeWaitersLocked();
  return absl::OkStatus();
}

}  // namespace mproc
