// A mutex that may be unlocked in a forked child, with the lock
// annotations clang's -Wthread-safety checks (like LevelDB's port::Mutex
// over std::mutex). absl::Mutex is not safe there: a child whose parent had
// waiters queued on it can hang unlocking it; glibc's pthread mutex, which
// std::mutex wraps, is.
#ifndef MPROC_WORKER_PROCESS_INTERNAL_FORK_SAFE_MUTEX_H_
#define MPROC_WORKER_PROCESS_INTERNAL_FORK_SAFE_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace mproc {
namespace process_internal {

class ABSL_LOCKABLE ForkSafeMutex {
 public:
  ForkSafeMutex() = default;
  ForkSafeMutex(const ForkSafeMutex&) = delete;
  ForkSafeMutex& operator=(const ForkSafeMutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a ForkSafeMutex for a scope, or until Release().
class ABSL_SCOPED_LOCKABLE ForkSafeLock {
 public:
  explicit ForkSafeLock(ForkSafeMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  ~ForkSafeLock() ABSL_UNLOCK_FUNCTION() {
    if (mu_ != nullptr) mu_->Unlock();
  }
  ForkSafeLock(const ForkSafeLock&) = delete;
  ForkSafeLock& operator=(const ForkSafeLock&) = delete;

  // Unlocks before the scope ends (a forked child, before it runs its
  // body).
  void Release() ABSL_UNLOCK_FUNCTION() {
    mu_->Unlock();
    mu_ = nullptr;
  }

 private:
  ForkSafeMutex* mu_;
};

}  // namespace process_internal
}  // namespace mproc

#endif  // MPROC_WORKER_PROCESS_INTERNAL_FORK_SAFE_MUTEX_H_
