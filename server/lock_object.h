// Lock and RLock, like Manager().Lock() / RLock(), held by a client
// session's thread. Unlike Python's, a lock whose holder's session expires
// (its process exited, or crashed and did not reconnect within the session
// lease) is released and passed to the next waiter.
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

  // Takes the lock for (session, `thread`): true at once if free (or, for
  // an RLock, already held by that thread); false if !block or `timeout` is
  // zero; else parks until granted (true) or timed out (false).
  // FAILED_PRECONDITION without a session (call->sink null).
  absl::StatusOr<Value> Acquire(int64_t thread, bool block,
                                absl::Duration timeout, CallContext* call);

  // FAILED_PRECONDITION if not held; for an RLock also if held by another
  // session or thread (Python's "cannot release un-acquired lock"). A plain
  // Lock may be released by anyone, as in Python.
  absl::Status Release(int64_t thread, CallContext* call);

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

 private:
  struct Holder {
    std::shared_ptr<ClientSession> session;
    int64_t thread = 0;
    int64_t count = 0;
    uint64_t close_hook = 0;
    uint64_t grant = 0;  // tells this holding from later ones
  };

  absl::StatusOr<Value> TimeoutAnswer(int line) const override;
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
};

}  // namespace mproc

#endif  // MPROC_SERVER_LOCK_OBJECT_H_
