#include "server/event_object.h"

#include <utility>

#include "server/errors.h"

namespace mproc {
namespace {
constexpr int kWaiters = 0;
constexpr char kSetKey[] = "s";
}  // namespace

absl::Status EventObject::RecordLocked(bool set) {
  if (!log().enabled() || set == set_) return absl::OkStatus();
  return set ? log().Put(Describe(), kSetKey, "")
             : log().Delete(Describe(), kSetKey);
}

void EventObject::Snapshot(std::vector<LogChange>* out) const {
  absl::MutexLock l(&mu_);
  if (set_) out->push_back(LogChange::Put(kSetKey, ""));
}

absl::Status EventObject::Restore(absl::string_view key, absl::string_view) {
  if (key != kSetKey) return BadRecord(*this, key);
  absl::MutexLock l(&mu_);
  set_ = true;
  return absl::OkStatus();
}

EventObject::EventObject(std::string name, DeadlineTimer* timer)
    : ParkingObject(pb::EVENT, std::move(name), timer, 1) {}

int64_t EventObject::Size() const { return IsSet() ? 1 : 0; }

Map EventObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"set", set_}, {"waiters", Waiting(kWaiters)}};
}

absl::StatusOr<Value> EventObject::TimeoutAnswer(int) const { return false; }

absl::Status EventObject::Set() {
  absl::MutexLock l(&mu_);
  if (absl::Status s = RecordLocked(true); !s.ok()) return s;
  set_ = true;
  while (Waiting(kWaiters) > 0) {
    Waiter waiter = PopWaiter(kWaiters);
    waiter.sink->Deliver(Answer(waiter.request_id, true));
  }
  return absl::OkStatus();
}

absl::Status EventObject::Clear() {
  absl::MutexLock l(&mu_);
  if (absl::Status s = RecordLocked(false); !s.ok()) return s;
  set_ = false;
  return absl::OkStatus();
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
