#include "server/lock_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/value_codec.h"
#include "server/errors.h"

namespace mproc {
namespace {
constexpr int kAcquirers = 0;
constexpr char kTokenCeilingKey[] = "g";

absl::Status NeedsSession(const SharedObject& object) {
  return absl::FailedPreconditionError(absl::StrCat(
      object.Describe(),
      ": locks are held by client sessions; use the client library, not a "
      "batch or unary call"));
}
}  // namespace

LockObject::LockObject(std::string name, bool reentrant, DeadlineTimer* timer)
    : ParkingObject(pb::LOCK, std::move(name), timer, 1),
      reentrant_(reentrant) {}

int64_t LockObject::Size() const { return Locked() ? 1 : 0; }

bool LockObject::Locked() const {
  absl::MutexLock l(&mu_);
  return holder_.has_value();
}

Map LockObject::Details() const {
  absl::MutexLock l(&mu_);
  Map details{{"reentrant", reentrant_},
              {"locked", holder_.has_value()},
              {"waiters", Waiting(kAcquirers)}};
  if (holder_.has_value()) {
    details[Value("holder")] =
        absl::StrCat(holder_->session->peer(), " thread ", holder_->thread);
    details[Value("count")] = holder_->count;
  }
  return details;
}

absl::StatusOr<Value> LockObject::TimeoutAnswer(int) const { return false; }

absl::Status LockObject::Restore(absl::string_view key,
                                 absl::string_view value) {
  absl::StatusOr<Value> ceiling = DecodeValue(value);
  if (key != kTokenCeilingKey || !ceiling.ok() || !ceiling->is_int() ||
      ceiling->int_value() < 0) {
    return BadRecord(*this, key);
  }
  absl::MutexLock l(&mu_);
  grants_ = token_ceiling_ = static_cast<uint64_t>(ceiling->int_value());
  return absl::OkStatus();
}

bool LockObject::GrantLocked(const std::shared_ptr<ClientSession>& session,
                             int64_t thread, int64_t count) {
  if (log().enabled() && grants_ >= token_ceiling_) {
    // If this cannot be recorded the ceiling stays, and the next grant
    // tries again; tokens handed out meanwhile may come again only if the
    // manager also restarts before the disk works again.
    const auto ceiling = static_cast<int64_t>(grants_ + kTokenBlock);
    if (log()
            .Put(Describe(), kTokenCeilingKey, EncodeRecord(Value(ceiling)))
            .ok()) {
      token_ceiling_ = static_cast<uint64_t>(ceiling);
    }
  }
  const uint64_t grant = ++grants_;
  const uint64_t hook =
      session->AddHoldHook(Later(&LockObject::HolderGone, grant));
  if (hook == 0) return false;
  holder_ = Holder{session, thread, count, hook, grant};
  if (!session->losses().empty()) session->losses().Remove(Describe());
  return true;
}

absl::Status LockObject::CheckHeldBy(const CallContext& call,
                                     std::optional<int64_t> thread,
                                     absl::string_view what) const {
  absl::MutexLock l(&mu_);
  return CheckHeldByLocked(call, thread, what);
}

absl::Status LockObject::CheckHeldByLocked(const CallContext& call,
                                           std::optional<int64_t> thread,
                                           absl::string_view what) const {
  if (call.session == nullptr) return NeedsSession(*this);
  if (holder_.has_value() && holder_->session == call.session) {
    if (!reentrant_ || !thread.has_value() || holder_->thread == *thread) {
      return absl::OkStatus();
    }
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": cannot ", what, ": the lock is held by another thread"));
  }
  if (!call.session->losses().empty()) {
    const LossRecord::Cause cause = call.session->losses().CauseOf(Describe());
    if (cause != LossRecord::Cause::kNone) {
      return LostHolding(cause, Describe(), what);
    }
  }
  if (!holder_.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(), ": cannot ", what, ": it is not locked"));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      Describe(), ": cannot ", what, ": the lock is held by another client"));
}

void LockObject::ReleaseLocked() {
  holder_->session->RemoveHoldHook(holder_->close_hook);
  holder_.reset();
  while (Waiting(kAcquirers) > 0) {
    Waiter next = PopWaiter(kAcquirers);
    // A condition waiter re-acquiring carries its count and its answer.
    if (!GrantLocked(next.session, next.thread,
                     std::max<int64_t>(next.count, 1))) {
      continue;  // its session expired
    }
    const Value answer = next.item.is_null()
                             ? Value(static_cast<int64_t>(holder_->grant))
                             : next.item;
    if (next.sink->Deliver(Answer(next.request_id, answer))) return;
    // Not deliverable after all (its stream ended): take the grant back.
    holder_->session->RemoveHoldHook(holder_->close_hook);
    holder_.reset();
  }
}

void LockObject::HolderGone(uint64_t grant) {
  absl::MutexLock l(&mu_);
  if (!holder_.has_value() || holder_->grant != grant) return;
  holder_->session->losses().Add(Describe());
  ReleaseLocked();
}

absl::StatusOr<Value> LockObject::Acquire(int64_t thread, bool block,
                                          absl::Duration timeout,
                                          CallContext* call) {
  if (call->sink == nullptr || call->session == nullptr) {
    return NeedsSession(*this);
  }
  absl::MutexLock l(&mu_);
  if (!holder_.has_value()) {
    if (!GrantLocked(call->session, thread)) return false;
    return static_cast<int64_t>(holder_->grant);
  }
  if (reentrant_ && holder_->session == call->session &&
      holder_->thread == thread) {
    ++holder_->count;
    return static_cast<int64_t>(holder_->grant);
  }
  if (!block || timeout <= absl::ZeroDuration()) return false;
  Waiter waiter;
  waiter.thread = thread;
  return Park(kAcquirers, std::move(waiter), timeout, call, "acquire");
}

absl::StatusOr<int64_t> LockObject::ReleaseAllFor(const CallContext& call,
                                                  int64_t thread) {
  absl::MutexLock l(&mu_);
  if (absl::Status held = CheckHeldByLocked(call, thread, "wait"); !held.ok()) {
    return held;
  }
  const int64_t count = holder_->count;
  ReleaseLocked();
  return count;
}

void LockObject::AcquireFor(const CallContext& call, int64_t thread,
                            int64_t count, Value answer) {
  absl::MutexLock l(&mu_);
  if (!holder_.has_value()) {
    if (GrantLocked(call.session, thread, count) &&
        !call.sink->Deliver(Answer(call.request_id, answer))) {
      ReleaseLocked();
    }
    return;
  }
  Waiter waiter;
  waiter.thread = thread;
  waiter.count = count;
  waiter.item = std::move(answer);
  CallContext parked = call;
  Park(kAcquirers, std::move(waiter), absl::InfiniteDuration(), &parked,
       "acquire")
      .IgnoreError();
}

absl::Status LockObject::Release(int64_t thread, CallContext* call) {
  absl::MutexLock l(&mu_);
  if (absl::Status held = CheckHeldByLocked(*call, thread, "release");
      !held.ok()) {
    return held;
  }
  if (reentrant_ && --holder_->count > 0) return absl::OkStatus();
  ReleaseLocked();
  return absl::OkStatus();
}

}  // namespace mproc
