#include "server/parking_object.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/wire.h"

namespace mproc {

ParkingObject::ParkingObject(pb::Kind kind, std::string name,
                             DeadlineTimer* timer, int lines)
    : SharedObject(kind, std::move(name)), timer_(timer), lines_(lines) {}

CallContext ParkingObject::CallOf(const Waiter& waiter) {
  CallContext call;
  call.sink = waiter.sink;
  call.session = waiter.session;
  call.request_id = waiter.request_id;
  return call;
}

pb::Response ParkingObject::Answer(uint64_t request_id, const Value& result) {
  pb::Response response;
  response.set_id(request_id);
  ValueToProto(result, response.mutable_result());
  return response;
}

pb::Response ParkingObject::ErrorAnswer(uint64_t request_id,
                                        const absl::Status& status) {
  pb::Response response;
  response.set_id(request_id);
  StatusToResponse(status, &response);
  return response;
}

absl::StatusOr<Value> ParkingObject::Park(int line, Waiter waiter,
                                          absl::Duration timeout,
                                          CallContext* call,
                                          absl::string_view what) {
  if (call->sink == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat(
        Describe(), ": a blocking ", what,
        " cannot wait in a batch or unary call; use a session (the client "
        "library) or don't block"));
  }
  call->parked = true;
  const uint64_t ticket = next_ticket_++;
  waiter.close_hook =
      call->sink->AddCloseHook(Later(&ParkingObject::Withdraw, line, ticket));
  if (waiter.close_hook == 0) return Value();  // the caller is gone already
  waiter.sink = call->sink;
  waiter.session = call->session;
  waiter.request_id = call->request_id;
  waiter.ticket = ticket;
  if (timeout != absl::InfiniteDuration()) {
    timer_->Schedule(absl::Now() + timeout,
                     Later(&ParkingObject::Expire, line, ticket));
  }
  lines_[line].push_back(std::move(waiter));
  return Value();
}

std::optional<ParkingObject::Waiter> ParkingObject::TakeWaiter(
    int line, uint64_t ticket) {
  std::deque<Waiter>& waiters = lines_[line];
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->ticket != ticket) continue;
    Waiter waiter = std::move(*it);
    waiters.erase(it);
    return waiter;
  }
  return std::nullopt;
}

ParkingObject::Waiter ParkingObject::PopWaiter(int line) {
  Waiter waiter = std::move(lines_[line].front());
  lines_[line].pop_front();
  waiter.sink->RemoveCloseHook(waiter.close_hook);
  return waiter;
}

std::optional<ParkingObject::Waiter> ParkingObject::PopWaiterOf(
    int line, int64_t thread) {
  std::deque<Waiter>& waiters = lines_[line];
  for (auto it = waiters.begin(); it != waiters.end(); ++it) {
    if (it->thread != thread) continue;
    Waiter waiter = std::move(*it);
    waiters.erase(it);
    waiter.sink->RemoveCloseHook(waiter.close_hook);
    return waiter;
  }
  return std::nullopt;
}

void ParkingObject::FailAll(int line, const absl::Status& error) {
  while (!lines_[line].empty()) {
    Waiter waiter = PopWaiter(line);
    waiter.sink->Deliver(ErrorAnswer(waiter.request_id, error));
  }
}

void ParkingObject::Expire(int line, uint64_t ticket) {
  absl::MutexLock l(&mu_);
  std::optional<Waiter> waiter = TakeWaiter(line, ticket);
  if (!waiter.has_value()) return;  // served meanwhile
  waiter->sink->RemoveCloseHook(waiter->close_hook);
  OnTimeout(line, *std::move(waiter));
}

void ParkingObject::OnTimeout(int line, Waiter waiter) {
  absl::StatusOr<Value> answer = TimeoutAnswer(line);
  waiter.sink->Deliver(answer.ok()
                           ? Answer(waiter.request_id, *answer)
                           : ErrorAnswer(waiter.request_id, answer.status()));
}

void ParkingObject::Withdraw(int line, uint64_t ticket) {
  absl::MutexLock l(&mu_);
  TakeWaiter(line, ticket);  // a withdrawn call never happened
}

}  // namespace mproc
