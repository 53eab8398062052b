#include "server/queue_object.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/wire.h"

namespace mproc {
namespace {

pb::Response Answer(uint64_t request_id, const Value& result) {
  pb::Response response;
  response.set_id(request_id);
  ValueToProto(result, response.mutable_result());
  return response;
}

pb::Response ErrorAnswer(uint64_t request_id, const absl::Status& status) {
  pb::Response response;
  response.set_id(request_id);
  response.set_code(static_cast<int>(status.code()));
  response.set_message(std::string(status.message()));
  return response;
}

}  // namespace

QueueObject::QueueObject(std::string name, int64_t maxsize,
                         DeadlineTimer* timer)
    : SharedObject(pb::QUEUE, std::move(name)),
      maxsize_(maxsize),
      timer_(timer) {}

int64_t QueueObject::Size() const {
  absl::MutexLock l(&mu_);
  return static_cast<int64_t>(items_.size());
}

bool QueueObject::Full() const {
  absl::MutexLock l(&mu_);
  return !HasRoomLocked(1);
}

bool QueueObject::HasRoomLocked(size_t n) const {
  return maxsize_ == 0 || items_.size() + n <= static_cast<size_t>(maxsize_);
}

absl::Status QueueObject::EmptyError() const {
  return absl::NotFoundError(absl::StrCat(Describe(), " is empty"));
}

absl::Status QueueObject::FullError() const {
  return absl::ResourceExhaustedError(
      absl::StrCat(Describe(), " is full (maxsize ", maxsize_, ")"));
}

Map QueueObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"maxsize", maxsize_},
             {"getters", static_cast<int64_t>(getters_.size())},
             {"putters", static_cast<int64_t>(putters_.size())}};
}

absl::StatusOr<Value> QueueObject::Park(Waiter waiter, bool getter,
                                        absl::Duration timeout,
                                        CallContext* call) {
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": a blocking ", getter ? "get" : "put",
        " cannot wait in a batch or unary call; use block=false or a "
        "session"));
  }
  call->parked = true;
  std::weak_ptr<SharedObject> weak = weak_from_this();
  const uint64_t ticket = next_ticket_++;
  // Reached through weak references only: the queue may be deleted first.
  auto on = [weak, ticket, getter](void (QueueObject::*method)(uint64_t, bool)) {
    return [weak, ticket, getter, method] {
      if (std::shared_ptr<SharedObject> self = weak.lock()) {
        (static_cast<QueueObject*>(self.get())->*method)(ticket, getter);
      }
    };
  };
  waiter.close_hook = call->sink->AddCloseHook(on(&QueueObject::Withdraw));
  if (waiter.close_hook == 0) return Value();  // the caller is gone already
  waiter.sink = call->sink;
  waiter.request_id = call->request_id;
  waiter.ticket = ticket;
  if (timeout != absl::InfiniteDuration()) {
    timer_->Schedule(absl::Now() + timeout, on(&QueueObject::Expire));
  }
  (getter ? getters_ : putters_).push_back(std::move(waiter));
  return Value();
}

std::optional<QueueObject::Waiter> QueueObject::TakeWaiter(uint64_t ticket,
                                                           bool getter) {
  std::deque<Waiter>& line = getter ? getters_ : putters_;
  for (auto it = line.begin(); it != line.end(); ++it) {
    if (it->ticket != ticket) continue;
    Waiter waiter = std::move(*it);
    line.erase(it);
    return waiter;
  }
  return std::nullopt;
}

QueueObject::Waiter QueueObject::PopWaiter(std::deque<Waiter>& line) {
  Waiter waiter = std::move(line.front());
  line.pop_front();
  waiter.sink->RemoveCloseHook(waiter.close_hook);
  return waiter;
}

void QueueObject::Expire(uint64_t ticket, bool getter) {
  absl::MutexLock l(&mu_);
  std::optional<Waiter> waiter = TakeWaiter(ticket, getter);
  if (!waiter.has_value()) return;  // served meanwhile
  waiter->sink->RemoveCloseHook(waiter->close_hook);
  waiter->sink->Deliver(
      ErrorAnswer(waiter->request_id, getter ? EmptyError() : FullError()));
}

void QueueObject::Withdraw(uint64_t ticket, bool getter) {
  absl::MutexLock l(&mu_);
  TakeWaiter(ticket, getter);  // its put, if any, never happened
}

void QueueObject::Return(Value item) {
  absl::MutexLock l(&mu_);
  if (HandToGetter(item)) return;
  items_.push_front(std::move(item));
}

bool QueueObject::HandToGetter(Value& item) {
  while (!getters_.empty()) {
    Waiter getter = PopWaiter(getters_);
    const Value result = getter.max_n > 0 ? Value(List{item}) : item;
    std::weak_ptr<SharedObject> weak = weak_from_this();
    auto give_back = [weak, item] {
      if (std::shared_ptr<SharedObject> self = weak.lock()) {
        static_cast<QueueObject*>(self.get())->Return(item);
      }
    };
    if (getter.sink->Deliver(Answer(getter.request_id, result), give_back)) {
      return true;
    }
    // That caller is gone: the item goes to the next one, or the queue.
  }
  return false;
}

void QueueObject::AdmitPutters() {
  while (!putters_.empty() && HasRoomLocked(1)) {
    Waiter putter = PopWaiter(putters_);
    // The put counts only if its caller hears that it did.
    if (putter.sink->Deliver(Answer(putter.request_id, Value()))) {
      if (!HandToGetter(putter.item)) items_.push_back(std::move(putter.item));
    }
  }
}

absl::StatusOr<Value> QueueObject::Put(Value item, bool block,
                                       absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (HandToGetter(item)) return Value();
  if (HasRoomLocked(1)) {
    items_.push_back(std::move(item));
    return Value();
  }
  if (!block || timeout <= absl::ZeroDuration()) return FullError();
  Waiter waiter;
  waiter.item = std::move(item);
  return Park(std::move(waiter), /*getter=*/false, timeout, call);
}

absl::StatusOr<Value> QueueObject::Get(bool block, absl::Duration timeout,
                                       CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    Value item = std::move(items_.front());
    items_.pop_front();
    AdmitPutters();
    return item;
  }
  if (!block || timeout <= absl::ZeroDuration()) return EmptyError();
  return Park(Waiter{}, /*getter=*/true, timeout, call);
}

absl::Status QueueObject::PutMany(List items) {
  absl::MutexLock l(&mu_);
  // Items that waiting getters take never occupy room. (A getter whose
  // caller has just gone leaves its item in the queue, which may then hold
  // that many more than maxsize.)
  const size_t to_getters = std::min(items.size(), getters_.size());
  if (!HasRoomLocked(items.size() - to_getters)) return FullError();
  for (Value& item : items) {
    if (!HandToGetter(item)) items_.push_back(std::move(item));
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::GetMany(int64_t max_n,
                                           absl::Duration timeout,
                                           CallContext* call) {
  absl::MutexLock l(&mu_);
  if (!items_.empty()) {
    List out;
    while (!items_.empty() && static_cast<int64_t>(out.size()) < max_n) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
    }
    AdmitPutters();
    return Value(std::move(out));
  }
  if (timeout <= absl::ZeroDuration()) return EmptyError();
  Waiter waiter;
  waiter.max_n = max_n;
  return Park(std::move(waiter), /*getter=*/true, timeout, call);
}

}  // namespace mproc
