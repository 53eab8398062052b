// AsyncResult and ResultIterator: waiting on what the Pool's receiving
// thread fills in.
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/internal/pool_state.h"
#include "client/pool.h"

namespace mproc {
namespace {

using pool_internal::ResultState;
using pool_internal::StreamState;

absl::Status NotReady(absl::Duration timeout) {
  return absl::DeadlineExceededError(absl::StrCat(
      "the task's result is not ready after ", absl::FormatDuration(timeout)));
}

}  // namespace

// --- AsyncResult ---

absl::StatusOr<Value> AsyncResult::Get(absl::Duration timeout) const {
  absl::MutexLock l(&state_->mu);
  if (!state_->mu.AwaitWithTimeout(absl::Condition(&state_->ready), timeout)) {
    return NotReady(timeout);
  }
  return state_->result;
}

bool AsyncResult::Wait(absl::Duration timeout) const {
  absl::MutexLock l(&state_->mu);
  return state_->mu.AwaitWithTimeout(absl::Condition(&state_->ready), timeout);
}

bool AsyncResult::Ready() const {
  absl::MutexLock l(&state_->mu);
  return state_->ready;
}

absl::StatusOr<bool> AsyncResult::Successful() const {
  absl::MutexLock l(&state_->mu);
  if (!state_->ready) {
    return absl::FailedPreconditionError("the task's result is not ready");
  }
  return state_->result.ok();
}

int64_t AsyncResult::task_id() const {
  ResultState& s = *state_;
  if (!s.has_task_id) return 0;
  absl::MutexLock l(&s.mu);
  auto known = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return s.task_id != 0 || s.ready;
  };
  s.mu.Await(absl::Condition(&known));
  return s.task_id;
}

absl::StatusOr<std::string> AsyncResult::Cancel() const {
  if (!state_->has_task_id) {
    return absl::FailedPreconditionError(
        "a map's result is many tasks: cancel them with Pool::Terminate");
  }
  const int64_t id = task_id();
  if (id == 0) {
    return absl::FailedPreconditionError(
        "the task never reached the manager: nothing to cancel");
  }
  return state_->cancel(id);
}

// --- ResultIterator ---

absl::StatusOr<std::optional<Value>> ResultIterator::Next(
    absl::Duration timeout) {
  StreamState& s = *state_;
  absl::MutexLock l(&s.mu);
  if (s.taken == s.total) return std::optional<Value>();
  auto has_next = [&s]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(s.mu) {
    return s.ordered ? s.slots[s.taken].has_value() : !s.arrived.empty();
  };
  if (!s.mu.AwaitWithTimeout(absl::Condition(&has_next), timeout)) {
    return NotReady(timeout);
  }
  absl::StatusOr<Value> item;
  if (s.ordered) {
    item = *std::move(s.slots[s.taken]);
    s.slots[s.taken].reset();
  } else {
    item = std::move(s.arrived.front());
    s.arrived.pop_front();
  }
  ++s.taken;
  if (!item.ok()) return item.status();
  return std::optional<Value>(*std::move(item));
}

}  // namespace mproc
