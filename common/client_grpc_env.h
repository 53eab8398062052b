// The gRPC settings an mproc client process gives itself through its
// environment, and how a manager started from such a process sheds them.
//
// A client sets them (SetClientGrpcEnv, from client/internal/fork_guard.cc)
// for fork safety and keepalives — gRPC reads them only from the
// environment — each only if the user has not, and names the ones it set in
// MPROC_CLIENT_GRPC_ENV. Children inherit both. A manager is no client and
// should run on gRPC's defaults (the epoll1 poller, which serves many
// connections better than poll); so `mproc manager` and `mproc up` call
// DropClientGrpcEnv before gRPC starts, which removes the variables named
// there that still hold the client's value: one the user set before the
// client started, or since to another value, stays. A value set on purpose
// equal to the client's cannot be told from the inherited one; to keep it,
// start the manager without the marker (env -u MPROC_CLIENT_GRPC_ENV ...).
#ifndef MPROC_COMMON_CLIENT_GRPC_ENV_H_
#define MPROC_COMMON_CLIENT_GRPC_ENV_H_

namespace mproc {

inline constexpr char kClientGrpcEnvMarker[] = "MPROC_CLIENT_GRPC_ENV";

// Sets each client setting the environment lacks, and records it in the
// marker. Call before gRPC initializes; not thread-safe (setenv).
void SetClientGrpcEnv();

// Unsets the variables the marker names that still hold the client's
// value, and the marker. Call before gRPC initializes; not thread-safe
// (unsetenv).
void DropClientGrpcEnv();

}  // namespace mproc

#endif  // MPROC_COMMON_CLIENT_GRPC_ENV_H_
