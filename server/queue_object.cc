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

// Runs `method` on the queue behind `weak`, if it still exists.
template <typename... Args>
std::function<void()> OnQueue(std::weak_ptr<SharedObject> weak,
                              void (QueueObject::*method)(Args...),
                              Args... args) {
  return [weak = std::move(weak), method, args...] {
    if (std::shared_ptr<SharedObject> self = weak.lock()) {
      (static_cast<QueueObject*>(self.get())->*method)(args...);
    }
  };
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

Map QueueObject::Details() const {
  absl::MutexLock l(&mu_);
  return Map{{"maxsize", maxsize_},
             {"getters", static_cast<int64_t>(getters_.size())},
             {"putters", static_cast<int64_t>(putters_.size())},
             {"joiners", static_cast<int64_t>(joiners_.size())},
             {"unfinished", unfinished_},
             {"closed", closed_}};
}

bool QueueObject::Full() const {
  absl::MutexLock l(&mu_);
  return !HasRoomLocked(1);
}

bool QueueObject::HasRoomLocked(size_t n) const {
  return maxsize_ == 0 || items_.size() + n <= static_cast<size_t>(maxsize_);
}

std::deque<QueueObject::Waiter>& QueueObject::LineOf(Line line) {
  switch (line) {
    case kGetters: return getters_;
    case kPutters: return putters_;
    case kJoiners: break;
  }
  return joiners_;
}

absl::Status QueueObject::EmptyError() const {
  return absl::NotFoundError(absl::StrCat(Describe(), " is empty"));
}

absl::Status QueueObject::FullError() const {
  return absl::ResourceExhaustedError(
      absl::StrCat(Describe(), " is full (maxsize ", maxsize_, ")"));
}

absl::Status QueueObject::ClosedError() const {
  return absl::FailedPreconditionError(
      absl::StrCat(Describe(), " is closed: no more puts"));
}

absl::Status QueueObject::DrainedError() const {
  return absl::OutOfRangeError(absl::StrCat(Describe(), " is closed and empty"));
}

absl::Status QueueObject::TimeoutError(Line line) const {
  switch (line) {
    case kGetters: return EmptyError();
    case kPutters: return FullError();
    case kJoiners: break;
  }
  return absl::DeadlineExceededError(absl::StrCat(
      Describe(), ": join timed out with ", unfinished_, " unfinished tasks"));
}

absl::StatusOr<Value> QueueObject::Park(Waiter waiter, Line line,
                                        absl::Duration timeout,
                                        CallContext* call) {
  static const char* const kWhat[] = {"get", "put", "join"};
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": a blocking ", kWhat[line],
        " cannot wait in a batch or unary call; use a session (the client "
        "library) or don't block"));
  }
  call->parked = true;
  const uint64_t ticket = next_ticket_++;
  waiter.close_hook = call->sink->AddCloseHook(
      OnQueue(weak_from_this(), &QueueObject::Withdraw, ticket, line));
  if (waiter.close_hook == 0) return Value();  // the caller is gone already
  waiter.sink = call->sink;
  waiter.request_id = call->request_id;
  waiter.ticket = ticket;
  if (timeout != absl::InfiniteDuration()) {
    timer_->Schedule(absl::Now() + timeout, OnQueue(weak_from_this(),
                                                    &QueueObject::Expire,
                                                    ticket, line));
  }
  LineOf(line).push_back(std::move(waiter));
  return Value();
}

std::optional<QueueObject::Waiter> QueueObject::TakeWaiter(uint64_t ticket,
                                                           Line line) {
  std::deque<Waiter>& waiters = LineOf(line);
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->ticket != ticket) continue;
    Waiter waiter = std::move(*it);
    waiters.erase(it);
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

void QueueObject::Expire(uint64_t ticket, Line line) {
  absl::MutexLock l(&mu_);
  std::optional<Waiter> waiter = TakeWaiter(ticket, line);
  if (!waiter.has_value()) return;  // served meanwhile
  waiter->sink->RemoveCloseHook(waiter->close_hook);
  waiter->sink->Deliver(ErrorAnswer(waiter->request_id, TimeoutError(line)));
}

void QueueObject::Withdraw(uint64_t ticket, Line line) {
  absl::MutexLock l(&mu_);
  TakeWaiter(ticket, line);  // a withdrawn put never happened
}

void QueueObject::FailAll(Line line, const absl::Status& error) {
  std::deque<Waiter>& waiters = LineOf(line);
  while (!waiters.empty()) {
    Waiter waiter = PopWaiter(waiters);
    waiter.sink->Deliver(ErrorAnswer(waiter.request_id, error));
  }
}

void QueueObject::Return(Value item) {
  absl::MutexLock l(&mu_);
  // Already counted as a task; first in line again.
  if (!HandToGetter(item)) items_.push_front(std::move(item));
}

bool QueueObject::HandToGetter(Value& item) {
  while (!getters_.empty()) {
    Waiter getter = PopWaiter(getters_);
    const Value result = getter.max_n > 0 ? Value(List{item}) : item;
    if (getter.sink->Deliver(
            Answer(getter.request_id, result),
            OnQueue<Value>(weak_from_this(), &QueueObject::Return, item))) {
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
  while (!putters_.empty() && HasRoomLocked(1)) {
    Waiter putter = PopWaiter(putters_);
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
  if (!getters_.empty() || HasRoomLocked(1)) {
    AddLocked(std::move(item));
    return Value();
  }
  if (!block || timeout <= absl::ZeroDuration()) return FullError();
  Waiter waiter;
  waiter.item = std::move(item);
  return Park(std::move(waiter), kPutters, timeout, call);
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
  if (closed_) return DrainedError();
  if (!block || timeout <= absl::ZeroDuration()) return EmptyError();
  return Park(Waiter{}, kGetters, timeout, call);
}

absl::Status QueueObject::PutMany(List items) {
  absl::MutexLock l(&mu_);
  if (closed_) return ClosedError();
  // Items that waiting getters take never occupy room. (A getter whose
  // caller has just gone leaves its item in the queue, which may then hold
  // that many more than maxsize.)
  const size_t to_getters = std::min(items.size(), getters_.size());
  if (!HasRoomLocked(items.size() - to_getters)) return FullError();
  for (Value& item : items) AddLocked(std::move(item));
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
  if (closed_) return DrainedError();
  if (timeout <= absl::ZeroDuration()) return EmptyError();
  Waiter waiter;
  waiter.max_n = max_n;
  return Park(std::move(waiter), kGetters, timeout, call);
}

absl::Status QueueObject::TaskDone() {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": task_done called more times than items were put"));
  }
  if (--unfinished_ == 0) {
    while (!joiners_.empty()) {
      Waiter joiner = PopWaiter(joiners_);
      joiner.sink->Deliver(Answer(joiner.request_id, Value()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> QueueObject::Join(absl::Duration timeout,
                                        CallContext* call) {
  absl::MutexLock l(&mu_);
  if (unfinished_ == 0) return Value();
  if (timeout <= absl::ZeroDuration()) return TimeoutError(kJoiners);
  return Park(Waiter{}, kJoiners, timeout, call);
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
