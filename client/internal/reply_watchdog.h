// Acts on calls whose answers are overdue: one thread per connection that
// runs a call's `on_overdue` once its deadline passes before the call
// stopped watching. The connection uses it to cancel a stream when a
// manager stops answering (stopped with SIGSTOP, wedged, or its machine
// gone without closing the connection) — the client sends no keepalive
// pings of its own.
//
// Fork: the thread exists only in the process that started it. A forked
// child must not use its parent's watchdog: it drops it with Abandon()
// (leaking its state, which the parent's thread may have locked) and makes
// its own.
#ifndef MPROC_CLIENT_INTERNAL_REPLY_WATCHDOG_H_
#define MPROC_CLIENT_INTERNAL_REPLY_WATCHDOG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace mproc {
namespace internal {

class ReplyWatchdog {
 public:
  ReplyWatchdog();
  // Stops and joins the thread. Call Abandon() instead in a forked child.
  ~ReplyWatchdog();
  ReplyWatchdog(const ReplyWatchdog&) = delete;
  ReplyWatchdog& operator=(const ReplyWatchdog&) = delete;

  // Runs `on_overdue` (on the watchdog's thread, with no lock held) if
  // Unwatch(token) has not been called by `deadline`. Thread-safe.
  uint64_t Watch(absl::Time deadline, std::function<void()> on_overdue);
  // Whether the call's deadline fired; if so, waits until its on_overdue
  // has returned (so what it uses may then go).
  bool Unwatch(uint64_t token);

  // For a forked child: forgets `watchdog` without touching its state.
  static void Abandon(std::unique_ptr<ReplyWatchdog> watchdog);

 private:
  struct State {
    absl::Mutex mu;
    // By deadline, then token.
    std::map<std::pair<absl::Time, uint64_t>, std::function<void()>> due
        ABSL_GUARDED_BY(mu);
    std::map<uint64_t, absl::Time> deadline_of ABSL_GUARDED_BY(mu);
    uint64_t next_token ABSL_GUARDED_BY(mu) = 1;
    uint64_t firing ABSL_GUARDED_BY(mu) = 0;  // whose on_overdue runs now
    bool stopping ABSL_GUARDED_BY(mu) = false;
  };
  static void Run(State* state);

  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_REPLY_WATCHDOG_H_
