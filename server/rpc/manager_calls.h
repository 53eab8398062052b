// The asynchronous calls of the manager's three RPCs (see rpc_threads.h):
// each object awaits one call of its kind on a completion queue and, when
// it arrives, first awaits the next one, then serves it through
// ManagerService.
#ifndef MPROC_SERVER_RPC_MANAGER_CALLS_H_
#define MPROC_SERVER_RPC_MANAGER_CALLS_H_

#include <grpcpp/grpcpp.h>

#include <memory>

#include "server/rpc/manager_service.h"
#include "server/rpc/rpc_threads.h"
#include "server/rpc/session_transport.h"

namespace mproc {

// Session: the stream each client keeps open (session_call.cc).
void AwaitSessionCall(ManagerService* service, RpcThreads* threads,
                      grpc::ServerCompletionQueue* cq);

// A Session stream that came over another transport (the local wire):
// served like gRPC's from now on.
void ServeSessionCall(ManagerService* service, RpcThreads* threads,
                      std::unique_ptr<SessionTransport> transport);

// The unary Call and Batch (unary_calls.cc).
void AwaitUnaryCalls(ManagerService* service, RpcThreads* threads,
                     grpc::ServerCompletionQueue* cq);

inline void AwaitManagerCalls(ManagerService* service, RpcThreads* threads,
                              grpc::ServerCompletionQueue* cq) {
  AwaitSessionCall(service, threads, cq);
  AwaitUnaryCalls(service, threads, cq);
}

}  // namespace mproc

#endif  // MPROC_SERVER_RPC_MANAGER_CALLS_H_
