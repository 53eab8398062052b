// A client's session: who holds a lock or semaphore permits, surviving a
// reconnect. Streams come and go (a fork, a network blip); the session, named
// by the client's "mproc-session" id, lasts while a stream is attached and
// for `lease` after the last one ends. When it expires, its hold hooks run:
// the locks and permits it held are released and passed on.
#ifndef MPROC_SERVER_CLIENT_SESSION_H_
#define MPROC_SERVER_CLIENT_SESSION_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/deadline_timer.h"

namespace mproc {

// Thread-safe.
class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  ClientSession(std::string id, std::string peer)
      : id_(std::move(id)), peer_(std::move(peer)) {}

  const std::string& id() const { return id_; }
  // The address of its latest stream ("ipv4:127.0.0.1:52114").
  std::string peer() const;

  // Runs `hook` once, with no session lock held, when the session expires.
  // Returns a token for RemoveHoldHook; 0 if it has expired already.
  uint64_t AddHoldHook(std::function<void()> hook);
  void RemoveHoldHook(uint64_t token);

 private:
  friend class SessionRegistry;

  const std::string id_;

  mutable absl::Mutex mu_;
  std::string peer_ ABSL_GUARDED_BY(mu_);
  int streams_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t detachments_ ABSL_GUARDED_BY(mu_) = 0;  // tells expiries apart
  bool expired_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<uint64_t, std::function<void()>> hooks_
      ABSL_GUARDED_BY(mu_);
};

// The manager's sessions by id. Thread-safe. Owned by a shared_ptr: lease
// timers reach it through a weak reference.
class SessionRegistry : public std::enable_shared_from_this<SessionRegistry> {
 public:
  SessionRegistry(absl::Duration lease, DeadlineTimer* timer)
      : lease_(lease), timer_(timer) {}

  // A stream of session `id` (from `peer`) starts: resumes the session if
  // it has not expired, else starts a new one. An empty id gets a session
  // of its own.
  std::shared_ptr<ClientSession> Attach(const std::string& id,
                                        const std::string& peer);

  // A stream of `session` ended. When it was the last, the session expires
  // after the lease unless another stream attaches first; `now` expires it
  // at once (the client said goodbye).
  void Detach(const std::shared_ptr<ClientSession>& session, bool now);

 private:
  void Expire(const std::shared_ptr<ClientSession>& session,
              uint64_t detachment);

  const absl::Duration lease_;
  DeadlineTimer* const timer_;

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::weak_ptr<ClientSession>> sessions_
      ABSL_GUARDED_BY(mu_);
  uint64_t anonymous_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace mproc

#endif  // MPROC_SERVER_CLIENT_SESSION_H_
