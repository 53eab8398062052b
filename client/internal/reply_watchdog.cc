#include "client/internal/reply_watchdog.h"

#include "absl/time/clock.h"

namespace mproc {
namespace internal {

ReplyWatchdog::ReplyWatchdog()
    : state_(std::make_shared<State>()),
      thread_([state = state_] { Run(state.get()); }) {}

ReplyWatchdog::~ReplyWatchdog() {
  {
    absl::MutexLock l(&state_->mu);
    state_->stopping = true;
  }
  thread_.join();
}

void ReplyWatchdog::Abandon(std::unique_ptr<ReplyWatchdog> watchdog) {
  // No thread to join here, and the state may be locked forever: keep
  // both, untouched, for the life of the process.
  new std::thread(std::move(watchdog->thread_));
  new std::shared_ptr<State>(std::move(watchdog->state_));
  (void)watchdog.release();
}

uint64_t ReplyWatchdog::Watch(absl::Time deadline,
                              std::function<void()> on_overdue) {
  absl::MutexLock l(&state_->mu);
  const uint64_t token = state_->next_token++;
  state_->due.emplace(std::make_pair(deadline, token), std::move(on_overdue));
  state_->deadline_of.emplace(token, deadline);
  return token;
}

bool ReplyWatchdog::Unwatch(uint64_t token) {
  absl::MutexLock l(&state_->mu);
  auto it = state_->deadline_of.find(token);
  if (it == state_->deadline_of.end()) {  // it fired
    State* state = state_.get();
    auto done = [state, token]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
      return state->firing != token;
    };
    state->mu.Await(absl::Condition(&done));
    return true;
  }
  state_->due.erase(std::make_pair(it->second, token));
  state_->deadline_of.erase(it);
  return false;
}

void ReplyWatchdog::Run(State* state) {
  absl::MutexLock l(&state->mu);
  for (;;) {
    const absl::Time next = state->due.empty()
                                ? absl::InfiniteFuture()
                                : state->due.begin()->first.first;
    const size_t watched = state->due.size();
    auto changed = [state, next,
                    watched]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) {
      return state->stopping || state->due.size() != watched ||
             (!state->due.empty() && state->due.begin()->first.first != next);
    };
    state->mu.AwaitWithDeadline(absl::Condition(&changed), next);
    if (state->stopping) return;
    if (state->due.empty() || absl::Now() < state->due.begin()->first.first) {
      continue;
    }
    auto first = state->due.begin();
    std::function<void()> on_overdue = std::move(first->second);
    state->deadline_of.erase(first->first.second);
    state->firing = first->first.second;
    state->due.erase(first);
    state->mu.Unlock();
    on_overdue();
    state->mu.Lock();
    state->firing = 0;
  }
}

}  // namespace internal
}  // namespace mproc
