// grpc.health.v1 (Check and Watch), served by the manager's own RpcThreads.
//
// Why not gRPC's default health service: it is a callback service, and
// gRPC drives callback services from "nexting" threads of its own that
// wait in the same epoll set as our polling thread. Whichever thread
// waits there gets each client's request first, so with gRPC's service
// every request woke a nexting thread that then handed it to ours: a
// round trip cost about twice as much (docs/performance.md, "The health
// service's threads"). Served here, the one polling thread is the only
// one that waits on the sockets.
//
// Behaves like gRPC's own: "" (the server as a whole) is SERVING from the
// start; Check answers NOT_FOUND for a service never set; Watch sends the
// status at once (SERVICE_UNKNOWN for a service never set) and then every
// change; after Shutdown every service, watched ones included, is
// NOT_SERVING and stays so. A service name over 200 bytes is
// INVALID_ARGUMENT. Answered without an authkey: it tells only whether the
// manager serves.
#ifndef MPROC_SERVER_RPC_HEALTH_SERVICE_H_
#define MPROC_SERVER_RPC_HEALTH_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "proto/health.grpc.pb.h"
#include "server/rpc/rpc_threads.h"

namespace mproc {

class HealthService {
 public:
  using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

  // What a Watch call is told. OnStatus is called with the service's mutex
  // held, from whichever thread changes a status: it must not block or call
  // back into the HealthService.
  class Watcher {
   public:
    virtual ~Watcher() = default;
    virtual void OnStatus(ServingStatus status) = 0;
  };

  // The longest service name asked about (gRPC's own limit).
  static constexpr size_t kMaxServiceNameBytes = 200;

  HealthService();
  HealthService(const HealthService&) = delete;
  HealthService& operator=(const HealthService&) = delete;

  // For grpc::ServerBuilder::RegisterService, before BuildAndStart; the
  // calls request themselves through it.
  grpc::health::v1::Health::AsyncService* service() { return &async_service_; }

  // After BuildAndStart: awaits Check and Watch calls on `cq`.
  void AwaitCalls(RpcThreads* threads, grpc::ServerCompletionQueue* cq);

  // Ignored after Shutdown.
  void SetServing(const std::string& service, bool serving);

  // Every service NOT_SERVING from now on; watchers are told.
  void Shutdown();

  // The status of `service`; false when it was never set.
  bool Lookup(const std::string& service, ServingStatus* status) const;

  // `watcher` is told each change of `service` until it is removed, and
  // gets the status now (SERVICE_UNKNOWN if never set) before this
  // returns. Remove before the watcher is destroyed.
  void AddWatcher(const std::string& service, Watcher* watcher);
  void RemoveWatcher(const std::string& service, Watcher* watcher);

 private:
  void SetLocked(const std::string& service, ServingStatus status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::health::v1::Health::AsyncService async_service_;
  mutable absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<std::string, ServingStatus> statuses_
      ABSL_GUARDED_BY(mu_);
  // Lock order: mu_, then a watcher's own.
  absl::flat_hash_map<std::string, absl::flat_hash_set<Watcher*>> watchers_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_HEALTH_SERVICE_H_
