// A client's session: who holds a lock or semaphore permits, surviving a
// reconnect. Streams come and go (a fork, a network blip); the session, named
// by the client's "mproc-session" id, lasts while a stream is attached and
// for `lease` after the last one ends. When it expires, its hold hooks run:
// the locks and permits it held are released and passed on.
//
// Fencing: what an expiring session loses is written in its LossRecord,
// which the registry keeps by id. A later session of the same id — the same
// client process back from a pause — shares that record, so it is told its
// session expired (TakeExpiryNotice) and the objects it lost answer its
// release ABORTED "session expired" instead of treating it as a stranger.
#ifndef MPROC_SERVER_CLIENT_SESSION_H_
#define MPROC_SERVER_CLIENT_SESSION_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/deadline_timer.h"

namespace mproc {

// What the sessions of one id lost, by object description ("lock 'x'"):
// to expiry, or — for a client that was connected to an earlier run of the
// manager — everything, to the restart. Thread-safe.
class LossRecord {
 public:
  enum class Cause { kNone, kExpired, kRestarted };

  void Add(const std::string& what);
  // The client held what it held before under another run of the manager:
  // every lock and permit counts as lost until granted again.
  void MarkRestarted();
  bool Contains(const std::string& what) const {
    return CauseOf(what) != Cause::kNone;
  }
  Cause CauseOf(const std::string& what) const;
  void Remove(const std::string& what);  // a new grant of `what`
  std::vector<std::string> Sorted() const;
  // Lock-free: nearly every session has lost nothing, and grants ask.
  bool empty() const {
    return size_.load(std::memory_order_acquire) == 0 &&
           !restarted_.load(std::memory_order_acquire);
  }

 private:
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> lost_ ABSL_GUARDED_BY(mu_);
  // After a restart: what was granted again since.
  absl::flat_hash_set<std::string> regained_ ABSL_GUARDED_BY(mu_);
  std::atomic<size_t> size_{0};  // lost_.size()
  std::atomic<bool> restarted_{false};
};

// The ABORTED status for a call that acts on a holding its session lost:
// "lock 'x' was lost: ... ; cannot release".
absl::Status LostHolding(LossRecord::Cause cause, const std::string& what,
                         absl::string_view action);

// Thread-safe.
class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  // `predecessor`: the loss record of an expired session of this id.
  ClientSession(std::string id, std::string peer,
                std::shared_ptr<LossRecord> predecessor = nullptr)
      : id_(std::move(id)),
        losses_(predecessor != nullptr ? std::move(predecessor)
                                       : std::make_shared<LossRecord>()),
        peer_(std::move(peer)) {}

  const std::string& id() const { return id_; }
  // The address of its latest stream ("ipv4:127.0.0.1:52114").
  std::string peer() const;

  // Runs `hook` once, with no session lock held, when the session expires.
  // Returns a token for RemoveHoldHook; 0 if it has expired already.
  uint64_t AddHoldHook(std::function<void()> hook);
  void RemoveHoldHook(uint64_t token);

  // What this session's id lost to expiry. Hold hooks add to it.
  LossRecord& losses() const { return *losses_; }

  // Whether this session follows an expired one of its id: true once, for
  // the stream that tells the client.
  bool TakeExpiryNotice();

 private:
  friend class SessionRegistry;

  const std::string id_;
  const std::shared_ptr<LossRecord> losses_;

  mutable absl::Mutex mu_;
  std::string peer_ ABSL_GUARDED_BY(mu_);
  // Written once, under the registry's mutex, before the session is shared.
  bool anonymous_ = false;
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t detachments_ ABSL_GUARDED_BY(mu_) = 0;  // tells expiries apart
  bool expired_ ABSL_GUARDED_BY(mu_) = false;
  bool follows_expired_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks_
      ABSL_GUARDED_BY(mu_);
};

// The ids the registry gives sessions that arrive without one; a client
// may not name such an id itself.
inline constexpr char kAnonymousSessionPrefix[] = "anonymous-";

// The manager's sessions by id. Thread-safe. Owned by a shared_ptr: lease
// timers reach it through a weak reference.
class SessionRegistry : public std::enable_shared_from_this<SessionRegistry> {
 public:
  SessionRegistry(absl::Duration lease, DeadlineTimer* timer)
      : lease_(lease), timer_(timer) {}

  // A stream of session `id` (from `peer`) starts: resumes the session if
  // it has not expired, else starts a new one (sharing the loss record of
  // the expired one, while the registry remembers it). An empty id gets a
  // session of its own. `restarted`: the client last saw another run of
  // the manager, so whatever it held there is lost (LossRecord).
  std::shared_ptr<ClientSession> Attach(const std::string& id,
                                        const std::string& peer,
                                        bool restarted = false);

  // A stream of `session` ended. When it was the last, the session expires
  // after the lease unless another stream attaches first; `now` expires it
  // at once (the client said goodbye).
  void Detach(const std::shared_ptr<ClientSession>& session, bool now);

 private:
  // `remember`: keep the loss record for a client that may come back.
  void Expire(const std::shared_ptr<ClientSession>& session,
              uint64_t detachment, bool remember);

  // Loss records of expired sessions kept, at most (oldest dropped first).
  static constexpr size_t kMaxRemembered = 1 << 16;

  const absl::Duration lease_;
  DeadlineTimer* const timer_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<ClientSession>> sessions_
      ABSL_GUARDED_BY(mu_);
  uint64_t anonymous_ ABSL_GUARDED_BY(mu_) = 0;
  struct Remembered {
    std::shared_ptr<LossRecord> losses;
    uint64_t expiry = 0;  // its place in expired_order_
  };
  absl::flat_hash_map<std::string, Remembered> expired_ ABSL_GUARDED_BY(mu_);
  // (id, expiry), oldest first; an entry whose record was taken by a
  // successor, or replaced by a later expiry, is skipped when trimmed.
  std::deque<std::pair<std::string, uint64_t>> expired_order_
      ABSL_GUARDED_BY(mu_);
  uint64_t expiries_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_CLIENT_SESSION_H_
