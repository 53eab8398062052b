#include "server/queue_object.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/object_errors.h"
#include "common/wire.h"
#include "server/answer_budget.h"

namespace mproc {

QueueObject::QueueObject(std::string name, int64_t maxsize,
                         DeadlineTimer* timer)
    : ParkingObject(pb::QUEUE, std::move(name), timer, kLines),
      maxsize_(maxsize) {}

int64_t QueueObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(items_.size());
}

Map QueueObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"maxsize", maxsize_},          {"getters", Waiting(kGetters)},
             {"putters", Waiting(kPutters)}, {"joiners", Waiting(kJoiners)},
             {"unfinished", unfinished_},    {"closed", closed_}};
}

bool QueueObject::Full() const {
  absl::MutexLock l(&mu_);
  return !HasRoomLocked(1);
}

bool QueueObject::HasRoomLocked(size_t n) const {
  return maxsize_ == 0 || items_.size() + n <= static_cast<size_t>(maxsize_);
}

absl::Status QueueObject::EmptyError() const {
  return QueueEmptyError(Describe());
}

absl::Status QueueObject::FullError() const {
  return QueueFullError(Describe(), maxsize_);
}

absl::Status QueueObject::ClosedError() const {
  return QueueClosedError(Describe());
}

absl::Status QueueObject::DrainedError() const {
  return QueueDrainedError(Describe());
}

absl::StatusOr<Value> QueueObject::TimeoutAnswer(int line) const {
  switch (line) {
    case kGetters:
      return EmptyError();
    case kPutters:
      return FullError();
    default:
      break;
  }
  return absl::DeadlineExceededError(absl::StrCat(
      Describe(), ": join timed out with ", unfinished_, " unfinished tasks"));
}

void QueueObject::Return(Value item) {
  absl::MutexLock l(&mu_);
  // Already counted as a task; first in line again.
  if (!HandToGetter(item)) items_.push_front(std::move(item));
}

void QueueObject::ReturnMany(List items) {
  absl::MutexLock l(&mu_);
  size_t handed = 0;
  while (handed < items.size() && HandToGetter(items[handed])) ++handed;
  for (size_t i = items.size(); i > handed; --i) {
    items_.push_front(std::move(items[i - 1]));
  }
}

bool QueueObject::HandToGetter(Value& item) {
  while (Waiting(kGetters) > 0) {
    Waiter getter = PopWaiter(kGetters);
    const Value result = getter.count > 0 ? Value(List{item}) : item;
    if (getter.sink->Deliver(Answer(getter.request_id, result),
                             Later(&QueueObject::Return, item),
                             GiveBack::kIfUnreceived)) {
      return true;
    }
    // That caller is gone: the item goes to the next one, or the queue.
  }
  return false;
}

void QueueObject::AddLocked(Value item) {
  ++unfinished_;
  if (!HandToGetter(item)) items_.push_back(std::move(item));
}

void QueueObject::AdmitPutters() {
  while (Waiting(kPutters) > 0 && HasRoomLocked(1)) {
    Waiter putter = PopWaiter(kPutters);
    // The put counts only if its caller hears that it did.
    if (putter.sink->Deliver(Answer(putter.request_id, Value()))) {
      AddLocked(std::move(putter.item));
    }
  }
}

absl::StatusOr<Value> QueueObject::Put(Value item, bool block,
                                       absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (closed_) return ClosedError();
  // Getters wait only while the queue is empty, so room is no question.
  if (Waiting(kGetters) > 0 || HasRoomLocked(1)) {
    AddLocked(std::move(item));
    return Value();
  }
  if (!block || timeout <= absl::ZeroDuration()) return FullError();
  Waiter waiter;
  waiter.item = std::move(item);
  return Park(kPutters, std::move(waiter), timeout, call, "put");
}

absl::StatusOr<Value> QueueObject::Get(bool block, absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    Value item = std::move(items_.front());
    items_.pop_front();
    AdmitPutters();
    call->give_back = Later(&QueueObject::Return, item);
    return item;
  }
  if (closed_) return DrainedError();
  if (!block || timeout <= absl::ZeroDuration()) return EmptyError();
  return Park(kGetters, Waiter{}, timeout, call, "get");
}

absl::Status QueueObject::PutMany(List items) {
  absl::MutexLock l(&mu_);
  if (closed_) return ClosedError();
  // Items that waiting getters take never occupy room. (A getter whose
  // caller has just gone leaves its item in the queue, which may then hold
  // that many more than maxsize.)
  const size_t to_getters =
      std::min(items.size(), static_cast<size_t>(Waiting(kGetters)));
  if (!HasRoomLocked(items.size() - to_getters)) return FullError();
  for (Value& item : items) AddLocked(std::move(item));
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::GetMany(int64_t max_n,
                                           absl::Duration timeout,
                                           CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    // Up to max_n items, and no more than fit in one answer: the rest
    // stay queued for the next call.
    AnswerBudget budget(call->answer_limit);
    List out;
    while (!items_.empty() && static_cast<int64_t>(out.size()) < max_n &&
           (budget.Spend(items_.front()) || out.empty())) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    AdmitPutters();
    call->give_back = Later(&QueueObject::ReturnMany, out);
    return Value(std::move(out));
  }
  if (closed_) return DrainedError();
  if (timeout <= absl::ZeroDuration()) return EmptyError();
  Waiter waiter;
  waiter.count = max_n;
  return Park(kGetters, std::move(waiter), timeout, call, "get_many");
}

absl::Status QueueObject::TaskDone() {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": task_done called more times than items were put"));
  }
  if (--unfinished_ == 0) {
    while (Waiting(kJoiners) > 0) {
      Waiter joiner = PopWaiter(kJoiners);
      joiner.sink->Deliver(Answer(joiner.request_id, Value()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::Join(absl::Duration timeout,
                                        CallContext* call) {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) return Value();
  if (timeout <= absl::ZeroDuration()) return TimeoutAnswer(kJoiners);
  return Park(kJoiners, Waiter{}, timeout, call, "join");
}

void QueueObject::Close() {
  absl::MutexLock l(&mu_);
  if (closed_) return;
  closed_ = true;
  FailAll(kPutters, ClosedError());
  // Getters wait only while the queue is empty: nothing will come now.
  FailAll(kGetters, DrainedError());
}

}  // namespace mproc
