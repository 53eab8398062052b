#include "client/internal/fork_guard.h"

#include <grpc/fork.h>
#include <grpc/grpc.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "common/client_grpc_env.h"

// gRPC's EventEngine keeps its own threads and timers; these (exported by
// libgrpc, declared in an internal header) stop and restart them.
namespace grpc_event_engine {
namespace experimental {
void PrepareFork();
void PostforkParent();
void PostforkChild();
}  // namespace experimental
}  // namespace grpc_event_engine

namespace mproc {
namespace internal {
namespace {

std::atomic<int64_t> fork_generation{0};

absl::Mutex registry_mu(absl::kConstInit);
std::vector<ForkAware*>* registered ABSL_GUARDED_BY(registry_mu) = nullptr;

// registry_mu stays locked from PrepareForFork to the After calls, so the
// set of objects cannot change during a fork.
void PrepareForFork() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  registry_mu.Lock();
  if (registered != nullptr) {
    // Newest first (as pthread_atfork's prepare handlers): an object made
    // on top of a connection (a Pool) quiets down while the connection it
    // uses still works.
    for (auto it = registered->rbegin(); it != registered->rend(); ++it) {
      (*it)->PrepareForFork();
    }
  }
  grpc_shutdown_blocking();  // the client's reference
  grpc_prefork();
  grpc_event_engine::experimental::PrepareFork();
}

void ResumeInParent() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  grpc_event_engine::experimental::PostforkParent();
  grpc_postfork_parent();
  grpc_init();
  if (registered != nullptr) {
    for (ForkAware* object : *registered) object->AfterForkInParent();
  }
  registry_mu.Unlock();
}

void ResumeInChild() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  grpc_event_engine::experimental::PostforkChild();
  grpc_postfork_child();
  grpc_init();
  fork_generation.fetch_add(1, std::memory_order_relaxed);
  if (registered != nullptr) {
    for (ForkAware* object : *registered) object->AfterForkInChild();
  }
  registry_mu.Unlock();
}

}  // namespace

void InstallForkGuard() {
  static const bool installed = [] {
    // Fork support, the poll engine and a frequent backup poller, set
    // through the environment before gRPC initializes (client_grpc_env.h).
    SetClientGrpcEnv();
    grpc_init();  // the client's own reference, dropped around each fork
    // absl's lock-order checking (on in Debian's build) costs a graph
    // lookup per lock on the client's hot path.
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    pthread_atfork(&PrepareForFork, &ResumeInParent, &ResumeInChild);
    return true;
  }();
  (void)installed;
}

int64_t ForkGeneration() {
  return fork_generation.load(std::memory_order_relaxed);
}

void RegisterForkAware(ForkAware* object) {
  absl::MutexLock l(&registry_mu);
  if (registered == nullptr) registered = new std::vector<ForkAware*>();
  registered->push_back(object);
}

void UnregisterForkAware(ForkAware* object) {
  absl::MutexLock l(&registry_mu);
  registered->erase(std::find(registered->begin(), registered->end(), object));
}

}  // namespace internal
}  // namespace mproc
