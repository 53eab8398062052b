// Lock and RLock, like Manager().Lock() / RLock(), held by a client
// session's thread. Unlike Python's, a lock whose holder's session expires
// (its process exited, or crashed and did not reconnect within the session
// lease) is released and passed to the next waiter.
//
// Ownership is checked for both kinds: only the holding session (and, for
// an RLock, its holding thread) may release or wait on it; a session that
// lost the lock to expiry is told so (ABORTED "session expired"). Every
// grant carries a fencing token, increasing per lock, which acquire
// answers: a resource guarded by the lock can refuse writes bearing a
// token lower than the highest it has seen.
#ifndef MPROC_SERVER_LOCK_OBJECT_H_
#define MPROC_SERVER_LOCK_OBJECT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/parking_object.h"

namespace mproc {

class LockObject : public ParkingObject {
 public:
  LockObject(std::string name, bool reentrant, DeadlineTimer* timer);

  bool reentrant() const { return reentrant_; }
  int64_t Size() const override;  // 1 while held
  // {"reentrant", "locked", "holder" (peer and thread), "count", "waiters"}.
  Map Details() const override;

  // Takes the lock for (session, `thread`): its fencing token (an int >= 1)
  // at once if free (or, for an RLock, already held by that thread: the
  // same token); false if !block or `timeout` is zero; else parks until
  // granted (the token) or timed out (false). FAILED_PRECONDITION without
  // a session (call->sink null).
  absl::StatusOr<Value> Acquire(int64_t thread, bool block,
                                absl::Duration timeout, CallContext* call);

  // Releases (an RLock: once) the caller's hold. See CheckHeldBy.
  absl::Status Release(int64_t thread, CallContext* call);

  // OK if the caller holds the lock: its session, and for an RLock its
  // `thread` (nullopt: any thread of the session). Else ABORTED if the
  // caller's session lost it to expiry, or FAILED_PRECONDITION (not held,
  // held by another client or thread, no session); `what` names the
  // operation in the message.
  absl::Status CheckHeldBy(const CallContext& call,
                           std::optional<int64_t> thread,
                           absl::string_view what) const;

  bool Locked() const;

  // For Condition.wait: releases the lock entirely if (session, `thread`)
  // holds it and returns how many times it was held (for an RLock), so
  // AcquireFor can restore that. FAILED_PRECONDITION if not its holder.
  absl::StatusOr<int64_t> ReleaseAllFor(const CallContext& call,
                                        int64_t thread);
  // Acquires on behalf of a parked call (a condition waiter), held `count`
  // times once granted, and then answers the call `answer`: at once if the
  // lock is free, else when it is handed over. No timeout.
  void AcquireFor(const CallContext& call, int64_t thread, int64_t count,
                  Value answer);

  // Durability: holdings are not kept (a restart loses them, and their
  // holders are told), but fencing tokens must keep increasing across a
  // restart, so the lock records a ceiling ("g") every kTokenBlock grants
  // and starts again above the last one recorded.
  absl::Status Restore(absl::string_view key, absl::string_view value) override;

 private:
  static constexpr uint64_t kTokenBlock = 1024;
  struct Holder {
    std::shared_ptr<ClientSession> session;
    int64_t thread = 0;
    int64_t count = 0;
    uint64_t close_hook = 0;
    uint64_t grant = 0;  // tells this holding from later ones
  };

  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
  absl::Status CheckHeldByLocked(const CallContext& call,
                                 std::optional<int64_t> thread,
                                 absl::string_view what) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes (session, thread) the holder, `count` times; false if the
  // session already expired.
  bool GrantLocked(const std::shared_ptr<ClientSession>& session,
                   int64_t thread, int64_t count = 1)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Frees the lock and gives it to the oldest waiter still there.
  void ReleaseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The holder's hold hook: its session expired holding grant `grant`.
  void HolderGone(uint64_t grant);

  const bool reentrant_;
  std::optional<Holder> holder_ ABSL_GUARDED_BY(mu_);
  uint64_t grants_ ABSL_GUARDED_BY(mu_) = 0;
  // No token above this has been handed out; recorded (when durable).
  uint64_t token_ceiling_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_LOCK_OBJECT_H_
