// Keeps gRPC usable across fork(): the client's connections register here
// and are told to drop their gRPC state just before every fork.
//
// DESIGN: gRPC's own fork support cannot make live connections or its
// timer and executor threads usable in a child (tried: children hang on
// timers that never fire, or on reads whose wake-ups went to an inherited
// epoll set). So before fork() every registered connection closes its
// stream and channel, and the client drops its own reference to gRPC; when
// nothing else in the process uses gRPC, that shuts gRPC down fully and the
// child starts from a clean slate, as if gRPC had never run. Both
// processes take the reference again and reconnect on their next call. If
// other code keeps gRPC alive, gRPC's fork handlers are the best effort
// left.
#ifndef MPROC_CLIENT_INTERNAL_FORK_GUARD_H_
#define MPROC_CLIENT_INTERNAL_FORK_GUARD_H_

#include <cstdint>

namespace mproc {
namespace internal {

// Something holding gRPC objects that must let go of them before fork().
// The three calls bracket every fork() of the process, in the forking
// thread: PrepareForFork may block its object (so no other thread starts
// using it during the fork); exactly one of the two After calls follows and
// unblocks it.
class ForkAware {
 public:
  virtual ~ForkAware() = default;
  virtual void PrepareForFork() = 0;
  virtual void AfterForkInParent() = 0;
  virtual void AfterForkInChild() = 0;
};

// Sets gRPC up for forking (environment, poll strategy, the client's own
// gRPC reference, the fork handlers). Idempotent and thread-safe; must run
// before the process creates its first gRPC channel.
void InstallForkGuard();

// How many fork()s this process descends from since the guard was
// installed; a change means "we are a child: abandon inherited objects".
int64_t ForkGeneration();

// Adds or removes an object to quiesce before each fork: prepared newest
// first, resumed oldest first. Thread-safe.
void RegisterForkAware(ForkAware* object);
void UnregisterForkAware(ForkAware* object);

}  // namespace internal
}  // namespace mproc

#endif  // MPROC_CLIENT_INTERNAL_FORK_GUARD_H_
