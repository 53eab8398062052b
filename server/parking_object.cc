#include "server/parking_object.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/wire.h"

namespace mproc {

ParkingObject::ParkingObject(pb::Kind kind, std::string name,
                             DeadlineTimer* timer, int lines,
                             bool keyed_by_thread)
    : SharedObject(kind, std::move(name)),
      timer_(timer),
      keyed_by_thread_(keyed_by_thread),
      lines_(lines) {}

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
    waiter.timer = timer_->Schedule(
        absl::Now() + timeout, Later(&ParkingObject::Expire, line, ticket));
  }
  Line& l = lines_[line];
  if (keyed_by_thread_) l.by_thread[waiter.thread].push_back(ticket);
  l.order.push_back(ticket);
  l.waiters.emplace(ticket, std::move(waiter));
  return Value();
}

ParkingObject::Waiter ParkingObject::Remove(Line& line, uint64_t ticket) {
  auto it = line.waiters.find(ticket);
  Waiter waiter = std::move(it->second);
  line.waiters.erase(it);
  if (waiter.timer != 0) timer_->Cancel(waiter.timer);
  if (keyed_by_thread_) {
    auto mine = line.by_thread.find(waiter.thread);
    std::deque<uint64_t>& tickets = mine->second;
    tickets.erase(std::find(tickets.begin(), tickets.end(), ticket));
    if (tickets.empty()) line.by_thread.erase(mine);
  }
  return waiter;
}

void ParkingObject::Compact(Line& line) {
  std::deque<uint64_t> live;
  for (uint64_t ticket : line.order) {
    if (line.waiters.contains(ticket)) live.push_back(ticket);
  }
  line.order.swap(live);
  line.stale = 0;
}

std::optional<ParkingObject::Waiter> ParkingObject::TakeWaiter(
    int line, uint64_t ticket) {
  Line& l = lines_[line];
  if (!l.waiters.contains(ticket)) return std::nullopt;
  Waiter waiter = Remove(l, ticket);
  // Its ticket stays in the order until reached or swept.
  if (++l.stale > l.waiters.size() + 64) Compact(l);
  return waiter;
}

ParkingObject::Waiter ParkingObject::PopWaiter(int line) {
  Line& l = lines_[line];
  // Skip the tickets of waiters that left out of turn.
  while (!l.waiters.contains(l.order.front())) {
    l.order.pop_front();
    --l.stale;
  }
  const uint64_t ticket = l.order.front();
  l.order.pop_front();
  Waiter waiter = Remove(l, ticket);
  waiter.sink->RemoveCloseHook(waiter.close_hook);
  return waiter;
}

std::optional<ParkingObject::Waiter> ParkingObject::PopWaiterOf(
    int line, int64_t thread) {
  Line& l = lines_[line];
  auto mine = l.by_thread.find(thread);
  if (mine == l.by_thread.end()) return std::nullopt;
  std::optional<Waiter> waiter = TakeWaiter(line, mine->second.front());
  waiter->sink->RemoveCloseHook(waiter->close_hook);
  return waiter;
}

void ParkingObject::FailAll(int line, const absl::Status& error) {
  while (Waiting(line) > 0) {
    Waiter waiter = PopWaiter(line);
    waiter.sink->Deliver(ErrorAnswer(waiter.request_id, error));
  }
}

void ParkingObject::OnDeleted() {
  absl::MutexLock l(&mu_);
  const absl::Status deleted =
      absl::NotFoundError(absl::StrCat(Describe(), " was deleted"));
  for (int line = 0; line < static_cast<int>(lines_.size()); ++line) {
    FailAll(line, deleted);
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
